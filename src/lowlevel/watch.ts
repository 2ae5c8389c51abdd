/**
 * @internal What the binding watches for a socket: events, keep-alive and a strong hold,
 * told through the control words shared with the binding (their protocol: the binding's
 * `watcher.rs`; their indices and bits are the binding's `CONTROL_*` / `STATE_*` constants).
 * @packageDocumentation
 */
import {
  CONTROL_APPLIED,
  CONTROL_IN_CALLBACK,
  CONTROL_REQUEST,
  REQUEST_PENDING,
  STATE_EVENTS,
  STATE_KEEP_ALIVE,
  STATE_STRONG,
  type NativeSocket,
} from '../native/binding.js';

/** One socket's watch state, as JS wants it and as the binding applied it. */
export class WatchControl {
  readonly #native: NativeSocket;
  readonly #words: Uint32Array;

  /** @param nativeSocket - the socket whose watch this controls */
  constructor(nativeSocket: NativeSocket) {
    this.#native = nativeSocket;
    this.#words = nativeSocket.control();
  }

  /**
   * Tell the binding what to watch, when that differs from what it applied. Becoming idle
   * with the same events while the binding delivers a batch (the callback or its
   * microtasks run; the last waiting receive was just served) is left in the request word
   * for the binding to apply when the callback returns: a receive loop asks again in a
   * microtask before then, which takes the request back, so a round trip makes no native
   * call and schedules nothing for it.
   * @param events - READABLE and/or WRITABLE
   * @param keepAlive - hold the process open
   * @param strong - hold the JS side strongly (something waits; a socket that merely
   * prefetches can still be dropped by its user and garbage-collected)
   */
  set(events: number, keepAlive: boolean, strong: boolean): void {
    const want = events | (keepAlive ? STATE_KEEP_ALIVE : 0) | (strong ? STATE_STRONG : 0);
    const words = this.#words;
    const applied = words[CONTROL_APPLIED] as number;
    if (want === applied) {
      words[CONTROL_REQUEST] = 0;
      return;
    }
    if (words[CONTROL_IN_CALLBACK] === 1 && !strong && (applied & STATE_STRONG) !== 0 && (applied & STATE_EVENTS) === events) {
      words[CONTROL_REQUEST] = want | REQUEST_PENDING;
      return;
    }
    words[CONTROL_REQUEST] = 0;
    this.#native.watch(events, keepAlive, strong);
  }
}
