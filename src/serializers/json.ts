import { Buffer } from 'node:buffer';
import type { Serializer } from '../protocol.js';

/**
 * JSON in UTF-8, one value per datagram.
 *
 * @typeParam SentPacket - what you send (anything `JSON.stringify` accepts)
 * @typeParam ReceivedPacket - what you expect to receive (not checked at run time)
 * @example
 * ```ts
 * const protocol = new DatagramProtocol(new JSONSerializer<{ data: number }, { ok: boolean }>());
 * ```
 */
export class JSONSerializer<SentPacket = unknown, ReceivedPacket = unknown> implements Serializer<SentPacket, ReceivedPacket> {
  /**
   * @param packet - a JSON-serializable value
   * @returns its UTF-8 JSON text
   * @throws TypeError when the value has no JSON form (`undefined`, a function, a cycle)
   */
  serialize(packet: SentPacket): Uint8Array {
    return Buffer.from(this.serializeText(packet), 'utf8');
  }

  /**
   * @param packet - a JSON-serializable value
   * @returns its JSON text (the client sends it as UTF-8 without making a Buffer)
   * @throws TypeError when the value has no JSON form (`undefined`, a function, a cycle)
   */
  serializeText(packet: SentPacket): string {
    const text = JSON.stringify(packet);
    if (text === undefined) throw new TypeError(`cannot serialize ${typeof packet} as JSON`);
    return text;
  }

  /**
   * @param data - a datagram
   * @returns the parsed value
   * @throws SyntaxError when the bytes are not JSON
   */
  deserialize(data: Buffer): ReceivedPacket {
    return JSON.parse(data.toString()) as ReceivedPacket; // toString() without arguments is Buffer's fastest path (UTF-8)
  }

  /**
   * @param text - a datagram's text (the client hands valid UTF-8 over as a string)
   * @returns the parsed value
   * @throws SyntaxError when the text is not JSON
   */
  deserializeText(text: string): ReceivedPacket {
    return JSON.parse(text) as ReceivedPacket;
  }
}
