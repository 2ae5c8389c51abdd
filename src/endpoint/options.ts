/**
 * The options and result types of `UnixDatagramEndpoint`'s calls, and the option names each
 * call takes.
 * @packageDocumentation
 */
import type { AddressLike, UnixAddress } from '../address.js';
import type { SocketAncillary } from '../ancillary/ancillary.js';
import { PIDFD_OPTION_NAMES, type PidfdOptions } from '../ancillary/pidfd.js';
import { LARGE_PAYLOAD_OPTION_NAMES, type LargePayloadOptions } from '../large-payloads.js';
import type { ReceiveBufferOptions } from '../reuse-buffer.js';
import type { BusyPollOptions } from '../busy-poll.js';
import { RECEIVE_OPTION_NAMES } from '../receive-options.js';

/**
 * Where `UnixDatagramEndpoint.bind` binds: a path, `'\0name'` / `{ abstract }` for a Linux
 * abstract name, `{ autobind: true }` for a kernel-chosen abstract name (Linux), or `null`
 * (or `{ unnamed: true }`) to stay unnamed: it can send, but nobody can answer it.
 */
export type BindAddress =
  | AddressLike
  | {
      /** Let the kernel pick an abstract name (Linux). */
      readonly autobind: true;
    }
  | null;

/** Options of `UnixDatagramEndpoint.bind` and of `UnixDatagramClient.bind` (a receive-only client). */
export interface BindOptions extends LargePayloadOptions, PidfdOptions, ReceiveBufferOptions, BusyPollOptions {
  /**
   * Permission bits of the socket file (e.g. `0o660`), in place before anyone can send: the
   * socket is bound at the path with this mode already on it (minus the umask, whose bits
   * are put back at once). Socket files only.
   */
  mode?: number;
  /**
   * Remove an existing socket file at the path if nothing answers on it. A live socket, a
   * regular file, a directory or a symlink is never removed: `bind` fails with `EADDRINUSE`
   * and says why. Default `false`.
   */
  removeStale?: boolean;
  /** Turn on `SO_PASSCRED`: every datagram carries its sender's credentials. */
  passCredentials?: boolean;
  /**
   * Closes the endpoint (or client) when it aborts. Already aborted: `bind` rejects with an
   * `AbortError` and creates nothing.
   */
  signal?: AbortSignal;
}

/** Options of `UnixDatagramEndpoint.fromFd`. */
export interface EndpointFromFdOptions extends LargePayloadOptions, PidfdOptions, ReceiveBufferOptions, BusyPollOptions {}

/** Options of `UnixDatagramEndpoint.sendPacketTo`. */
export interface SendToOptions {
  /** Descriptors and/or credentials to send with the datagram. */
  ancillary?: SocketAncillary;
  /**
   * Cancels a send that waits for room in the receiver's queue: it rejects with an
   * `AbortError` and is never sent.
   */
  signal?: AbortSignal;
  /**
   * Seconds a send may wait for room in the receiver's queue; then it rejects with a
   * `TimeoutError` (`'ETIMEDOUT'`) and is never sent. Default: no limit.
   */
  timeout?: number | null;
}

/** One datagram of `UnixDatagramEndpoint.sendPacketsTo`. */
export interface PacketTo<SentPacket, Like = AddressLike> {
  /** What to send. */
  readonly packet: SentPacket;
  /**
   * Where to: for a Unix endpoint a path, `'\0name'`, or a {@link UnixAddress}; for UDP an
   * `{ address, port }` (e.g. the address a datagram came from).
   */
  readonly address: Like;
  /** Descriptors and/or credentials to send with it. */
  readonly ancillary?: SocketAncillary | undefined;
}

/** Options of `UnixDatagramEndpoint.sendPacketsTo`. */
export interface SendManyToOptions {
  /**
   * Cancels the datagrams still waiting for room: they are never sent, and the call rejects
   * with an `AbortError` whose `sent` says how many went out.
   */
  signal?: AbortSignal;
  /**
   * Seconds the datagrams may wait for room; then the call rejects with a `TimeoutError`
   * whose `sent` says how many went out, and the rest are never sent. Default: no limit.
   */
  timeout?: number | null;
}

/** A datagram as `UnixDatagramEndpoint` receives it: the packet and who sent it. */
export interface ReceivedFrom<ReceivedPacket, Addr = UnixAddress> {
  /** The parsed packet. */
  readonly packet: ReceivedPacket;
  /**
   * The sender (on a Unix endpoint `{ unnamed: true }` for an unbound one, which cannot be
   * answered). The same object for consecutive datagrams of one sender: pass it to
   * `sendPacketTo` to answer.
   */
  readonly address: Addr;
  /**
   * Descriptors and credentials that came with it, or `undefined` when none did. Its
   * descriptors are yours: `steal()` them, or `close()` it; those left are closed when it
   * is garbage-collected.
   */
  readonly ancillary: SocketAncillary | undefined;
}

/** Options of `UnixDatagramEndpoint.recvPacketFrom`. */
export interface RecvFromOptions {
  /**
   * Seconds to wait; `0` takes only what is already queued. Default: no limit. Then it
   * rejects with a `TimeoutError` (`'ETIMEDOUT'`).
   */
  timeout?: number | null;
  /** Cancels the wait: the promise rejects with an `AbortError` and no datagram is taken. */
  signal?: AbortSignal;
}

/** @internal The option names each endpoint call takes (an unknown one is refused). */
export const ENDPOINT_OPTION_NAMES = {
  bind: ['mode', 'removeStale', 'passCredentials', ...PIDFD_OPTION_NAMES, 'signal', ...LARGE_PAYLOAD_OPTION_NAMES, ...RECEIVE_OPTION_NAMES],
  adopt: [...LARGE_PAYLOAD_OPTION_NAMES, ...PIDFD_OPTION_NAMES, ...RECEIVE_OPTION_NAMES],
  sendTo: ['ancillary', 'signal', 'timeout'],
  sendManyTo: ['signal', 'timeout'],
  recvFrom: ['timeout', 'signal'],
  iter: ['timeout', 'signal'],
} as const satisfies Record<string, readonly string[]>;
