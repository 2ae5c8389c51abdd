/**
 * @internal How the library turns a protocol's packets into what the binding sends, and
 * what it received back into packets: derived once per protocol from its serializer. A
 * text serializer (`serializeText` / `deserializeText`) is sent as a string, written
 * straight into the send, and receives valid UTF-8 batches as one string.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import { DatagramProtocolParseError } from '../errors.js';
import type { DatagramProtocol, Serializer } from './protocol.js';

/** A protocol as the library's sockets use it. */
export interface Codec<SentPacket, ReceivedPacket> {
  /** Whether received batches of valid UTF-8 should arrive as text (`setTextPayloads`). */
  readonly receivesText: boolean;
  /**
   * The datagram for `packet`: its text when the serializer has `serializeText` (sent as
   * UTF-8, no Buffer made), else its bytes. Throws what the serializer throws.
   */
  encode(packet: SentPacket): Buffer | string;
  /** The datagram for `packet`, as bytes. Throws what the serializer throws. */
  encodeBytes(packet: SentPacket): Buffer;
  /**
   * The packet in a received datagram: bytes, or their text when they are valid UTF-8 and
   * {@link Codec.receivesText}.
   * @throws {@link DatagramProtocolParseError} (with the bytes) if the serializer cannot parse it
   */
  decode(data: Buffer | string): ReceivedPacket;
}

const codecs = new WeakMap<object, Codec<never, unknown>>();

/**
 * The codec of `protocol` (made once, then cached with it). Only the protocol's public
 * `serializer` is used, so a protocol made by another copy of unixgram works too.
 * @param protocol - a protocol, already checked
 * @returns its codec
 */
export function codecOf<S, R>(protocol: DatagramProtocol<S, R>): Codec<S, R> {
  let codec = codecs.get(protocol) as Codec<S, R> | undefined;
  if (codec === undefined) {
    codec = makeCodec(protocol.serializer);
    codecs.set(protocol, codec);
  }
  return codec;
}

/**
 * A Buffer over the same bytes (no copy), as the binding takes Buffers.
 * @param data - serialized bytes
 * @returns `data` itself if it is a Buffer, else a Buffer view of its memory
 */
export function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function makeCodec<S, R>(serializer: Serializer<S, R>): Codec<S, R> {
  const sendsText = typeof serializer.serializeText === 'function';
  const receivesText = typeof serializer.deserializeText === 'function';
  const encodeBytes = (packet: S): Buffer => toBuffer(serializer.serialize(packet));
  const decodeBytes = (data: Buffer): R => {
    try {
      return serializer.deserialize(data);
    } catch (cause) {
      throw new DatagramProtocolParseError(data, cause);
    }
  };
  return {
    receivesText,
    encode: sendsText ? (packet) => (serializer as Required<Serializer<S, R>>).serializeText(packet) : encodeBytes,
    encodeBytes,
    decode: receivesText
      ? (data) => {
          if (typeof data !== 'string') return decodeBytes(data);
          try {
            return (serializer as Required<Serializer<S, R>>).deserializeText(data);
          } catch (cause) {
            throw new DatagramProtocolParseError(Buffer.from(data, 'utf8'), cause);
          }
        }
      : (data) => decodeBytes(typeof data === 'string' ? Buffer.from(data, 'utf8') : data),
  };
}
