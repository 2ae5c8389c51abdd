/**
 * @internal The send side: datagrams go out in call order; when the peer's queue is full
 * (`EAGAIN`) they wait, and are never dropped. A waiting send may be withdrawn by its
 * `signal` or `timeout`: it is then never sent.
 * @packageDocumentation
 */
import { checkSignal, checkTimeout } from '../checks.js';
import { AbortError, sendTimedOut } from '../errors.js';
import { WOULD_BLOCK } from '../native/binding.js';

/** What may end a send's wait for room: an abort signal, a timeout in seconds (null: none). */
export interface SendLimits {
  readonly signal: AbortSignal | undefined;
  readonly timeout: number | null;
}

/**
 * A send's `signal` and `timeout` options, checked (an already aborted signal throws its
 * {@link AbortError}), or `undefined` when it has neither.
 * @param options - the call's options
 * @returns the limits of its wait for room
 */
export function sendLimits(options: { signal?: AbortSignal | undefined; timeout?: number | null | undefined }): SendLimits | undefined {
  const signal = checkSignal(options.signal);
  const timeout = checkTimeout(options.timeout);
  return signal === undefined && timeout === null ? undefined : { signal, timeout };
}

/** One send: `attempt()` returns bytes sent or {@link WOULD_BLOCK}, or throws. */
interface Pending {
  attempt: () => number;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Removes the abort listener and the timeout timer, if any. */
  release: (() => void) | undefined;
}

/** Retry delays for a socket that cannot be woken by writability (ms). */
const FIRST_RETRY_MS = 1;
const MAX_RETRY_MS = 50;
/** Safety net for connected sockets in case no writable wakeup ever comes. */
const CONNECTED_FALLBACK_MS = 250;

/**
 * How waiting works: a **connected** socket is woken by the kernel when the peer's queue
 * drains (the binding watches for writable, once). An **unconnected** `sendto` gets no
 * such wakeup on Linux (it always polls writable), so it retries on a timer backing off
 * from 1 ms to 50 ms: no spinning, no dropping.
 */
export class Sender {
  #queue: Pending[] = [];
  #waiting = false;
  #timer: NodeJS.Timeout | undefined;
  #delay = FIRST_RETRY_MS;
  #ref = true;
  readonly #canWake: () => boolean;
  readonly #changed: () => void;

  /**
   * @param canWake - whether writability wakes this socket (it is connected)
   * @param changed - called when the need for a writable wakeup changes
   */
  constructor(canWake: () => boolean, changed: () => void) {
    this.#canWake = canWake;
    this.#changed = changed;
  }

  /** Whether the binding should watch for writable. */
  get wantsWritable(): boolean {
    return this.#waiting && this.#canWake();
  }

  /** Whether sends are waiting (which keeps the process alive). */
  get pending(): boolean {
    return this.#queue.length > 0;
  }

  /** Send now if nothing is queued ahead, else queue behind the others (see {@link enqueue}). */
  send(attempt: () => number, limits?: SendLimits): Promise<void> {
    if (this.#queue.length === 0) {
      let result: number;
      try {
        result = attempt();
      } catch (err) {
        return Promise.reject(err);
      }
      if (result !== WOULD_BLOCK) return Promise.resolve();
    }
    return this.enqueue(attempt, limits);
  }

  /**
   * Queue a send that found the peer's queue full (or others ahead of it), to retry when it
   * drains. `limits.signal` aborting or `limits.timeout` passing while it waits withdraws
   * it: it rejects with an {@link AbortError} or a `TimeoutError` and is never sent.
   */
  enqueue(attempt: () => number, limits?: SendLimits): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = { attempt, resolve, reject, release: undefined };
      this.#queue.push(pending);
      if (limits !== undefined && (limits.signal !== undefined || limits.timeout !== null)) this.#limit(pending, limits);
      this.#wait();
    });
  }

  /** The socket became writable (or a retry timer fired): send what waits. */
  onWritable(): void {
    this.#waiting = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as Pending;
      let result: number;
      try {
        result = head.attempt();
      } catch (err) {
        this.#queue.shift();
        head.release?.();
        head.reject(err);
        continue;
      }
      if (result === WOULD_BLOCK) {
        this.#delay = Math.min(this.#delay * 2, MAX_RETRY_MS);
        this.#wait();
        return;
      }
      this.#queue.shift();
      head.release?.();
      head.resolve();
    }
    this.#delay = FIRST_RETRY_MS;
    this.#changed();
  }

  /** Whether retry timers hold the process open. */
  setRef(on: boolean): void {
    this.#ref = on;
    if (!this.#timer) return;
    if (on) this.#timer.ref();
    else this.#timer.unref();
  }

  /** Reject every waiting send with `err`. */
  close(err: Error): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiting = false;
    const queue = this.#queue;
    this.#queue = [];
    for (const p of queue) {
      p.release?.();
      p.reject(err);
    }
  }

  /** Withdraw `pending` when its signal aborts or its timeout passes, if it still waits. */
  #limit(pending: Pending, { signal, timeout }: SendLimits): void {
    let timer: NodeJS.Timeout | undefined;
    const withdraw = (err: Error): void => {
      const at = this.#queue.indexOf(pending);
      if (at < 0) return;
      this.#queue.splice(at, 1);
      pending.release?.();
      pending.reject(err);
      if (this.#queue.length === 0) this.#stopWaiting();
    };
    const onAbort = (): void => withdraw(new AbortError(signal?.reason));
    if (timeout !== null) {
      // Never what holds the process open: the wait itself does (watch or retry timer).
      timer = setTimeout(() => withdraw(sendTimedOut(timeout)), timeout * 1000).unref();
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    pending.release = () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
  }

  /** Nothing waits any more: no retry timer, no writable wakeup. */
  #stopWaiting(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiting = false;
    this.#delay = FIRST_RETRY_MS;
    this.#changed();
  }

  #wait(): void {
    if (this.#waiting) return;
    this.#waiting = true;
    const delay = this.#canWake() ? CONNECTED_FALLBACK_MS : this.#delay;
    this.#timer = setTimeout(() => this.onWritable(), delay);
    if (!this.#ref) this.#timer.unref();
    this.#changed();
  }
}
