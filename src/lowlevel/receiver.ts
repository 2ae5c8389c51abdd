/**
 * @internal The receive side of a socket: datagrams the binding delivered in batches,
 * queued until a caller takes them, and the callers waiting for one, served in call order.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import { decodeAddress, type UnixAddress } from '../address.js';
import { decodeInetAddress, type InetAddress } from '../inet/address.js';
import type { Credentials } from '../ancillary/ancillary.js';
import { FdRange, type ReceivedFds } from '../ancillary/received-fds.js';
import { AbortError, peerClosedError, TimeoutError, type SystemError } from '../errors.js';
import { unsealPayload } from './sealed.js';
import {
  ENTRY_END,
  ENTRY_EXTRA_MASK,
  ENTRY_FDS,
  ENTRY_FDS_SHIFT,
  ENTRY_PIDFD,
  ENTRY_SENDER,
  ENTRY_SENDER_MASK,
  ENTRY_SENDER_SHIFT,
  META_BASE,
  META_COUNT,
  META_ENTRIES,
  type BatchExtra,
} from '../native/binding.js';

/** The sender each decoded Unix address came from (see {@link Peer.ofAddress}). */
const unixSenders = new WeakMap<UnixAddress, Peer>();
/** The sender each decoded IP address came from (see {@link Peer.ofInet}). */
const inetSenders = new WeakMap<InetAddress, Peer>();

/**
 * A sender as a batch reports it: made once per sender the binding reports as new, and
 * remembered in that sender's slot (the binding's `batch.rs`), so the datagrams of a sender
 * share it while it stays among the recent ones, and what is derived from the address is
 * derived once.
 */
export class Peer {
  /** The sender as the binding gives it: `sun_path` bytes (empty: unnamed), or `"host:port"` (IP). */
  readonly raw: Buffer | string;
  #key: string | undefined;
  #address: UnixAddress | undefined;
  #inet: InetAddress | undefined;

  /** @param raw - `sun_path` bytes, or an IP address and port */
  constructor(raw: Buffer | string) {
    this.raw = raw;
  }

  /** The address as a string key, for maps of senders. */
  get key(): string {
    this.#key ??= typeof this.raw === 'string' ? this.raw : this.raw.toString('latin1');
    return this.#key;
  }

  /**
   * The sender whose {@link address} is `address`: answering a datagram's sender with the
   * address object it came with then encodes nothing.
   * @param address - an address object a user gave back
   * @returns the sender, or undefined if `address` is not one this module decoded
   */
  static ofAddress(address: object): Peer | undefined {
    return unixSenders.get(address as UnixAddress);
  }

  /** The same as {@link ofAddress} for a UDP sender's {@link inet}. @param address - as given */
  static ofInet(address: object): Peer | undefined {
    return inetSenders.get(address as InetAddress);
  }

