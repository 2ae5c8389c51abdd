/**
 * @internal The async iterator behind `iterReceivedPackets()` and `iterReceivedPacketsFrom()`,
 * and the one receive of `recvPacket()` and `recvPacketFrom()`, on an endpoint's receive queue. Hand-written rather than an
 * `async function*`: a generator `yield` awaits each packet (a `then` lookup on every
 * Buffer) and resumes a generator per packet; here a packet already queued costs one
 * resolved promise.
 * @packageDocumentation
 */
import { performance } from 'node:perf_hooks';

import { AbortError, ErrorCodes, TimeoutError } from '../errors.js';
import type { NativeAddress } from '../native/binding.js';
import type { Endpoint } from './endpoint.js';
import type { RawDatagram } from './receiver.js';

/** What the iterator needs from its client. */
export interface PacketSource<T> {
  /** A datagram already delivered to JS, if any (no syscall). */
  takeQueued(): RawDatagram | undefined;
  /** A datagram queued here or in the kernel, without waiting. */
  takeNow(): RawDatagram | undefined;
  /** Wait up to `seconds` (null = no limit) and until `signal` aborts; rejects with TimeoutError or AbortError. */
  wait(seconds: number | null, signal: AbortSignal | undefined): Promise<RawDatagram>;
  /** Wait without a limit: `onDatagram` is called once (on close with a CLOSED error entry). */
  waitForever(onDatagram: (raw: RawDatagram) => void): void;
  /** Parse (throws DatagramProtocolParseError); closes fds nobody takes. */
  unpack(raw: RawDatagram): T;
  /** Whether the client is closed. */
  closed(): boolean;
  /** Keep reading between steps; returns the release function. */
  hold(): () => void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * Packets queued or arriving within a total waiting budget, easynetwork's semantics, until
 * an optional signal aborts (then `next()` rejects with an {@link AbortError}).
 */
export class PacketIterator<T> implements AsyncIterableIterator<T, undefined, undefined> {
  readonly #source: PacketSource<T>;
  #budget: number | null;
  readonly #signal: AbortSignal | undefined;
  #release: (() => void) | undefined;
  #done = false;

  /**
   * @param source - the client's receive side
   * @param budget - total seconds of waiting (0 = only what is queued, null = until closed)
   * @param signal - ends the iteration with an AbortError
   */
  constructor(source: PacketSource<T>, budget: number | null, signal: AbortSignal | undefined) {
    this.#source = source;
    this.#budget = budget;
    this.#signal = signal;
    this.#release = budget === 0 ? undefined : source.hold();
  }

