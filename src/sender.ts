/**
 * @internal The send side: datagrams go out in call order; when the peer's queue is full
 * (`EAGAIN`) they wait, and are never dropped.
 * @packageDocumentation
 */
import { WOULD_BLOCK } from './native.js';

/** One send: `attempt()` returns bytes sent or {@link WOULD_BLOCK}, or throws. */
interface Pending {
  attempt: () => number;
  resolve: () => void;
  reject: (err: unknown) => void;
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

  /** Send now if nothing is queued ahead, else queue behind the others. */
  send(attempt: () => number): Promise<void> {
    if (this.#queue.length === 0) {
      let result: number;
      try {
        result = attempt();
      } catch (err) {
        return Promise.reject(err);
      }
      if (result !== WOULD_BLOCK) return Promise.resolve();
    }
    return this.enqueue(attempt);
  }

  /** Queue a send that just found the peer's queue full, to retry when it drains. */
  enqueue(attempt: () => number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ attempt, resolve, reject });
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
        head.reject(err);
        continue;
      }
      if (result === WOULD_BLOCK) {
        this.#delay = Math.min(this.#delay * 2, MAX_RETRY_MS);
        this.#wait();
        return;
      }
      this.#queue.shift();
      head.resolve();
    }
    this.#delay = FIRST_RETRY_MS;
    this.#changed();
  }

  /** Whether retry timers hold the process open. */
  setRef(on: boolean): void {
    this.#ref = on;
    if (this.#timer) (on ? this.#timer.ref() : this.#timer.unref());
  }

  /** Reject every waiting send with `err`. */
  close(err: Error): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiting = false;
    const queue = this.#queue;
    this.#queue = [];
    for (const p of queue) p.reject(err);
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
