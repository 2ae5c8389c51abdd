/**
 * @internal How the library turns a protocol's packets into what the binding sends, and
 * what it received back into packets: derived once per protocol from its serializer. A
 * text serializer (`serializeText` / `deserializeText`) is sent as a string, written
 * straight into the send, and receives valid UTF-8 batches as one string.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import { DatagramProtocolParseError, invalidArgType } from '../errors.js';
import type { NativeDatagram } from '../native/binding.js';
import type { DatagramBytes, DatagramProtocol, Serializer } from './protocol.js';

/** A protocol as the library's sockets use it. */
export interface Codec<SentPacket, ReceivedPacket> {
  /** Whether received batches of valid UTF-8 should arrive as text (`setTextPayloads`). */
  readonly receivesText: boolean;
  /**
   * The datagram for `packet`: its text when the serializer has `serializeText` (sent as
   * UTF-8, no Buffer made), else its bytes. Throws what the serializer throws.
   */
  encode(packet: SentPacket): NativeDatagram;
  /**
   * The datagram for `packet`, as bytes (several Buffers when the serializer returns
   * chunks: gathered into one datagram). Throws what the serializer throws.
   */
  encodeBytes(packet: SentPacket): Buffer | Buffer[];
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

/**
 * What a serializer returned as the binding takes it: one Buffer, or the chunks of one
 * datagram as Buffers (no copy either way).
 * @param data - bytes, or chunks gathered into one datagram
 * @returns Buffers over the same memory
 * @throws `ERR_INVALID_ARG_TYPE` for anything but a Uint8Array or an array of them
 */
export function toDatagram(data: DatagramBytes): Buffer | Buffer[] {
  if (data instanceof Uint8Array) return toBuffer(data);
  if (!Array.isArray(data)) throw invalidArgType('serialized packet', 'a Uint8Array or an array of Uint8Arrays', data);
  return data.map((chunk: unknown) => {
    if (!(chunk instanceof Uint8Array)) throw invalidArgType('serialized packet chunk', 'a Uint8Array', chunk);
    return toBuffer(chunk);
  });
}

function makeCodec<S, R>(serializer: Serializer<S, R>): Codec<S, R> {
  const sendsText = typeof serializer.serializeText === 'function';
  const receivesText = typeof serializer.deserializeText === 'function';
  const encodeBytes = (packet: S): Buffer | Buffer[] => toDatagram(serializer.serialize(packet));
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
