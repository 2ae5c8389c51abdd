/**
 * @internal The receive-path options a client or an endpoint takes, checked together.
 * @packageDocumentation
 */
import { BUSY_POLL_OPTION_NAMES, busyPollOf, type BusyPoll, type BusyPollOptions } from './busy-poll.js';
import { RECEIVE_BUFFER_OPTION_NAMES, reuseReceiveBufferOf, type ReceiveBufferOptions } from './reuse-buffer.js';

/** @internal The names of the receive-path options, for the option checks. */
export const RECEIVE_OPTION_NAMES = [...RECEIVE_BUFFER_OPTION_NAMES, ...BUSY_POLL_OPTION_NAMES] as const;

/** @internal What a client or endpoint asks of its receive path. */
export interface ReceiveOptions {
  readonly reuseReceiveBuffer: boolean;
  readonly busyPoll: BusyPoll | undefined;
}

/**
 * @internal `reuseReceiveBuffer` and `busyPoll`, checked.
 * @param options - what the caller passed
 * @returns both: `reuseReceiveBuffer` with its default, `busyPoll` as given (absent: the endpoint's default)
 * @throws as `reuseReceiveBufferOf` and `busyPollOf`
 */
export function receiveOptionsOf(options: ReceiveBufferOptions & BusyPollOptions): ReceiveOptions {
  return { reuseReceiveBuffer: reuseReceiveBufferOf(options), busyPoll: busyPollOf(options) };
}
