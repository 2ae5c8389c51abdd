import type * as MsgPack from '@msgpack/msgpack';

import type { Serializer } from '../protocol.js';
import { loadOptionalPeer } from './optional-peer.js';

/**
 * MessagePack, one value per datagram, through
 * [`@msgpack/msgpack`](https://github.com/msgpack/msgpack-javascript), an optional peer
 * dependency (`npm install @msgpack/msgpack`) loaded when the first serializer is
 * constructed: importing unixgram never needs it.
 *
 * Binary fields arrive as `Uint8Array` views into the received datagram; bytes after the
 * first value, or bytes that are not MessagePack, are a parse error
 * ({@link DatagramProtocolParseError} on receive).
 *
 * @typeParam SentPacket - what you send (objects, arrays, strings, numbers, booleans, `null`, `Uint8Array`, `Date`)
 * @typeParam ReceivedPacket - what you expect to receive (not checked at run time)
 * @example
 * ```ts
 * const protocol = new DatagramProtocol(new MessagePackSerializer<{ id: number }, { ok: boolean }>());
 * ```
 */
export class MessagePackSerializer<SentPacket = unknown, ReceivedPacket = unknown> implements Serializer<SentPacket, ReceivedPacket> {
  readonly #encoder: MsgPack.Encoder;
  readonly #decoder: MsgPack.Decoder;

  /** @throws an error with `code` `'MODULE_NOT_FOUND'` when `@msgpack/msgpack` is not installed */
  constructor() {
    const msgpack = loadOptionalPeer<typeof MsgPack>('@msgpack/msgpack', 'MessagePackSerializer');
    this.#encoder = new msgpack.Encoder();
    this.#decoder = new msgpack.Decoder();
  }

  /**
   * @param packet - a value MessagePack can encode
   * @returns its MessagePack bytes
   * @throws Error for a value it cannot encode (a function, a symbol, too deep)
   */
  serialize(packet: SentPacket): Uint8Array {
    return this.#encoder.encode(packet);
  }

  /**
   * @param data - a datagram
   * @returns the decoded value
   * @throws the decoder's error (`DecodeError`, `RangeError`) for bytes that are not one MessagePack value
   */
  deserialize(data: Buffer): ReceivedPacket {
    return this.#decoder.decode(data) as ReceivedPacket;
  }
}
