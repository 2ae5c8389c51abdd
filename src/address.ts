/**
 * Unix socket addresses: filesystem paths, Linux abstract names, unnamed sockets.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { invalidArgType, invalidArgValue } from './errors.js';

/** Where a Unix socket is bound. */
export type UnixAddress =
  | {
      /** A filesystem socket's path. */
      readonly path: string;
    }
  | {
      /** A Linux abstract name, without the leading NUL (UTF-8). */
      readonly abstract: string;
    }
  | {
      /** Not bound: an unbound sender, or a socketpair end. */
      readonly unnamed: true;
    };

/**
 * An address as accepted by the API: a path string, `'\0name'` for an abstract name, or a
 * {@link UnixAddress}.
 */
export type AddressLike = string | UnixAddress;

const EMPTY = Buffer.alloc(0);

/**
 * @internal The `sun_path` bytes for the binding: empty = unnamed (autobind when binding),
 * a leading NUL = abstract. Length limits are checked by the core, with `ENAMETOOLONG`.
 */
export function encodeAddress(address: AddressLike, name = 'address'): Buffer {
  if (typeof address === 'string') {
    return address.startsWith('\0') ? Buffer.from(address, 'utf8') : encodePath(address, name);
  }
  if (typeof address === 'object' && address !== null) {
    if ('path' in address && typeof address.path === 'string') return encodePath(address.path, name);
    if ('abstract' in address && typeof address.abstract === 'string') {
      return Buffer.concat([Buffer.of(0), Buffer.from(address.abstract, 'utf8')]);
    }
    if ('unnamed' in address && address.unnamed === true) return EMPTY;
  }
  throw invalidArgType(name, "a path string, '\\0name', or { path } | { abstract } | { unnamed: true }", address);
}

function encodePath(path: string, name: string): Buffer {
  if (path.length === 0) throw invalidArgValue(name, 'must not be an empty path', path);
  if (path.includes('\0')) throw invalidArgValue(name, 'must not contain a NUL byte in a path', path);
  return Buffer.from(path, 'utf8');
}

/** @internal Decode `sun_path` bytes from the binding. */
export function decodeAddress(raw: Buffer): UnixAddress {
  if (raw.length === 0) return { unnamed: true };
  if (raw[0] === 0) return { abstract: raw.toString('utf8', 1) };
  return { path: raw.toString('utf8') };
}

/**
 * A printable form: the path, `@name` for abstract names (as `ss` prints them), or
 * `(unnamed)`.
 * @param address - the address to format
 * @returns its printable form
 * @throws `ERR_INVALID_ARG_TYPE` for anything but a {@link UnixAddress}
 * @example
 * ```ts
 * formatAddress({ abstract: 'app' }); // '@app'
 * ```
 */
export function formatAddress(address: UnixAddress): string {
  if (typeof address === 'object' && address !== null) {
    if ('path' in address && typeof address.path === 'string') return address.path;
    if ('abstract' in address && typeof address.abstract === 'string') return `@${address.abstract}`;
    if ('unnamed' in address && address.unnamed === true) return '(unnamed)';
  }
  throw invalidArgType('address', '{ path } | { abstract } | { unnamed: true }', address);
}
