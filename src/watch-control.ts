/**
 * @internal What the binding watches for a client: events, keep-alive and a strong hold,
 * told through three control words shared with the binding (`poll::control_to_js`).
 * @packageDocumentation
 */
import type { NativeSocket } from './native.js';

/** The control words: in-callback flag, a pending request, the applied state. */
const CONTROL_IN_CALLBACK = 0;
const CONTROL_REQUEST = 1;
const CONTROL_APPLIED = 2;
/** State bits beside the events (bits 0–1). */
const STATE_KEEP_ALIVE = 4;
const STATE_STRONG = 8;
const REQUEST_PENDING = 16;

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
   * Tell the binding what to watch, when that differs from what it applied (word 2: events
   * in bits 0–1, keep-alive bit 2, strong bit 3). Becoming idle with the same events while
   * the binding delivers a batch (word 0 is 1: the callback or its microtasks run; the last
   * waiting receive was just served) is left in word 1 for the binding to apply when the
   * callback returns: a receive loop asks again in a microtask before then, which takes the
   * request back, so a round trip makes no native call and schedules nothing for it.
   * @param events - READABLE and/or WRITABLE
   * @param keepAlive - hold the process open
   * @param busy - something waits: hold the JS side strongly (a client that merely
   * prefetches can still be dropped by its user and garbage-collected)
   */
  set(events: number, keepAlive: boolean, busy: boolean): void {
    const want = events | (keepAlive ? STATE_KEEP_ALIVE : 0) | (busy ? STATE_STRONG : 0);
    const words = this.#words;
    const applied = words[CONTROL_APPLIED] as number;
    if (want === applied) {
      words[CONTROL_REQUEST] = 0;
      return;
    }
    if (words[CONTROL_IN_CALLBACK] === 1 && !busy && (applied & STATE_STRONG) !== 0 && (applied & 3) === events) {
      words[CONTROL_REQUEST] = want | REQUEST_PENDING;
      return;
    }
    words[CONTROL_REQUEST] = 0;
    this.#native.watch(events, keepAlive, busy);
  }
}
