/**
 * The synchronous API (easynetwork's blocking client): its options, and the loops behind
 * `recvPacketSync` (poll the fd with a timeout in the binding) and `sendPacketSync` (retry
 * `EAGAIN` with short blocking sleeps). Both block the calling thread and never touch the
 * event loop.
 * @packageDocumentation
 */
import { performance } from 'node:perf_hooks';

import type { SocketAncillary } from '../ancillary/ancillary.js';
import { TimeoutError, closedError, codedError, ErrorCodes, sendTimedOut, type SystemError } from '../errors.js';
import type { Endpoint } from '../lowlevel/endpoint.js';
import type { RawDatagram } from '../lowlevel/receiver.js';
import type { NativeAddress, NativeDatagram, NativeSendAncillary } from '../native/binding.js';

/** Options of `UnixDatagramClient.recvPacketSync`. */
export interface SyncRecvOptions {
  /** Seconds to block; `0` takes only what is already queued. Default: no limit. */
  timeout?: number | null;
  /**
   * Receives the descriptors and credentials that came with the datagram. Without it they
   * are closed at once.
   */
  ancillary?: SocketAncillary;
}

/** Options of `UnixDatagramClient.sendPacketSync`. */
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
export function receiveSync(endpoint: Endpoint<NativeAddress>, timeout: number | null): RawDatagram {
  if (endpoint.closed) throw closedError();
  const receiver = endpoint.receiver;
  if (receiver.hasWaiters) {
    throw busy("recvPacketSync() cannot run while a recvPacket() is pending on the same socket: it would take that caller's datagram");
  }
  const deadline = deadlineOf(timeout);
  let idle = FIRST_RETRY_MS;
  for (;;) {
    const raw = receiver.takeNow();
    if (raw !== undefined) return raw;
    const left = remaining(deadline);
    if (left === 0) throw new TimeoutError(timeout ?? 0);
    const ms = left === Infinity ? -1 : Math.min(Math.ceil(left), MAX_POLL_MS);
    if (!endpoint.waitReadable(ms)) {
      if (remaining(deadline) === 0) throw new TimeoutError(timeout ?? 0);
      continue;
    }
    // Readable: the next takeNow() drains it. If poll reports readable but nothing is
    // queued (an error condition the next recv reports, or another reader was faster),
    // back off instead of spinning.
    const again = receiver.takeNow();
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
export function sendSync(
  endpoint: Endpoint<NativeAddress>,
  data: NativeDatagram,
  ancillary: NativeSendAncillary | null,
  timeout: number | null,
): void {
  if (endpoint.closed) throw closedError();
  if (endpoint.sendPending) {
    throw busy('sendPacketSync() cannot run while sendPacket() calls are queued on the same socket: it would overtake them');
  }
  const deadline = deadlineOf(timeout);
  let delay = FIRST_RETRY_MS;
  for (;;) {
    if (endpoint.sendNow(data, ancillary)) return;
    const left = remaining(deadline);
    if (left === 0) throw sendTimedOut(timeout ?? 0);
    sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, MAX_RETRY_MS);
  }
}
