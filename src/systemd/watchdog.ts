/**
 * The service watchdog (`WatchdogSec=`): the interval systemd set for this process, read as
 * `sd_watchdog_enabled(3)` reads it, and a timer that sends `WATCHDOG=1` every half of it.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import { formatAddress, type UnixAddress } from '../address.js';
import { checkOptions, checkSignal } from '../checks.js';
import { invalidArgType } from '../errors.js';
import { decimal, pidOf, unsetEnvironment, unsetOption, WATCHDOG_VARIABLES } from './environment.js';
import { sendNotification, takeNotifySocket } from './notify.js';

/** Options of {@link watchdogInterval}. */
export interface WatchdogIntervalOptions {
  /**
   * Remove `WATCHDOG_USEC` and `WATCHDOG_PID` from the environment once read, so that
   * programs this process starts do not take the watchdog as theirs. Default `false`.
   */
  readonly unsetEnvironment?: boolean;
}

/** Options of {@link startWatchdog}. */
export interface WatchdogOptions extends WatchdogIntervalOptions {
  /** Stops the keep-alive when it aborts. Already aborted: `startWatchdog` throws an `AbortError`. */
  readonly signal?: AbortSignal;
  /**
   * Called with what a failed `WATCHDOG=1` threw; the keep-alive goes on. Default:
   * `console.error`.
   */
  readonly onError?: (error: unknown) => void;
}

/** A running keep-alive: {@link startWatchdog}'s. */
export interface Watchdog {
  /** The watchdog timeout systemd set, in seconds (`WATCHDOG_USEC` / 10^6). */
  readonly interval: number;
  /** Stop sending. Idempotent. */
  stop(): void;
  /** `using watchdog = startWatchdog()` stops it at the end of the scope. */
  [Symbol.dispose](): void;
}

/** The longest delay a Node timer takes (2^31 − 1 ms, about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 0x7fffffff;
const PING = Buffer.from('WATCHDOG=1');

/**
 * The watchdog timeout the service manager set for this process (`WatchdogSec=`), as
 * `sd_watchdog_enabled(3)` reads it: `WATCHDOG_USEC` microseconds, if `WATCHDOG_PID` is unset
 * or this process's pid. Send `WATCHDOG=1` at least every half of it (or let
 * {@link startWatchdog} do it), or the manager takes the service as hung.
 * @param options - `unsetEnvironment` (default `false`)
 * @returns the timeout in seconds, or `undefined` when there is none for this process
 * @throws `ERR_UNIXGRAM_BAD_ENVIRONMENT` when `WATCHDOG_USEC` is not a decimal number of at
 *   least 1 (or is past 2^53: systemd's "infinity" included) or `WATCHDOG_PID` not a pid
 * @example
 * ```ts
 * const seconds = watchdogInterval(); // 30 for WatchdogSec=30s
 * ```
 */
export function watchdogInterval(options: WatchdogIntervalOptions = {}): number | undefined {
  checkOptions(options, ['unsetEnvironment']);
  const unset = unsetOption(options.unsetEnvironment, false);
  const { WATCHDOG_USEC: usec, WATCHDOG_PID: pid } = process.env;
  try {
    if (usec === undefined) return undefined;
    const micros = decimal('WATCHDOG_USEC', usec, 1);
    if (pid !== undefined && pidOf('WATCHDOG_PID', pid) !== process.pid) return undefined;
    return micros / 1e6;
  } finally {
    if (unset) unsetEnvironment(WATCHDOG_VARIABLES);
  }
}

/**
 * Keep the service watchdog fed: send `WATCHDOG=1` to `$NOTIFY_SOCKET` now and then every half
 * of {@link watchdogInterval}, on an unref'd timer (it never keeps the process alive), until
 * `stop()` or the signal. A ping still waiting for room in the manager's queue is not doubled.
 * The manager's address is read once, here.
 * @param options - `signal`, `onError`, `unsetEnvironment` (of `WATCHDOG_*`; default `false`)
 * @returns the running keep-alive, or `undefined` when the manager set no watchdog for this
 *   process or `NOTIFY_SOCKET` is not set
 * @throws as {@link watchdogInterval}, and for `NOTIFY_SOCKET` as `notify` does; an
 *   `AbortError` if the signal is already aborted; `ERR_INVALID_ARG_TYPE` for bad options
 * @example
 * ```ts
 * const watchdog = startWatchdog(); // undefined without WatchdogSec=
 * await notify('READY=1');
 * // … serve; on shutdown:
 * watchdog?.stop();
 * ```
 */
export function startWatchdog(options: WatchdogOptions = {}): Watchdog | undefined {
  checkOptions(options, ['signal', 'onError', 'unsetEnvironment']);
  const signal = checkSignal(options.signal);
  const { onError } = options;
  if (onError !== undefined && typeof onError !== 'function') throw invalidArgType('options.onError', 'a function', onError);
  const interval = watchdogInterval({ unsetEnvironment: unsetOption(options.unsetEnvironment, false) });
  if (interval === undefined) return undefined;
  const address = takeNotifySocket(false);
  if (address === undefined) return undefined;
  const period = Math.max(1, Math.min(MAX_TIMER_MS, Math.floor((interval * 1000) / 2)));
  return new Keepalive(address, interval, period, signal, onError ?? defaultOnError(address));
}

function defaultOnError(address: UnixAddress): (error: unknown) => void {
  return (err) => console.error(`unixgram watchdog: WATCHDOG=1 to ${formatAddress(address)} failed:`, err);
}

/** The timer behind {@link startWatchdog}. */
class Keepalive implements Watchdog {
  readonly interval: number;
  readonly #address: UnixAddress;
  readonly #onError: (error: unknown) => void;
  readonly #timer: NodeJS.Timeout;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.stop();
  #pending = false;
  #stopped = false;

  constructor(address: UnixAddress, interval: number, period: number, signal: AbortSignal | undefined, onError: (error: unknown) => void) {
    this.interval = interval;
    this.#address = address;
    this.#onError = onError;
    this.#signal = signal;
    this.#timer = setInterval(() => this.#ping(), period).unref();
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#ping();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }

  [Symbol.dispose](): void {
    this.stop();
  }

  #ping(): void {
    if (this.#pending || this.#stopped) return;
    this.#pending = true;
    sendNotification(this.#address, PING, [], undefined, { signal: undefined, timeout: null, unref: true }).then(
      () => (this.#pending = false),
      (err: unknown) => {
        this.#pending = false;
        if (!this.#stopped) this.#report(err);
      },
    );
  }

  #report(err: unknown): void {
    try {
      this.#onError(err);
    } catch (hookError) {
      console.error('unixgram watchdog: the onError hook threw', hookError, 'while reporting', err);
    }
  }
}
