/**
 * The protocol: how packets become datagrams and back. A serializer knows nothing of
 * sockets; a client knows nothing of the wire format.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { DatagramProtocolParseError } from './errors.js';

/**
 * Turns packets into bytes and bytes into packets. Implement it to use your own format.
 *
 * @typeParam SentPacket - what `serialize` accepts
 * @typeParam ReceivedPacket - what `deserialize` returns
 * @example
 * ```ts
 * const upper: Serializer<string, string> = {
 *   serialize: (s) => Buffer.from(s.toUpperCase()),
 *   deserialize: (b) => b.toString(),
 * };
 * ```
 */
export interface Serializer<SentPacket, ReceivedPacket> {
  /** Encode one packet as one datagram's bytes. May throw for a packet it cannot encode. */
  serialize(packet: SentPacket): Uint8Array;
  /** Decode one datagram. Throw on bad input: the client reports a {@link DatagramProtocolParseError}. */
  deserialize(data: Buffer): ReceivedPacket;
}

/**
 * A datagram protocol: one serializer for both directions.
 *
 * @typeParam SentPacket - the packets this side sends
 * @typeParam ReceivedPacket - the packets this side receives
 * @example
 * ```ts
 * const protocol = new DatagramProtocol(new JSONSerializer());
 * ```
 */
export class DatagramProtocol<SentPacket, ReceivedPacket> {
  readonly #serializer: Serializer<SentPacket, ReceivedPacket>;

  /** @param serializer - the wire format */
  constructor(serializer: Serializer<SentPacket, ReceivedPacket>) {
    this.#serializer = serializer;
  }

  /**
   * The datagram for `packet`.
   * @param packet - what to send
   * @returns its bytes
   */
  makeDatagram(packet: SentPacket): Uint8Array {
    return this.#serializer.serialize(packet);
  }

  /**
   * The packet in `datagram`.
   * @param datagram - received bytes
   * @returns the packet
   * @throws {@link DatagramProtocolParseError} if the serializer cannot parse it
   */
  buildPacketFromDatagram(datagram: Buffer): ReceivedPacket {
    try {
      return this.#serializer.deserialize(datagram);
    } catch (cause) {
      throw new DatagramProtocolParseError(datagram, cause);
    }
  }
}
