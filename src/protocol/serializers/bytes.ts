import { Buffer } from 'node:buffer';
import { invalidArgType } from '../../errors.js';
import type { DatagramBytes, Serializer } from '../protocol.js';

/**
 * Raw bytes, untouched. Received packets are `Buffer` views into the batch they arrived in:
 * copy one (`Buffer.from(p)`) if you keep it for long and want the rest freed.
 * @example
 * ```ts
 * const protocol = new DatagramProtocol(new BytesSerializer());
 * ```
 */
export class BytesSerializer implements Serializer<Uint8Array | readonly Uint8Array[], Buffer> {
  /**
   * @param packet - bytes to send, or several Uint8Arrays sent as one datagram (gathered,
   *   not concatenated: `sendPacket([header, body])`)
   * @returns the same bytes
   * @throws `ERR_INVALID_ARG_TYPE` for anything but a `Uint8Array` (a `Buffer` is one) or an
   *   array of them
   */
  serialize(packet: Uint8Array | readonly Uint8Array[]): DatagramBytes {
    if (packet instanceof Uint8Array) return packet;
    if (Array.isArray(packet) && packet.every((chunk: unknown) => chunk instanceof Uint8Array)) return packet;
    throw invalidArgType('packet', 'a Uint8Array or Buffer, or an array of them (BytesSerializer sends bytes)', packet);
  }

  /**
   * @param data - a datagram
   * @returns the same bytes
   */
  deserialize(data: Buffer): Buffer {
    return data;
  }
}
