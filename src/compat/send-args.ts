/**
 * @internal The drop-in's checks of `send`'s data arguments, as `unix-dgram` accepts them:
 * the payload as a `Buffer`, and the `offset` / `length` part of it to send.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import { invalidArgType, outOfRange } from '../errors.js';

/**
 * The payload as a Buffer: a Buffer itself, a view of a Uint8Array's memory (no copy), or
 * a string's UTF-8 bytes.
 * @param buf - what the caller passed
 * @returns its bytes
 * @throws `ERR_INVALID_ARG_TYPE` for anything else
 */
export function toBuffer(buf: unknown): Buffer {
  if (Buffer.isBuffer(buf)) return buf;
  if (buf instanceof Uint8Array) return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (typeof buf === 'string') return Buffer.from(buf);
  throw invalidArgType('buf', 'a Buffer, Uint8Array or string', buf);
}

/**
 * The part of `buf` to send (`buf` itself when that is all of it).
 * @param buf - the payload
 * @param offset - where the datagram starts; `undefined` / `null`: 0
 * @param length - its length; `undefined` / `null`: the rest of `buf`
 * @returns the datagram's bytes, a view of `buf`
 * @throws `ERR_OUT_OF_RANGE` for an offset or length that is not an integer within `buf`
 */
export function slice(buf: Buffer, offset: unknown, length: unknown): Buffer {
  const start = offset === undefined || offset === null ? 0 : offset;
  if (typeof start !== 'number' || !Number.isInteger(start) || start < 0 || start > buf.length) {
    throw outOfRange('offset', `an integer >= 0 and <= ${buf.length}`, start);
  }
  const len = length === undefined || length === null ? buf.length - start : length;
  if (typeof len !== 'number' || !Number.isInteger(len) || len < 0 || start + len > buf.length) {
    throw outOfRange('length', `an integer >= 0 and <= ${buf.length - start}`, len);
  }
  return start === 0 && len === buf.length ? buf : buf.subarray(start, start + len);
}
