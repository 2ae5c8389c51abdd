import { Buffer } from 'node:buffer';
import { invalidArgValue } from '../../errors.js';
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
   * @throws as {@link JSONSerializer.serializeText}
   */
  serialize(packet: SentPacket): Uint8Array {
    return Buffer.from(this.serializeText(packet), 'utf8');
  }

  /**
   * @param packet - a JSON-serializable value
   * @returns its JSON text (the client sends it as UTF-8 without making a Buffer)
   * @throws `ERR_INVALID_ARG_VALUE` for a value with no JSON text (`undefined`, a function, a
   * symbol); `JSON.stringify`'s TypeError for a cycle or a BigInt
   */
  serializeText(packet: SentPacket): string {
    const text = JSON.stringify(packet);
    if (text === undefined) throw invalidArgValue('packet', 'has no JSON form', packet);
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