  /** The Unix address, decoded (a Unix socket's sender) once, and remembered for {@link ofAddress}. */
  get address(): UnixAddress {
    if (this.#address === undefined) {
      this.#address = decodeAddress(this.raw as Buffer);
      // An unnamed sender cannot be answered: its address leads nowhere.
      if (this.raw.length > 0) unixSenders.set(this.#address, this);
    }
    return this.#address;
  }

  /** The IP address and port, decoded (a UDP socket's sender) once, and remembered for {@link ofInet}. */
  get inet(): InetAddress {
    if (this.#inet === undefined) {
      this.#inet = decodeInetAddress(this.raw as string);
      inetSenders.set(this.#inet, this);
    }
    return this.#inet;
  }
}

/** One datagram as received, before parsing. */
export interface RawDatagram {
  /**
   * The payload: a view into the batch slab, or, on a socket set to text payloads and when
   * its bytes are valid UTF-8, their text (a slice of the batch's string).
   */
  readonly data: Buffer | string;
  /** The sender, on a socket that reports addresses. */
  readonly from: Peer | undefined;
  /** Descriptors that came with it (`SCM_RIGHTS`, and the sender's pidfd), owned until someone takes them. */
  readonly fds: ReceivedFds | undefined;
  /** `SCM_CREDENTIALS`, with `SO_PASSCRED` on. */
  readonly credentials: Credentials | undefined;
  /** Set instead of a payload when the datagram was discarded (e.g. truncated). */
  readonly error: SystemError | undefined;
}

/** Someone waiting for a datagram. */
export interface Waiter {
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
  /** The sender last reported (a sender is reported only when it changes, across batches). */
  #from: Peer | undefined;
  /** The senders the binding reported, by slot (`ENTRY_SENDER` names one of them). */
  readonly #senders: Peer[] = [];
  /** Someone has received from this socket: keep prefetching (bounded) between calls. */
  #primed = false;
  readonly #readNow: () => boolean;
  readonly #changed: () => void;
  /** With `largePayloads: 'memfd'`: the most a sealed memfd may carry; else undefined. */
  readonly #sealedMax: number | undefined;
  /** The peer closed the connection: what every receive gets once the queue is empty. */
  #ended: RawDatagram | undefined;
  /**
   * With `reuseReceiveBuffer`: give the binding's lent chunk back. Called when a caller asks
   * for a datagram and none is queued, so every payload handed out before is done with.
   */
  readonly #recycle: (() => void) | undefined;

  /**
   * @param readNow - drain what the kernel holds now, delivering it to {@link onBatch}
   * @param changed - called when the demand for data changes
   */
  constructor(readNow: () => boolean, changed: () => void, sealedMax?: number, recycle?: () => void) {
    this.#readNow = readNow;
    this.#changed = changed;
    this.#sealedMax = sealedMax;
    this.#recycle = recycle;
  }

  /** Whether the binding should watch for readable now. */
  get wantsData(): boolean {
    return (
      this.#ended === undefined &&
      (this.#primed || this.#waiters.length > 0 || this.#holds > 0) &&
      this.#queue.length - this.#head < HIGH_WATER
    );
  }

  /** Whether a caller is waiting (which keeps the process alive). */
  get hasWaiters(): boolean {
    return this.#waiters.length > 0;
  }

  /** Keep reading while an iterator or a server runs, even between its steps. */
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
    return this.#shift() ?? this.#ended;
  }

  /** Take the next datagram if one is queued here or in the kernel, without waiting. */
  takeNow(): RawDatagram | undefined {
    if (this.#head === this.#queue.length && this.#ended === undefined) {
      this.#recycle?.();
      this.#readNow();
    }
    return this.#shift() ?? this.#ended;
  }

  /**
   * Wait for the next datagram. `waiter.resolve` is called exactly once, unless the waiter
   * is withdrawn first with the returned function.
   */
  wait(waiter: Waiter): () => boolean {
    const queued = this.#shift() ?? this.#ended;
    if (queued) {
      waiter.resolve(queued);
      return () => false;
    }
    this.#recycle?.();
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
   * A batch from the binding (the format: the binding's `batch.rs`). `meta` is reused by the
   * next batch, so it is read here at once.
   */
  onBatch(
    slab: ArrayBuffer | undefined,
    meta: Uint32Array,
    extras: BatchExtra[] | undefined,
    set: Int32Array | undefined,
    text: string | undefined,
  ): void {
    const end = META_ENTRIES + 2 * (meta[META_COUNT] as number);
    let offset = meta[META_BASE] as number;
    let x = 0;
    let nextFd = 0;
    let from = this.#from;
    for (let m = META_ENTRIES; m < end; m += 2) {
      const len = meta[m] as number;
      const flags = meta[m + 1] as number;
      const data = text === undefined ? Buffer.from(slab as ArrayBuffer, offset, len) : text.slice(offset, offset + len);
      offset += len;
      if (flags === 0) {
        this.#accept({ data, from, fds: undefined, credentials: undefined, error: undefined });
        continue;
      }
      if (flags & ENTRY_END) {
        this.#end();
        continue;
      }
      let fds: FdRange | undefined;
      const pidfd = (flags & ENTRY_PIDFD) !== 0;
      if (flags & (ENTRY_FDS | ENTRY_PIDFD) && set) {
        // SCM_RIGHTS descriptors, then the pidfd (the binding's batch.rs).
        const count = flags & ENTRY_FDS ? flags >>> ENTRY_FDS_SHIFT : 0;
        fds = new FdRange(set, nextFd, count, pidfd);
        nextFd += count + (pidfd ? 1 : 0);
      }
      const extra = (flags & ENTRY_EXTRA_MASK) === 0 ? undefined : (extras?.[x++] ?? {});
      const slot = (flags & ENTRY_SENDER_MASK) >>> ENTRY_SENDER_SHIFT;
      if (extra?.address) {
        this.#from = from = new Peer(extra.address);
        this.#senders[slot] = from;
      } else if (flags & ENTRY_SENDER) {
        this.#from = from = this.#senders[slot];
      }
      let error = extra?.error as SystemError | undefined;
      if (len === 0 && fds?.length === 1 && this.#sealedMax !== undefined && error === undefined) {
        // A payload in a sealed memfd (journald's native protocol): its bytes, or the error.
        // The memfd is closed here; the sender's pidfd, if any, goes on with the payload.
        const start = nextFd - 1 - (pidfd ? 1 : 0);
        let unsealed: Buffer | undefined;
        try {
          unsealed = unsealPayload(new FdRange(set as Int32Array, start, 1), this.#sealedMax);
        } catch (err) {
          error = err as SystemError;
        }
        const rest = pidfd ? new FdRange(set as Int32Array, start + 1, 0, true) : undefined;
        this.#accept({ data: unsealed ?? data, from, fds: rest, credentials: extra?.credentials, error });
        continue;
      }
      this.#accept({ data, from, fds, credentials: extra?.credentials, error });
    }
    this.#changed();
  }

  /** Whether the peer closed the connection (the stream ended). */
  get ended(): boolean {
    return this.#ended !== undefined;
  }

  /** The stream ended: waiting callers, and every later receive once the queue is empty, get {@link peerClosedError}. */
  #end(): void {
    const ended: RawDatagram = { data: '', from: this.#from, fds: undefined, credentials: undefined, error: peerClosedError() };
    this.#ended = ended;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(ended);
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
