/**
 * The synchronous API (easynetwork's blocking client): its options, and the loops behind
 * `recvPacketSync` (poll the fd with a timeout in the binding) and `sendPacketSync` (retry
 * `EAGAIN` with short blocking sleeps). Both block the calling thread and never touch the
 * event loop.
 * @packageDocumentation
 */
import { performance } from 'node:perf_hooks';

import { TimeoutError, closedError, codedError, ErrorCodes, type SystemError } from './errors.js';
import { WOULD_BLOCK, type NativeSocket } from './native.js';
import type { RawDatagram } from './receiver.js';
import type { SocketAncillary } from './ancillary.js';
import type { UnixDatagramClient } from './client.js';

/** Options of {@link UnixDatagramClient.recvPacketSync}. */
export interface SyncRecvOptions {
  /** Seconds to block; `0` takes only what is already queued. Default: no limit. */
  timeout?: number | null;
  /**
   * Receives the descriptors and credentials that came with the datagram. Without it they
   * are closed at once.
   */
  ancillary?: SocketAncillary;
}

/** Options of {@link UnixDatagramClient.sendPacketSync}. */
export interface SyncSendOptions {
  /** Seconds to block while the peer's queue is full; `0` = only if there is room now. Default: no limit. */
  timeout?: number | null;
  /** Descriptors and/or credentials to send with the datagram. */
  ancillary?: SocketAncillary;
}

/** Sleep delays while a send waits for room in the peer's queue (ms), as the async sender's timer. */
const FIRST_RETRY_MS = 1;
const MAX_RETRY_MS = 50;
/** `poll(2)` takes an `int` of milliseconds. */
const MAX_POLL_MS = 0x7fffffff;

/** @internal What the synchronous receive needs from a client. */
export interface SyncReceivePort {
  readonly native: NativeSocket;
  /** Whether an async `recvPacket` waits on this socket. */
  readonly asyncWaiting: boolean;
  /** The next datagram queued in JS or in the kernel, without waiting. */
  takeNow(): RawDatagram | undefined;
  /** Whether the client was closed. */
  closed(): boolean;
}

/** @internal What the synchronous send needs from a client. */
export interface SyncSendPort {
  /** Whether async sends are queued on this socket. */
  readonly asyncPending: boolean;
  /** One non-blocking attempt: bytes sent or {@link WOULD_BLOCK}; throws on failure. */
  attempt(): number;
  /** Whether the client was closed. */
  closed(): boolean;
}

let sleeper: Int32Array | undefined;

/** Block this thread for `ms` milliseconds (`Atomics.wait` on a private, never-notified cell). */
function sleep(ms: number): void {
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleeper, 0, 0, ms);
}

function busy(message: string): SystemError {
  return codedError(ErrorCodes.BUSY, message);
}

/** Milliseconds left before `deadline` (`Infinity` for none), never negative. */
function remaining(deadline: number): number {
  return Math.max(0, deadline - performance.now());
}

function deadlineOf(timeout: number | null): number {
  return timeout === null ? Infinity : performance.now() + timeout * 1000;
}

/**
 * @internal Take the next datagram, blocking the thread until one is queued or `timeout` seconds pass.
 * Datagrams already delivered to JS come first, in order.
 * @throws `ERR_UNIXGRAM_BUSY` while an async receive is pending; {@link TimeoutError}
 */
export function receiveSync(port: SyncReceivePort, timeout: number | null): RawDatagram {
  if (port.closed()) throw closedError();
  if (port.asyncWaiting) {
    throw busy('recvPacketSync() cannot run while a recvPacket() is pending on the same socket: it would take that caller\'s datagram');
  }
  const deadline = deadlineOf(timeout);
  let idle = FIRST_RETRY_MS;
  for (;;) {
    const raw = port.takeNow();
    if (raw !== undefined) return raw;
    const left = remaining(deadline);
    if (left === 0) throw new TimeoutError(timeout ?? 0);
    const ms = left === Infinity ? -1 : Math.min(Math.ceil(left), MAX_POLL_MS);
    if (!port.native.waitReadable(ms)) {
      if (remaining(deadline) === 0) throw new TimeoutError(timeout ?? 0);
      continue;
    }
    // Readable: the next takeNow() drains it. If poll reports readable but nothing is
    // queued (an error condition the next recv reports, or another reader was faster),
    // back off instead of spinning.
    const again = port.takeNow();
    if (again !== undefined) return again;
    sleep(Math.min(idle, remaining(deadline)));
    idle = Math.min(idle * 2, MAX_RETRY_MS);
  }
}

/**
 * @internal Send one datagram, blocking the thread while the peer's queue is full, for at most
 * `timeout` seconds. The binding has no blocking wait for writability (and an unconnected
 * sender would get no wakeup from Linux anyway), so it sleeps 1 ms, 2 ms, … up to 50 ms
 * between attempts.
 * @throws `ERR_UNIXGRAM_BUSY` while async sends are queued (they would be overtaken);
 * {@link TimeoutError}; what the send throws (`ECONNREFUSED`, `EMSGSIZE`, …)
 */
export function sendSync(port: SyncSendPort, timeout: number | null): void {
  if (port.closed()) throw closedError();
  if (port.asyncPending) {
    throw busy('sendPacketSync() cannot run while sendPacket() calls are queued on the same socket: it would overtake them');
  }
  const deadline = deadlineOf(timeout);
  let delay = FIRST_RETRY_MS;
  for (;;) {
    if (port.attempt() !== WOULD_BLOCK) return;
    const left = remaining(deadline);
    if (left === 0) {
      const err = new TimeoutError(timeout ?? 0);
      err.message = `the peer's queue stayed full for ${timeout ?? 0} s: the datagram was not sent`;
      throw err;
    }
    sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, MAX_RETRY_MS);
  }
}
