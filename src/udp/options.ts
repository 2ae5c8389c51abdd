/**
 * Options of the UDP client, endpoint and server.
 * @packageDocumentation
 */
import { outOfRange } from '../errors.js';
import type { BusyPollOptions } from '../busy-poll.js';
import type { InetAddressLike } from '../inet/address.js';

/** What every UDP socket takes when it is made. */
export interface UdpSocketOptions extends BusyPollOptions {
  /**
   * Bytes of receive buffer to ask for (`SO_RCVBUF`; as root `SO_RCVBUFFORCE`, past
   * `net.core.rmem_max`): UDP drops what does not fit while the reader is busy, so a socket
   * that takes bursts wants room for them. The kernel doubles the request for its own
   * bookkeeping and, unprivileged, caps it at `rmem_max` (212 992 bytes by default):
   * `socket.getReceiveBufferSize()` says what was granted. Default: the system's
   * (`net.core.rmem_default`).
   */
  receiveBufferSize?: number;
  /**
   * Closes the socket when it aborts, as `dgram.createSocket({ signal })` does. Already
   * aborted: the factory rejects with an `AbortError` and creates nothing.
   */
  signal?: AbortSignal;
}

/** Options of `UdpClient.connect`. */
export interface UdpConnectOptions extends UdpSocketOptions {
  /** Where to bind before connecting. Default: any address, a port the kernel picks. */
  localAddress?: InetAddressLike;
}

/** Options of `UdpEndpoint.bind` and `UdpServer.listen`. */
export type UdpBindOptions = UdpSocketOptions;

/**
 * Options of `UdpClient.fromFd` and `UdpEndpoint.fromFd`: those of a new socket but its
 * receive buffer, which belongs to whoever made the descriptor.
 */
export type UdpFromFdOptions = Omit<UdpSocketOptions, 'receiveBufferSize'>;

/** @internal The option names each call accepts (an unknown one is refused). */
export const UDP_OPTION_NAMES = {
  connect: ['localAddress', 'receiveBufferSize', 'signal', 'busyPoll'],
  bind: ['receiveBufferSize', 'signal', 'busyPoll'],
  fromFd: ['signal', 'busyPoll'],
} as const satisfies Record<string, readonly string[]>;

/** @internal `receiveBufferSize`, checked: a positive integer up to 2 GiB, or undefined. */
export function receiveBufferSizeOf(options: UdpSocketOptions): number | undefined {
  const size = options.receiveBufferSize;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > 0x7fffffff) {
    throw outOfRange('options.receiveBufferSize', 'an integer between 1 and 2147483647', size);
  }
  return size;
}
