/**
 * @internal How `unixgram listen` prints a datagram: a readable line, or one JSON object.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { readlinkSync } from 'node:fs';

import { formatAddress, type UnixAddress, type Credentials } from '../index.js';

/** One received datagram, as printed. */
export interface Received {
  /** 1 for the first datagram. */
  readonly n: number;
  readonly from: UnixAddress;
  readonly data: Buffer;
  readonly fdCount: number;
  /** What each descriptor points to, with `--show-fds`. */
  readonly fds: readonly string[] | undefined;
  /** With `--show-credentials`. */
  readonly credentials: Credentials | undefined;
  /**
   * With `--show-pidfd`: what the sender's pidfd said when the datagram was printed (its
   * pid, `-1` once reaped; whether it had exited), or `null` if none came.
   */
  readonly pidfd: SenderPidfd | null | undefined;
}

/** What a sender's pidfd says, as `listen --show-pidfd` prints it. */
export interface SenderPidfd {
  readonly pid: number;
  readonly exited: boolean;
}

/** Most payload bytes shown on a readable line (`--json` has them all). */
const PREVIEW_BYTES = 4096;

/**
 * What an fd refers to: a path, `pipe:[…]`, `socket:[…]`, `anon_inode:[…]`.
 * @param fd - an open descriptor of this process
 * @returns its `/proc/self/fd` link, or `?` if it cannot be read
 */
export function describeFd(fd: number): string {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return '?';
  }
}

/** Text that prints as itself: valid UTF-8 without control characters other than tab and newlines. */
function asText(data: Buffer): string | undefined {
  const text = data.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(data)) return undefined;

  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
}

/**
 * A readable line: `#1 from @00012 5 bytes "hello" fds=1 [/etc/hostname] pid=1 uid=0 gid=0 pidfd=1`
 * (`pidfd=1 (exited)` once the sender has exited, `pidfd=none` if no pidfd came).
 * @param d - the datagram
 * @returns the line, without a newline
 */
export function formatLine(d: Received): string {
  const shown = d.data.subarray(0, PREVIEW_BYTES);
  const text = asText(shown);
  let payload = text === undefined ? `hex ${shown.toString('hex')}` : JSON.stringify(text);
  if (shown.length < d.data.length) payload += ` … (${d.data.length - shown.length} more bytes)`;
  const parts = [`#${d.n}`, `from ${formatAddress(d.from)}`, `${d.data.length} bytes`, payload];
  if (d.fdCount > 0) parts.push(`fds=${d.fdCount}${d.fds ? ` [${d.fds.join(', ')}]` : ''}`);
  if (d.credentials) parts.push(`pid=${d.credentials.pid} uid=${d.credentials.uid} gid=${d.credentials.gid}`);
  if (d.pidfd === null) parts.push('pidfd=none');
  else if (d.pidfd) parts.push(`pidfd=${d.pidfd.pid}${d.pidfd.exited ? ' (exited)' : ''}`);
  return parts.join(' ');
}

/**
 * The JSON record of a datagram: `from` is `null` for an unnamed sender, `data` is UTF-8
 * text (`encoding: "utf8"`) or base64 (`encoding: "base64"`).
 * @param d - the datagram
 * @returns the record, for `JSON.stringify`
 */
export function jsonRecord(d: Received): Record<string, unknown> {
  const text = d.data.toString('utf8');
  const utf8 = Buffer.from(text, 'utf8').equals(d.data);
  return {
    n: d.n,
    from: 'unnamed' in d.from ? null : formatAddress(d.from),
    size: d.data.length,
    data: utf8 ? text : d.data.toString('base64'),
    encoding: utf8 ? 'utf8' : 'base64',
    fdCount: d.fdCount,
    ...(d.fds ? { fds: d.fds } : {}),
    ...(d.credentials ? { credentials: { pid: d.credentials.pid, uid: d.credentials.uid, gid: d.credentials.gid } } : {}),
    ...(d.pidfd === undefined ? {} : { pidfd: d.pidfd && { pid: d.pidfd.pid, exited: d.pidfd.exited } }),
  };
}

/**
 * One JSON object (no newline): {@link jsonRecord} as text.
 * @param d - the datagram
 * @returns the JSON text
 */
export function formatJson(d: Received): string {
  return JSON.stringify(jsonRecord(d));
}
