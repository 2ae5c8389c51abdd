/**
 * The options of {@link UnixDatagramClient}'s calls, and their checks.
 * @packageDocumentation
 */
import type { AddressLike } from './address.js';
import type { SocketAncillary } from './ancillary.js';
import { invalidArgType, outOfRange } from './errors.js';
import type { UnixDatagramClient } from './client.js';

/** Options of {@link UnixDatagramClient.connect}. */
export interface ConnectOptions {
  /**
   * Where to bind before connecting. Default (`undefined`): on Linux, autobind to a
   * kernel-chosen abstract name, so the peer can answer; on macOS and FreeBSD, which have no
   * autobind, stay unnamed (pass a path to be answered). `null`: stay unnamed (the peer
   * cannot answer).
   */
  localAddress?: AddressLike | null;
  /** Turn on `SO_PASSCRED`: each received datagram carries its sender's credentials. */
  passCredentials?: boolean;
}

/** Options of {@link UnixDatagramClient.sendPacket}. */
export interface SendOptions {
  /** Descriptors and/or credentials to send with the datagram. */
  ancillary?: SocketAncillary;
}

/** Options of {@link UnixDatagramClient.sendPackets}. */
export interface SendManyOptions {
  /** Ancillary data per packet, by index; `undefined` entries send none. */
  ancillary?: ReadonlyArray<SocketAncillary | undefined>;
}

/** Options of {@link UnixDatagramClient.recvPacket}. */
export interface RecvOptions {
  /** Seconds to wait; `0` takes only what is already queued. Default: no limit. */
  timeout?: number | null;
  /** Cancels the wait; the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
  /**
   * Receives the descriptors and credentials that came with the datagram. Without it they
   * are closed at once.
   */
  ancillary?: SocketAncillary;
}

/** Options of {@link UnixDatagramClient.iterReceivedPackets}. */
export interface IterOptions {
  /**
   * Total seconds to spend waiting across the iteration (time spent in your loop body does
   * not count). Default `0`: only what is queued. `null`: until the client is closed.
   */
  timeout?: number | null;
}

/** @internal The options of a call given none (shared: no object per call). */
export const NO_OPTIONS = Object.freeze({});

/**
 * @internal A `timeout` option, checked.
 * @param timeout - seconds, or `undefined` / `null` for no limit
 * @returns the seconds, or null for no limit
 * @throws TypeError for a non-number, RangeError for NaN or a negative number
 */
export function checkTimeout(timeout: unknown): number | null {
  if (timeout === undefined || timeout === null) return null;
  if (typeof timeout !== 'number') throw invalidArgType('timeout', 'a number of seconds', timeout);
  if (Number.isNaN(timeout) || timeout < 0) throw outOfRange('timeout', '>= 0 (seconds)', timeout);
  return timeout;
}
