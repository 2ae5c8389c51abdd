import type * as Cbor from 'cbor2';

import type { Serializer } from '../protocol.js';
import { loadOptionalPeer } from './optional-peer.js';

/**
 * CBOR (RFC 8949), one value per datagram, through [`cbor2`](https://github.com/hildjj/cbor2),
 * an optional peer dependency (`npm install cbor2`) loaded when the first serializer is
 * constructed: importing unixgram never needs it.
 *
 * Why `cbor2` and not `cbor-x`: `cbor-x` pulls in an optional native dependency
 * (`cbor-extract`) whose install script builds or downloads a binary. unixgram installs no
 * such scripts, and `cbor2` is pure JavaScript with no dependencies to build. `cbor2` is an
 * ES module loaded with `require()`, which needs Node 20.19 or later.
 *
 * Bytes after the first value, or bytes that are not CBOR, are a parse error
 * ({@link DatagramProtocolParseError} on receive). Tags it does not know arrive as `Tag`
 * objects of `cbor2`.
 *
 * @typeParam SentPacket - what you send (anything `cbor2`'s `encode` accepts: objects, arrays, `Map`, `Uint8Array`, `Date`, `bigint`, …)
 * @typeParam ReceivedPacket - what you expect to receive (not checked at run time)
 * @example
 * ```ts
 * const protocol = new DatagramProtocol(new CBORSerializer<{ id: number }, { ok: boolean }>());
 * ```
 */
export class CBORSerializer<SentPacket = unknown, ReceivedPacket = unknown> implements Serializer<SentPacket, ReceivedPacket> {
  readonly #cbor: typeof Cbor;

  /**
   * @throws an error with `code` `'MODULE_NOT_FOUND'` when `cbor2` is not installed, or
   * `'ERR_REQUIRE_ESM'` on a Node too old to `require()` it
   */
  constructor() {
    this.#cbor = loadOptionalPeer<typeof Cbor>('cbor2', 'CBORSerializer');
  }

  /**
   * @param packet - a value CBOR can encode
   * @returns its CBOR bytes
   * @throws Error for a value it cannot encode (a function, a symbol)
   */
  serialize(packet: SentPacket): Uint8Array {
    return this.#cbor.encode(packet);
  }

  /**
   * @param data - a datagram
   * @returns the decoded value
   * @throws the decoder's error for bytes that are not exactly one CBOR value
   */
  deserialize(data: Buffer): ReceivedPacket {
    return this.#cbor.decode<ReceivedPacket>(data);
  }
}
