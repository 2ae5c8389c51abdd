/**
 * The `busyPoll` option of clients, endpoints and servers: keep reading for a while instead
 * of going to sleep in the event loop, for request/reply round trips without a wakeup.
 * @packageDocumentation
 */
import { invalidArgType, outOfRange } from './errors.js';
import * as binding from './native/binding.js';

/**
 * Busy polling, as Linux's `SO_BUSY_POLL` does for network sockets.
 *
 * By default, once a wakeup has handed over what was queued, the socket goes back to Node's
 * event loop, which sleeps in `epoll_wait` until the next datagram; waking a sleeping process
 * is most of a round trip's time on a local socket. With `busyPoll: N`, while something
 * waits for a packet (a `recvPacket`, an iterator, a server), the wakeup goes on reading for
 * up to `N` microseconds with nothing arriving: a peer that answers within that window is
 * read at once, with no sleep and no wakeup. A wakeup gives the loop its turn after at most
 * 1 ms however many datagrams keep arriving, so timers and other sockets still run.
 *
 * The cost: a core spins for up to `N` µs after every wakeup, and the loop's other work
 * waits that long. Worth it for a request/reply peer that answers within tens of
 * microseconds and a machine with a core to spare for it; not for a receiver of rare or
 * bulk traffic. Measured in bench/README.md.
 */
export interface BusyPollOptions {
  /**
   * How long a wakeup goes on reading with nothing arriving, in microseconds: an integer
   * from 0 (off, the default) to {@link BUSY_POLL_MAX_MICROS}.
   */
  busyPoll?: number;
}

/** The longest busy-poll window a socket takes, in microseconds (the binding's limit). */
export const BUSY_POLL_MAX_MICROS: number = binding.BUSY_POLL_MAX_MICROS;

/** The option names of {@link BusyPollOptions}, for the option checks. */
export const BUSY_POLL_OPTION_NAMES = ['busyPoll'] as const;

/**
 * @internal The option, checked.
 * @param options - what the caller passed
 * @returns the window in microseconds, 0 for off
 * @throws `ERR_INVALID_ARG_TYPE` if it is not a number; `ERR_OUT_OF_RANGE` if it is not an
 * integer from 0 to {@link BUSY_POLL_MAX_MICROS}
 */
export function busyPollOf(options: BusyPollOptions): number {
  const { busyPoll } = options;
  if (busyPoll === undefined) return 0;
  if (typeof busyPoll !== 'number') throw invalidArgType('options.busyPoll', 'a number of microseconds', busyPoll);
  if (!Number.isInteger(busyPoll) || busyPoll < 0 || busyPoll > BUSY_POLL_MAX_MICROS) {
    throw outOfRange('options.busyPoll', `an integer from 0 to ${BUSY_POLL_MAX_MICROS} (microseconds)`, busyPoll);
  }
  return busyPoll;
}
