import { Buffer } from 'node:buffer';
import { invalidArgType } from '../../errors.js';
import type { Serializer } from '../protocol.js';

/**
 * Raw bytes, untouched. Received packets are `Buffer` views into the batch they arrived in:
 * copy one (`Buffer.from(p)`) if you keep it for long and want the rest freed.
 * @example
 * ```ts
 * const protocol = new DatagramProtocol(new BytesSerializer());
 * ```
 */
export class BytesSerializer implements Serializer<Uint8Array, Buffer> {
  /**
   * @param packet - bytes to send
   * @returns the same bytes
   * @throws `ERR_INVALID_ARG_TYPE` for anything but a `Uint8Array` (a `Buffer` is one)
   */
  serialize(packet: Uint8Array): Uint8Array {
    if (!(packet instanceof Uint8Array)) throw invalidArgType('packet', 'a Uint8Array or Buffer (BytesSerializer sends bytes)', packet);
    return packet;
  }

  /**
   * @param data - a datagram
   * @returns the same bytes
   */
  deserialize(data: Buffer): Buffer {
    return data;
  }
}
