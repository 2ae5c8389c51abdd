/**
 * The `busyPoll` option of clients, endpoints and servers: keep reading for a while instead
 * of going to sleep in the event loop, for request/reply round trips without a wakeup.
 * @packageDocumentation
 */
import { invalidArgType, outOfRange } from './errors.js';
import * as binding from './native/binding.js';

/**
 * How a socket busy-polls: `'adaptive'` (the default), a fixed window in microseconds, or
 * `0` for never.
 */
export type BusyPoll = 'adaptive' | number;

/**
 * Busy polling, as Linux's `SO_BUSY_POLL` does for network sockets.
 *
 * Once a wakeup has handed over what was queued, a socket that does not busy-poll goes back
 * to Node's event loop, which sleeps in `epoll_wait` until the next datagram; waking a
 * sleeping process is most of a round trip's time on a local socket. A busy-polling socket,
 * while something waits for a packet (a `recvPacket`, an iterator, a server), goes on
 * reading for a window with nothing arriving: a peer that answers within it is read at
 * once, with no sleep and no wakeup. A wakeup gives the loop its turn after at most 1 ms
 * however many datagrams keep arriving, so timers and other sockets still run.
 *
 * - `'adaptive'` (the default): the window is learnt, as KVM's halt polling learns its own.
 *   After each wakeup the socket notes how long JS then waited for its next datagram: a wait
 *   of up to {@link BUSY_POLL_ADAPTIVE_MICROS} µs makes the window twice that wait (at most
 *   that limit); a longer one halves it, down to nothing. Off, it probes: one wait for a
 *   reply in eight, drawn at random, spins the whole window, and a probe that catches
 *   nothing is off again at once. Where wakeups are slow, two peers that do not spin each
 *   wait out the other's wakeup and would never learn that both spinning is quick; probes
 *   at both ends at once show it. A request/reply socket whose peer answers within tens of
 *   microseconds spins for about as long as the answer takes; a socket whose data comes
 *   rarely, or is asked for from a timer, stops spinning after a few wakeups and then spins
 *   the window on one wait in eight.
 * - `N` (1 to {@link BUSY_POLL_MAX_MICROS}): always spin until nothing has arrived for `N` µs.
 * - `0`: never spin.
 *
 * The cost: a core spins for up to the window after a wakeup, and the loop's other work
 * waits that long. On a machine with no core to spare, or for a process that must not spin,
 * pass `busyPoll: 0`. Measured in bench/README.md.
 */
export interface BusyPollOptions {
  /**
   * `'adaptive'` (the default), a fixed window in microseconds (an integer from 1 to
   * {@link BUSY_POLL_MAX_MICROS}), or `0` for off.
   */
  busyPoll?: BusyPoll;
}

/** The longest busy-poll window a socket takes, in microseconds (the binding's limit). */
export const BUSY_POLL_MAX_MICROS: number = binding.BUSY_POLL_MAX_MICROS;

/** The longest window of `busyPoll: 'adaptive'`, in microseconds (the binding's). */
export const BUSY_POLL_ADAPTIVE_MICROS: number = binding.BUSY_POLL_ADAPTIVE_MICROS;

/** @internal What a socket does when its owner does not say: adaptive busy polling. */
export const DEFAULT_BUSY_POLL: BusyPoll = 'adaptive';

/** The option names of {@link BusyPollOptions}, for the option checks. */
export const BUSY_POLL_OPTION_NAMES = ['busyPoll'] as const;

/**
 * @internal The option, checked.
 * @param options - what the caller passed
 * @returns the setting; absent, the low-level endpoint's default ({@link DEFAULT_BUSY_POLL})
 * @throws `ERR_INVALID_ARG_TYPE` if it is neither `'adaptive'` nor a number;
 * `ERR_OUT_OF_RANGE` if it is not an integer from 0 to {@link BUSY_POLL_MAX_MICROS}
 */
export function busyPollOf(options: BusyPollOptions): BusyPoll | undefined {
  const { busyPoll } = options;
  if (busyPoll === undefined || busyPoll === 'adaptive') return busyPoll;
  if (typeof busyPoll !== 'number') {
    throw invalidArgType('options.busyPoll', "'adaptive' or a number of microseconds", busyPoll);
  }
  if (!Number.isInteger(busyPoll) || busyPoll < 0 || busyPoll > BUSY_POLL_MAX_MICROS) {
    throw outOfRange('options.busyPoll', `an integer from 0 to ${BUSY_POLL_MAX_MICROS} (microseconds)`, busyPoll);
  }
  return busyPoll;
}

/**
 * @internal The binding's form of a setting, for `NativeSocket.setBusyPoll`.
 * @param busyPoll - a checked setting
 * @returns the window (or, adaptive, its limit) in microseconds, and whether it adapts
 */
export function nativeBusyPoll(busyPoll: BusyPoll): [micros: number, adaptive: boolean] {
  return busyPoll === 'adaptive' ? [BUSY_POLL_ADAPTIVE_MICROS, true] : [busyPoll, false];
}
