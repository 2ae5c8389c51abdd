/**
 * @internal The receive side of a socket: datagrams the binding delivered in batches,
 * queued until a caller takes them, and the callers waiting for one, served in call order.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import type { Credentials } from './ancillary.js';
import { AbortError, TimeoutError, type SystemError } from './errors.js';
import { FdRange } from './fd-range.js';
import type { NativeSocket } from './native.js';

/**
 * The descriptors one datagram carried, owned until someone steals or closes them (what is
 * left is closed when garbage-collected).
 */
export interface ReceivedFds {
  /** How many arrived (stolen and closed ones included, so indices stay put). */
  readonly length: number;
  /**
   * The descriptor at `index`, still owned here.
   * @param index - 0 ≤ index < length
   * @returns the descriptor number, or -1 once stolen or closed
   * @throws RangeError (`ERR_OUT_OF_RANGE`) if `index` is out of range
   */
  get(index: number): number;
  /**
   * Hand the descriptor at `index` to the caller, who must close it.
   * @param index - 0 ≤ index < length
   * @returns the descriptor number
   * @throws RangeError (`ERR_OUT_OF_RANGE`) if `index` is out of range, or it was stolen or closed
   */
  steal(index: number): number;
  /** Close every descriptor not stolen. Idempotent. */
  close(): void;
}

/** One datagram as received, before parsing. */
export interface RawDatagram {
  /**
   * The payload: a view into the batch slab, or, on a socket set to text payloads
   * (`setTextPayloads`) and when its bytes are valid UTF-8, their text (a slice of the
   * batch's string).
   */
  readonly data: Buffer | string;
  /** The sender's `sun_path` bytes, when the socket reports addresses. */
  readonly address: Buffer | undefined;
  /** Descriptors that came with it, owned until someone takes them. */
  readonly fds: ReceivedFds | undefined;
  /** `SCM_CREDENTIALS`, with `SO_PASSCRED` on. */
  readonly credentials: Credentials | undefined;
  /** Set instead of a payload when the datagram was discarded (e.g. truncated). */
  readonly error: SystemError | undefined;
}

/** What an entry with `flags & EXTRA_MASK` carries besides its payload. */
interface Extra {
  address?: Buffer;
  credentials?: Credentials;
  error?: SystemError;
}

/**
 * What `readNow()` returns: `[slab, meta, extras, fds, text]` (see {@link Receiver.onBatch}).
 * `text` replaces `slab` when the socket delivers text payloads and they are valid UTF-8.
 */
type Batch = [slab: ArrayBuffer | undefined, meta: Uint32Array, extras: Extra[] | undefined, fds: Int32Array | undefined, text?: string | undefined];

/** Entry flags that come with an extras object (error, address change, credentials). */
const EXTRA_MASK = 7;
/** Entry flag: descriptors arrived; their count is `flags >>> FDS_SHIFT`. */
const ENTRY_FDS = 8;
const FDS_SHIFT = 8;

interface Waiter {
  resolve(datagram: RawDatagram): void;
}

/**
 * Prefetch at most this many datagrams ahead of the callers; the rest wait in the kernel.
 * Reading starts with the first receive and then continues between receives (so a receive
 * loop does not stop and restart the watch each time), up to this bound.
 */
const HIGH_WATER = 1024;

/** Queue of received datagrams and FIFO of waiting callers. */
export class Receiver {
  #queue: RawDatagram[] = [];
  #head = 0;
  #waiters: Waiter[] = [];
  #holds = 0;
  /**
   * The sender address last reported (a socket set to report addresses reports one only when
   * it changes, across batches).
   */
  #address: Buffer | undefined;
  /** Someone has received from this socket: keep prefetching (bounded) between calls. */
  #primed = false;
  readonly #native: NativeSocket;
  readonly #changed: () => void;

  /**
   * @param nativeSocket - the socket to read from
   * @param changed - called when the demand for data changes
   */
  constructor(nativeSocket: NativeSocket, changed: () => void) {
    this.#native = nativeSocket;
    this.#changed = changed;
  }

  /** Whether the binding should watch for readable now. */
  get wantsData(): boolean {
    return (this.#primed || this.#waiters.length > 0 || this.#holds > 0) && this.#queue.length - this.#head < HIGH_WATER;
  }

  /** Whether a caller is waiting (which keeps the process alive). */
  get hasWaiters(): boolean {
    return this.#waiters.length > 0;
  }

  /** Keep reading while an iterator runs, even between its steps. */
  hold(): () => void {
    this.#primed = true;
    this.#holds++;
    this.#changed();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds--;
      this.#changed();
    };
  }

  /** Take the next datagram already delivered to JS, if any (no syscall). */
  takeQueued(): RawDatagram | undefined {
    return this.#shift();
  }

  /** Take the next datagram if one is queued here or in the kernel, without waiting. */
  takeNow(): RawDatagram | undefined {
    if (this.#head === this.#queue.length) {
      const batch = this.#native.readNow() as Batch | undefined;
      if (batch) this.#enqueue(batch[0], batch[1], batch[2], batch[3], batch[4]);
    }
    return this.#shift();
  }

