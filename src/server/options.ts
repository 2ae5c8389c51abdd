/**
 * The options of `UnixDatagramServer`'s calls, the option names each takes, and the error
 * hook used when none is given.
 * @packageDocumentation
 */
import { formatAddress, type UnixAddress } from '../address.js';
import type { UnixDatagramServerClient } from './client.js';
import { PIDFD_OPTION_NAMES, type PidfdOptions } from '../ancillary/pidfd.js';
import { LARGE_PAYLOAD_OPTION_NAMES, type LargePayloadOptions } from '../large-payloads.js';
import { BUSY_POLL_OPTION_NAMES, type BusyPollOptions } from '../busy-poll.js';

/** Options of `UnixDatagramServer.listen`. */
export interface ServerOptions<SentPacket> extends LargePayloadOptions, PidfdOptions, BusyPollOptions {
  /**
   * Permission bits of the socket file (e.g. `0o600`: only this user may send), in place
   * before anyone can connect: the socket is bound at the path itself with this mode already
   * on it (minus the umask, whose bits are put back at once; never more than `mode`). Not
   * allowed for abstract names (they have no permissions).
   */
  mode?: number;
  /**
   * Remove an existing socket file at the path if nothing answers on it (a probe gets
   * `ECONNREFUSED`). A live socket, a regular file, a directory or a symlink is never
   * removed: `listen` fails with `EADDRINUSE` and says why. Default `false`.
   */
  removeStale?: boolean;
  /** Turn on `SO_PASSCRED`: every packet carries its sender's credentials (`client.credentials`). */
  passCredentials?: boolean;
  /**
   * Called with what a handler threw, a datagram that failed to parse
   * (`DatagramProtocolParseError`) or a receive error; the server keeps serving. Default:
   * `console.error` with the sender's address.
   */
  onError?: (error: unknown, client: UnixDatagramServerClient<SentPacket> | undefined) => void;
  /**
   * Closes the server when it aborts, as `server.listen({ signal })` does in Node. Already
   * aborted: `listen` rejects with an `AbortError` and binds nothing.
   */
  signal?: AbortSignal;
}

/** Options of `UnixDatagramServer.fromFd`: those of `listen` that do not make the socket file. */
export type ServerFromFdOptions<SentPacket> = Omit<ServerOptions<SentPacket>, 'mode' | 'removeStale'>;

/** Options of `UnixDatagramServer.serveForever`. */
export interface ServeOptions {
  /**
   * Closes the server when it aborts; `serveForever()` then rejects with an `AbortError`
   * once the close has finished.
   */
  signal?: AbortSignal;
}

/** @internal The option names each server call takes (an unknown one is refused). */
export const SERVER_OPTION_NAMES = {
  listen: [
    'mode',
    'removeStale',
    'passCredentials',
    ...PIDFD_OPTION_NAMES,
    'onError',
    'signal',
    ...LARGE_PAYLOAD_OPTION_NAMES,
    ...BUSY_POLL_OPTION_NAMES,
  ],
  fromFd: ['passCredentials', ...PIDFD_OPTION_NAMES, 'onError', 'signal', ...LARGE_PAYLOAD_OPTION_NAMES, ...BUSY_POLL_OPTION_NAMES],
  serve: ['signal'],
} as const satisfies Record<string, readonly string[]>;

/**
 * @internal The default {@link ServerOptions.onError}: `console.error` with the server's
 * and the sender's address.
 * @param local - the server's address
 * @returns the hook
 */
export function defaultOnError<SentPacket>(local: UnixAddress): NonNullable<ServerOptions<SentPacket>['onError']> {
  return (err, client) =>
    console.error(`unixgram server ${formatAddress(local)}: error from ${client ? formatAddress(client.address) : 'the socket'}:`, err);
}