  /** An iterator whose first `next()` rejects with `err`, then is done. */
  static failed<T>(err: Error): AsyncIterableIterator<T, undefined, undefined> {
    let failed = false;
    const it: AsyncIterableIterator<T, undefined, undefined> = {
      [Symbol.asyncIterator]: () => it,
      next: () => (failed ? Promise.resolve(DONE) : ((failed = true), Promise.reject(err))),
      return: () => Promise.resolve(DONE),
    };
    return it;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#done || this.#source.closed()) return Promise.resolve(this.#finish());
    if (this.#signal?.aborted) {
      this.#finish();
      return Promise.reject(new AbortError(this.#signal.reason));
    }
    const queued = this.#source.takeQueued() ?? (this.#budget === 0 ? this.#source.takeNow() : undefined);
    if (queued) return this.#deliver(queued);
    if (this.#budget === 0) return Promise.resolve(this.#finish());
    if (this.#budget === null && this.#signal === undefined) {
      // No budget to account for: the waiter settles this step's promise itself.
      return new Promise((resolve, reject) => {
        this.#source.waitForever((raw) => {
          try {
            resolve(this.#step(raw));
          } catch (err) {
            reject(err);
          }
        });
      });
    }
    const started = performance.now();
    return this.#source.wait(this.#budget, this.#signal).then(
      (raw) => {
        if (this.#budget !== null) this.#budget = Math.max(0, this.#budget - (performance.now() - started) / 1000);
        return this.#step(raw);
      },
      (err: unknown) => {
        if (err instanceof TimeoutError) return this.#finish();
        this.#finish();
        throw err;
      },
    );
  }

  return(): Promise<IteratorResult<T, undefined>> {
    return Promise.resolve(this.#finish());
  }

  throw(err?: unknown): Promise<IteratorResult<T, undefined>> {
    this.#finish();
    return Promise.reject(err);
  }

  #deliver(raw: RawDatagram): Promise<IteratorResult<T, undefined>> {
    try {
      return Promise.resolve(this.#step(raw));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The step's result for `raw` (done on close, and when the peer closed); throws what parsing throws. */
  #step(raw: RawDatagram): IteratorResult<T, undefined> {
    const code = raw.error?.code;
    if (code === ErrorCodes.CLOSED || code === ErrorCodes.PEER_CLOSED) return this.#finish();
    return { done: false, value: this.#source.unpack(raw) };
  }

  #finish(): IteratorReturnResult<undefined> {
    this.#done = true;
    this.#release?.();
    this.#release = undefined;
    return DONE;
  }
}

/**
 * The packets of `endpoint` as an iterator (see {@link PacketIterator}).
 * @param endpoint - the socket's endpoint, open
 * @param budget - total seconds of waiting (0 = only what is queued, null = until closed)
 * @param signal - ends the iteration with an AbortError
 * @param unpack - the packet of a datagram (throws what parsing throws; closes fds nobody takes)
 * @returns the iterator
 */
export function iteratePackets<T>(
  endpoint: Endpoint<NativeAddress>,
  budget: number | null,
  signal: AbortSignal | undefined,
  unpack: (raw: RawDatagram) => T,
): PacketIterator<T> {
  const receiver = endpoint.receiver;
  return new PacketIterator<T>(
    {
      takeQueued: () => receiver.takeQueued(),
      takeNow: () => receiver.takeNow(),
      wait: (seconds, waitSignal) => receiver.waitWithin(seconds, waitSignal, !endpoint.refed),
      waitForever: (onDatagram) => void receiver.wait({ resolve: onDatagram }),
      unpack,
      closed: () => endpoint.closed,
      hold: () => receiver.hold(),
    },
    budget,
    signal,
  );
}

/**
 * The next packet of `endpoint`: one already delivered at once (no waiter, timer or inner
 * promise: when one is queued nobody waits ahead of this call, so the order is kept), else
 * the next to arrive within `timeout` seconds (null: no limit; 0: only what the kernel holds
 * now) and until `signal` aborts.
 * @param endpoint - the socket's endpoint, checked open
 * @param timeout - seconds, or null
 * @param signal - cancels the wait (checked not aborted)
 * @param unpack - the packet of a datagram
 * @returns the packet; rejects with {@link TimeoutError}, {@link AbortError} or what `unpack` throws
 */
export function receivePacket<T>(
  endpoint: Endpoint<NativeAddress>,
  timeout: number | null,
  signal: AbortSignal | undefined,
  unpack: (raw: RawDatagram) => T,
): Promise<T> {
  // Not an `async` function: a receive loop pays for one promise per packet, not three.
  const receiver = endpoint.receiver;
  try {
    const raw = timeout === 0 ? receiver.takeNow() : receiver.takeQueued();
    if (raw !== undefined) return Promise.resolve(unpack(raw));
    if (timeout === 0) throw new TimeoutError(0);
  } catch (err) {
    return Promise.reject(err);
  }
  if (timeout === null && signal === undefined) {
    // The common wait: no timer, no signal, so nothing to withdraw.
    return new Promise<T>((resolve, reject) => {
      receiver.wait({
        resolve: (d) => {
          try {
            resolve(unpack(d));
          } catch (err) {
            reject(err);
          }
        },
      });
    });
  }
  return receiver.waitWithin(timeout, signal, !endpoint.refed).then(unpack);
}