  /**
   * Wait for the next datagram. `waiter.resolve` is called exactly once, unless the waiter
   * is withdrawn first with the returned function.
   */
  wait(waiter: Waiter): () => boolean {
    const queued = this.#shift();
    if (queued) {
      waiter.resolve(queued);
      return () => false;
    }
    this.#waiters.push(waiter);
    this.#primed = true;
    this.#changed();
    return () => {
      const i = this.#waiters.indexOf(waiter);
      if (i < 0) return false;
      this.#waiters.splice(i, 1);
      this.#changed();
      return true;
    };
  }

  /**
   * Wait for the next datagram, for at most `timeout` seconds (null: no limit) and until
   * `signal` aborts; a timed-out or aborted wait is withdrawn, so no datagram is lost to it.
   * @param timeout - seconds, or null
   * @param signal - cancels the wait
   * @param unrefTimer - the timer does not hold the process open
   * @returns the datagram; rejects with {@link TimeoutError} or {@link AbortError}
   */
  waitWithin(timeout: number | null, signal: AbortSignal | undefined, unrefTimer: boolean): Promise<RawDatagram> {
    return new Promise<RawDatagram>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        if (withdraw()) finish(() => reject(new AbortError(signal?.reason)));
      };
      const finish = (settle: () => void): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      const withdraw = this.wait({ resolve: (d) => finish(() => resolve(d)) });
      if (timeout !== null) {
        timer = setTimeout(() => {
          if (withdraw()) finish(() => reject(new TimeoutError(timeout)));
        }, timeout * 1000);
        if (unrefTimer) timer.unref();
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * A batch from the binding: `meta` is `[count, base, len, flags, len, flags, …]` (reused by
   * the next batch: read here at once), payloads back to back in `slab` from byte `base`
   * (or in `text` from index 0, lengths in UTF-16 code units), an extras object per entry
   * with `flags & 7` (an error, credentials, or a sender address that differs from the last
   * one reported, in this batch or an earlier one), and the descriptors of every entry in
   * one set, in entry order (an entry with flag 8 owns the next `flags >>> 8` of them).
   */
  onBatch(slab: ArrayBuffer | undefined, meta: Uint32Array, extras: Extra[] | undefined, fds: Int32Array | undefined, text?: string): void {
    this.#enqueue(slab, meta, extras, fds, text);
    this.#changed();
  }

  /** Drop everything queued (closing its descriptors) and return the waiters. */
  close(): Waiter[] {
    for (let i = this.#head; i < this.#queue.length; i++) this.#queue[i]?.fds?.close();
    this.#queue = [];
    this.#head = 0;
    const waiters = this.#waiters;
    this.#waiters = [];
    return waiters;
  }

  #enqueue(slab: ArrayBuffer | undefined, meta: Uint32Array, extras: Extra[] | undefined, set: Int32Array | undefined, text: string | undefined): void {
    const end = 2 + 2 * (meta[0] as number);
    let offset = meta[1] as number;
    let x = 0;
    let nextFd = 0;
    let address = this.#address;
    for (let m = 2; m < end; m += 2) {
      const len = meta[m] as number;
      const flags = meta[m + 1] as number;
      const data = text === undefined ? Buffer.from(slab as ArrayBuffer, offset, len) : text.slice(offset, offset + len);
      offset += len;
      if (flags === 0) {
        this.#accept({ data, address, fds: undefined, credentials: undefined, error: undefined });
        continue;
      }
      let fds: FdRange | undefined;
      if (flags & ENTRY_FDS && set) {
        const count = flags >>> FDS_SHIFT;
        fds = new FdRange(set, nextFd, count);
        nextFd += count;
      }
      if ((flags & EXTRA_MASK) === 0) {
        this.#accept({ data, address, fds, credentials: undefined, error: undefined });
        continue;
      }
      const extra = extras?.[x++] ?? {};
      if (extra.address) this.#address = address = extra.address;
      this.#accept({ data, address, fds, credentials: extra.credentials, error: extra.error });
    }
  }

  /**
   * A datagram in arrival order: straight to the first waiting caller when nothing is
   * queued ahead of it (callers wait only while the queue is empty, so order is kept),
   * else to the queue.
   */
  #accept(datagram: RawDatagram): void {
    if (this.#waiters.length > 0 && this.#head === this.#queue.length) (this.#waiters.shift() as Waiter).resolve(datagram);
    else this.#queue.push(datagram);
  }

  #shift(): RawDatagram | undefined {
    if (this.#head === this.#queue.length) return undefined;
    if (this.#queue.length - this.#head === HIGH_WATER) queueMicrotask(this.#changed);
    const datagram = this.#queue[this.#head] as RawDatagram;
    this.#queue[this.#head++] = undefined as unknown as RawDatagram;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return datagram;
  }
}
