/**
 * The protocol: how packets become datagrams and back. A serializer knows nothing of
 * sockets; a client knows nothing of the wire format.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { DatagramProtocolParseError, invalidArgType, invalidArgValue } from '../errors.js';

/** The brand of a {@link DatagramProtocol}, shared by every copy of unixgram in a process. */
const BRAND = Symbol.for('unixgram.DatagramProtocol');

/**
 * One datagram's bytes as a serializer returns them: one `Uint8Array`, or several that are
 * sent as one datagram, gathered by `sendmsg(2)`'s iovecs without being concatenated (a
 * header and a body, say).
 */
export type DatagramBytes = Uint8Array | readonly Uint8Array[];

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
  /**
   * Encode one packet as one datagram's bytes: a `Uint8Array`, or an array of them that is
   * gathered into the one datagram without a copy. May throw for a packet it cannot encode.
   */
  serialize(packet: SentPacket): DatagramBytes;
  /**
   * Optional, for text formats: the packet as a string, sent as its UTF-8 bytes (a lone
   * surrogate becomes U+FFFD, as with `Buffer.from`). It must give the same bytes as
   * `serialize`. When present, a client's or server's `sendPacket` uses it and writes the
   * text straight into the send: no Buffer per packet. `JSONSerializer` and
   * `StringSerializer` have it.
   */
  serializeText?(packet: SentPacket): string;
  /** Decode one datagram. Throw on bad input: the receiver reports a {@link DatagramProtocolParseError}. */
  deserialize(data: Buffer): ReceivedPacket;
  /**
   * Optional, for text formats: decode a datagram whose bytes are valid UTF-8, given as
   * its text. It must return what `deserialize` returns for those bytes. When present, a
   * client or server has each batch of valid UTF-8 datagrams delivered as one string and
   * slices it: no Buffer and no decoding per packet (a batch with any other datagram still
   * goes to `deserialize`). `JSONSerializer` and `StringSerializer` have it.
   */
  deserializeText?(text: string): ReceivedPacket;
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
  /** The wire format. */
  readonly serializer: Serializer<SentPacket, ReceivedPacket>;

  /**
   * @param serializer - the wire format
   * @throws `ERR_INVALID_ARG_TYPE` for anything but an object, `ERR_INVALID_ARG_VALUE` for
   * an object without `serialize` and `deserialize` methods
   */
  constructor(serializer: Serializer<SentPacket, ReceivedPacket>) {
    if (typeof serializer !== 'object' || serializer === null) throw invalidArgType('serializer', 'an object', serializer);
    if (typeof serializer.serialize !== 'function' || typeof serializer.deserialize !== 'function') {
      throw invalidArgValue('serializer', 'must have serialize() and deserialize() methods', serializer);
    }
    this.serializer = serializer;
  }

  /** @internal Marks a protocol across copies of unixgram (see `checkProtocol`). */
  get [BRAND](): true {
    return true;
  }

  /**
   * The datagram for `packet`.
   * @param packet - what to send
   * @returns its bytes
   */
  makeDatagram(packet: SentPacket): DatagramBytes {
    return this.serializer.serialize(packet);
  }

  /**
   * The packet in `datagram`.
   * @param datagram - received bytes
   * @returns the packet
   * @throws {@link DatagramProtocolParseError} if the serializer cannot parse it;
   * `ERR_INVALID_ARG_TYPE` for anything but a Buffer
   */
  buildPacketFromDatagram(datagram: Buffer): ReceivedPacket {
    if (!Buffer.isBuffer(datagram)) throw invalidArgType('datagram', 'a Buffer', datagram);
    try {
      return this.serializer.deserialize(datagram);
    } catch (cause) {
      throw new DatagramProtocolParseError(datagram, cause);
    }
  }
}

/**
 * @internal A `protocol` argument, checked before anything is created: a
 * {@link DatagramProtocol} of this copy of unixgram or of another one (the ES-module and the
 * CommonJS builds are two copies, and an application may load both), told by its brand.
 * @param protocol - what the caller passed
 * @throws `ERR_INVALID_ARG_TYPE` unless it is a {@link DatagramProtocol}
 */
export function checkProtocol(protocol: unknown): void {
  if (typeof protocol !== 'object' || protocol === null || (protocol as { [BRAND]?: unknown })[BRAND] !== true) {
    throw invalidArgType('protocol', 'an instance of DatagramProtocol', protocol);
  }
}
