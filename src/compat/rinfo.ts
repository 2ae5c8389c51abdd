/**
 * The drop-in's `rinfo`: what `'message'` listeners get besides the datagram, and how its
 * `path` is decoded from the sender's `sun_path` bytes.
 * @packageDocumentation
 */
import type { Buffer } from 'node:buffer';

import { decodeAddress } from '../address.js';

/** What `'message'` listeners get as their second argument, as `unix-dgram` shapes it. */
export interface RemoteInfo {
  /** The datagram's size in bytes. */
  readonly size: number;
  /** Always an empty object (kept for `dgram` look-alike code). */
  readonly address: Record<string, never>;
  /** The sender's path; `'\0name'` for an abstract sender; `null` for an unbound one. */
  readonly path: string | null;
}

/** @internal The `rinfo.path` of a sender's `sun_path` bytes. */
export function pathOf(raw: Buffer | undefined): string | null {
  const address = raw && raw.length > 0 ? decodeAddress(raw) : undefined;
  return address === undefined ? null : 'path' in address ? address.path : 'abstract' in address ? `\0${address.abstract}` : null;
}
