/**
 * The protocol: how packets become datagrams and back. A serializer knows nothing of
 * sockets; a client knows nothing of the wire format.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { DatagramProtocolParseError } from './errors.js';
import type { UnixDatagramClient } from './client.js';
import type { JSONSerializer } from './serializers/json.js';
import type { StringSerializer } from './serializers/string.js';

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
  /**
   * Optional, for text formats: the packet as a string, sent as its UTF-8 bytes (a lone
   * surrogate becomes U+FFFD, as with `Buffer.from`). It must give the same bytes as
   * `serialize`. When present, {@link UnixDatagramClient.sendPacket} uses it and writes the
   * text straight into the send: no Buffer per packet. {@link JSONSerializer} and
   * {@link StringSerializer} have it.
   */
  serializeText?(packet: SentPacket): string;
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
  readonly #sendsText: boolean;

  /** @param serializer - the wire format */
  constructor(serializer: Serializer<SentPacket, ReceivedPacket>) {
    this.#serializer = serializer;
    this.#sendsText = typeof serializer.serializeText === 'function';
  }

  /**
   * The datagram for `packet`.
   * @param packet - what to send
   * @returns its bytes
   */
  makeDatagram(packet: SentPacket): Uint8Array {
    return this.#serializer.serialize(packet);
  }

  /** @internal Whether the serializer has {@link Serializer.serializeText}. */
  get _sendsText(): boolean {
    return this.#sendsText;
  }

  /**
   * @internal The datagram for `packet` as text (only when {@link _sendsText}).
   * @param packet - what to send
   * @returns its text, sent as UTF-8
   */
  _makeText(packet: SentPacket): string {
    return (this.#serializer.serializeText as (packet: SentPacket) => string).call(this.#serializer, packet);
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
