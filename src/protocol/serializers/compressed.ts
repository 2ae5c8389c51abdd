import { Buffer } from 'node:buffer';
import zlib from 'node:zlib';

import { checkOptions } from '../../checks.js';
import { invalidArgValue, outOfRange } from '../../errors.js';
import type { Serializer } from '../protocol.js';

/** Options of {@link CompressedSerializer}. */
export interface CompressionOptions {
  /**
   * `'deflate'` (zlib format, with its Adler-32 check; the default) or `'brotli'` (smaller
   * output for text, slower to compress).
   */
  algorithm?: 'deflate' | 'brotli';
  /**
   * Compression level: 0–9 for deflate (default 6, zlib's), 0–11 for brotli (default 5:
   * Node's own default of 11 is tuned for files, and is slow on every datagram).
   */
  level?: number;
  /**
   * The largest decompressed datagram accepted, in bytes; bigger ones are a parse error, so
   * a small datagram cannot expand into gigabytes. Default 64 MiB.
   */
  maxDecompressedSize?: number;
}

const DEFAULT_MAX_DECOMPRESSED = 64 * 1024 * 1024;
const DEFAULT_BROTLI_QUALITY = 5;

/**
 * Compresses what another serializer produces, with `node:zlib` (synchronous, in the
 * calling thread). Bytes that do not decompress, or that decompress into more than
 * `maxDecompressedSize`, are a parse error, as is anything the inner serializer rejects;
 * the error's `datagram` holds the compressed bytes as received.
 *
 * Worth it for text-like packets of a few hundred bytes and up; a small packet can come out
 * bigger than it went in.
 *
 * @typeParam SentPacket - what the inner serializer sends
 * @typeParam ReceivedPacket - what the inner serializer receives
 * @example
 * ```ts
 * const protocol = new DatagramProtocol(new CompressedSerializer(new JSONSerializer(), { algorithm: 'brotli' }));
 * ```
 */
export class CompressedSerializer<SentPacket, ReceivedPacket> implements Serializer<SentPacket, ReceivedPacket> {
  readonly #inner: Serializer<SentPacket, ReceivedPacket>;
  readonly #compress: (data: Uint8Array) => Buffer;
  readonly #decompress: (data: Buffer) => Buffer;

  /**
   * @param inner - the serializer whose output is compressed
   * @param options - algorithm, level, decompressed size limit
   * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for an inner that is no serializer, an
   * unknown algorithm or an unknown option, RangeError
   * (`ERR_OUT_OF_RANGE`) for a level or limit out of range
   */
  constructor(inner: Serializer<SentPacket, ReceivedPacket>, options: CompressionOptions = {}) {
    if (typeof inner?.serialize !== 'function' || typeof inner.deserialize !== 'function') {
      throw invalidArgValue('inner', 'must be a Serializer (serialize and deserialize methods)', inner);
    }
    checkOptions(options, ['algorithm', 'level', 'maxDecompressedSize']);
    const { algorithm = 'deflate', level, maxDecompressedSize = DEFAULT_MAX_DECOMPRESSED } = options;
    if (!Number.isSafeInteger(maxDecompressedSize) || maxDecompressedSize < 1) {
      throw outOfRange('options.maxDecompressedSize', 'an integer >= 1', maxDecompressedSize);
    }
    this.#inner = inner;
    if (algorithm === 'deflate') {
      checkLevel(level, 9);
      const compressOptions: zlib.ZlibOptions = level === undefined ? {} : { level };
      this.#compress = (data) => zlib.deflateSync(data, compressOptions);
      this.#decompress = (data) => zlib.inflateSync(data, { maxOutputLength: maxDecompressedSize });
    } else if (algorithm === 'brotli') {
      checkLevel(level, 11);
      const quality = level ?? DEFAULT_BROTLI_QUALITY;
      this.#compress = (data) =>
        zlib.brotliCompressSync(data, {
          params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.byteLength },
        });
      this.#decompress = (data) => zlib.brotliDecompressSync(data, { maxOutputLength: maxDecompressedSize });
    } else {
      throw invalidArgValue('options.algorithm', "must be 'deflate' or 'brotli'", algorithm);
    }
  }

  /**
   * @param packet - what the inner serializer accepts
   * @returns the inner serializer's bytes, compressed
   */
  serialize(packet: SentPacket): Uint8Array {
    const bytes = this.#inner.serialize(packet);
    return this.#compress(bytes instanceof Uint8Array ? bytes : Buffer.concat(bytes));
  }

  /**
   * @param data - a compressed datagram
   * @returns what the inner serializer makes of the decompressed bytes
   * @throws the zlib error (`Z_DATA_ERROR`, `ERR_BUFFER_TOO_LARGE`, …) or the inner serializer's
   */
  deserialize(data: Buffer): ReceivedPacket {
    return this.#inner.deserialize(this.#decompress(data));
  }
}

function checkLevel(level: number | undefined, max: number): void {
  if (level === undefined) return;
  if (!Number.isInteger(level) || level < 0 || level > max) throw outOfRange('options.level', `an integer from 0 to ${max}`, level);
}
