import { Buffer } from 'node:buffer';
import { TextDecoder } from 'node:util';

import { invalidArgType } from '../../errors.js';
import type { Serializer } from '../protocol.js';

/**
 * Text in UTF-8, one string per datagram. Bytes that are not valid UTF-8 are a parse error.
 * @example
 * ```ts
 * const protocol = new DatagramProtocol(new StringSerializer());
 * ```
 */
export class StringSerializer implements Serializer<string, string> {
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });

  /**
   * @param packet - a string
   * @returns its UTF-8 bytes
   * @throws `ERR_INVALID_ARG_TYPE` for anything but a string
   */
  serialize(packet: string): Uint8Array {
    return Buffer.from(this.serializeText(packet), 'utf8');
  }

  /**
   * @param packet - a string
   * @returns the string itself (the client sends it as UTF-8 without making a Buffer)
   * @throws `ERR_INVALID_ARG_TYPE` for anything but a string
   */
  serializeText(packet: string): string {
    if (typeof packet !== 'string') throw invalidArgType('packet', 'of type string (StringSerializer sends strings)', packet);
    return packet;
  }

  /**
   * @param data - a datagram
   * @returns its text
   * @throws TypeError when the bytes are not valid UTF-8
   */
  deserialize(data: Buffer): string {
    return this.#decoder.decode(data);
  }

  /**
   * @param text - a datagram's text (the client hands valid UTF-8 over as a string)
   * @returns the text, without a leading byte order mark (as `deserialize` drops it)
   */
  deserializeText(text: string): string {
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }
}
