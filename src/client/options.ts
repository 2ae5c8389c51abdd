/**
 * The options of `UnixDatagramClient`'s calls, and the option names each call takes.
 * @packageDocumentation
 */
import type { AddressLike } from '../address.js';
import type { SocketAncillary } from '../ancillary/ancillary.js';
import { PIDFD_OPTION_NAMES, type PidfdOptions } from '../ancillary/pidfd.js';
import { LARGE_PAYLOAD_OPTION_NAMES, type LargePayloadOptions } from '../large-payloads.js';
import type { ReceiveBufferOptions } from '../reuse-buffer.js';
import type { BusyPollOptions } from '../busy-poll.js';
import { RECEIVE_OPTION_NAMES } from '../receive-options.js';
import { ENDPOINT_OPTION_NAMES } from '../endpoint/options.js';

/** Options of `UnixDatagramClient.connect`. */
export interface ConnectOptions extends LargePayloadOptions, PidfdOptions, ReceiveBufferOptions, BusyPollOptions {
  /**
   * Where to bind before connecting. Default (`undefined`): on Linux, autobind to a
   * kernel-chosen abstract name, so the peer can answer; on macOS and FreeBSD, which have no
   * autobind, stay unnamed (pass a path to be answered). `null`: stay unnamed (the peer
   * cannot answer). A path is unlinked again by `close()` (and if the connect fails), when
   * it is still the socket file the client created.
   */
  localAddress?: AddressLike | null;
  /** Turn on `SO_PASSCRED`: each received datagram carries its sender's credentials. */
  passCredentials?: boolean;
  /**
   * Closes the client when it aborts, as `dgram.createSocket({ signal })` does. Already
   * aborted: `connect` rejects with an `AbortError` and creates nothing.
   */
  signal?: AbortSignal;
}

/** Options of `UnixDatagramClient.fromFd` and `.socketpair` (for both ends). */
export interface FromFdOptions extends LargePayloadOptions, PidfdOptions, ReceiveBufferOptions, BusyPollOptions {}

/** Options of `UnixDatagramClient.sendPacket`. */
export interface SendOptions {
  /** Descriptors and/or credentials to send with the datagram. */
  ancillary?: SocketAncillary;
  /**
   * Cancels a send that waits for room in the peer's queue: it rejects with an
   * `AbortError` and is never sent. A datagram already handed to the kernel stays sent.
   * `AbortSignal.timeout(ms)` gives a limit in milliseconds.
   */
  signal?: AbortSignal;
  /**
   * Seconds a send may wait for room in the peer's queue; then it rejects with a
   * `TimeoutError` (`'ETIMEDOUT'`) and is never sent. Default: no limit.
   */
  timeout?: number | null;
}

/** Options of `UnixDatagramClient.sendPackets`. */
export interface SendManyOptions {
  /** Ancillary data per packet, by index; `undefined` entries send none. */
  ancillary?: ReadonlyArray<SocketAncillary | undefined>;
  /**
   * Cancels the packets still waiting for room in the peer's queue: they are never sent,
   * and the call rejects with an `AbortError` whose `sent` says how many went out before.
   */
  signal?: AbortSignal;
  /**
   * Seconds the call may wait for room in the peer's queue in all; then it rejects with a
   * `TimeoutError` whose `sent` says how many went out, and the rest are never sent.
   * Default: no limit.
   */
  timeout?: number | null;
}

/** Options of `UnixDatagramClient.recvPacket`. */
export interface RecvOptions {
  /**
   * Seconds to wait; `0` takes only what is already queued. Default: no limit. Then it
   * rejects with a `TimeoutError` (`'ETIMEDOUT'`).
   */
  timeout?: number | null;
  /**
   * Cancels the wait: the promise rejects with an `AbortError` and no datagram is taken.
   * `AbortSignal.timeout(ms)` gives a limit in milliseconds.
   */
  signal?: AbortSignal;
  /**
   * Receives the descriptors and credentials that came with the datagram. Without it they
   * are closed at once.
   */
  ancillary?: SocketAncillary;
}

/** Options of `UnixDatagramClient.iterReceivedPackets`. */
export interface IterOptions {
  /**
   * Total seconds to spend waiting across the iteration (time spent in your loop body does
   * not count). Default `0`: only what is queued. `null`: until the client is closed.
   */
  timeout?: number | null;
  /**
   * Ends the iteration: the pending `next()` rejects with an `AbortError` (no datagram is
   * taken), and so does a `for await` loop over it.
   */
  signal?: AbortSignal;
}

/** @internal The option names each call takes (an unknown one is refused). */
export const OPTION_NAMES = {
  connect: ['localAddress', 'passCredentials', ...PIDFD_OPTION_NAMES, 'signal', ...LARGE_PAYLOAD_OPTION_NAMES, ...RECEIVE_OPTION_NAMES],
  adopt: [...LARGE_PAYLOAD_OPTION_NAMES, ...PIDFD_OPTION_NAMES, ...RECEIVE_OPTION_NAMES],
  // A bound client takes what a bound endpoint takes.
  bind: ENDPOINT_OPTION_NAMES.bind,
  send: ['ancillary', 'signal', 'timeout'],
  sendMany: ['ancillary', 'signal', 'timeout'],
  recv: ['timeout', 'signal', 'ancillary'],
  iter: ['timeout', 'signal'],
  recvSync: ['timeout', 'ancillary'],
  sendSync: ['timeout', 'ancillary'],
} as const satisfies Record<string, readonly string[]>;
