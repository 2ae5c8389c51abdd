/**
 * The unconnected UDP endpoint: one socket that receives from anyone and sends to any
 * address, as `dgram`'s socket and Python's `sendto`/`recvfrom` on `SOCK_DGRAM`.
 * @packageDocumentation
 */
import { busyPollOf, type BusyPoll } from '../busy-poll.js';
import { checkFd, checkOptions, checkSignal } from '../checks.js';
import { UnconnectedEndpoint, type AddressForms } from '../endpoint/unconnected.js';
import { decodeInetAddress, encodeInetAddress, isIPv6, type InetAddress, type InetAddressLike } from '../inet/address.js';
import { Endpoint, type EndpointOptions } from '../lowlevel/endpoint.js';
import { Peer } from '../lowlevel/receiver.js';
import { codecOf, type Codec } from '../protocol/codec.js';
import { checkProtocol, type DatagramProtocol } from '../protocol/protocol.js';
import { receiveBufferSizeOf, UDP_OPTION_NAMES, type UdpBindOptions, type UdpFromFdOptions } from './options.js';
import { UDP_KINDS, udpEndpoint } from './socket.js';

/**
 * A UDP socket that is not connected: bound to an address and port, receiving from any
 * sender with its `{ address, family, port }`, and sending to any address, with the calls
 * of {@link UnixDatagramEndpoint}. `sendPacketsTo` sends runs of equal-sized packets to
 * one address as one GSO message each; receiving takes many datagrams per syscall
 * (`recvmmsg`, GRO).
 *
 * UDP may drop: a full receive buffer loses datagrams (`socket.drops` counts them), and a
 * send waits only while this socket's own send buffer is full. Packets carry no descriptors
 * or credentials.
 *
 * @typeParam SentPacket - what `sendPacketTo` takes
 * @typeParam ReceivedPacket - what receiving yields
 * @example
 * ```ts
 * const protocol = new DatagramProtocol(new StringSerializer());
 * await using endpoint = await UdpEndpoint.bind({ address: '127.0.0.1', port: 5353 }, protocol);
 * for await (const { packet, address } of endpoint) await endpoint.sendPacketTo(packet.toUpperCase(), address);
 * ```
 */
export class UdpEndpoint<SentPacket, ReceivedPacket> extends UnconnectedEndpoint<
  SentPacket,
  ReceivedPacket,
  InetAddress,
  InetAddressLike,
  string
> {
  /**
   * Create a UDP socket and bind it. Every argument is checked before any socket exists.
   * @param local - `{ address, port }` (port 0: the kernel picks one; `getLocalName()` says which)
   * @param protocol - how packets are encoded
   * @param options - receive buffer size, a signal that closes it
   * @returns the bound endpoint
   * @throws `'EADDRINUSE'`, `'EADDRNOTAVAIL'`, `'EACCES'` (a port below 1024), … with
   * `syscall` and `address`; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` /
   * `ERR_OUT_OF_RANGE` for bad arguments; an `AbortError` if the signal is already aborted
   */
  // `override`: a class's static `bind` shadows Function.prototype.bind of its base.
  static override async bind<S, R>(
    local: InetAddressLike,
    protocol: DatagramProtocol<S, R>,
    options: UdpBindOptions = {},
  ): Promise<UdpEndpoint<S, R>> {
    const raw = encodeInetAddress(local, 'local');
    checkProtocol(protocol);
    checkOptions(options, UDP_OPTION_NAMES.bind);
    const signal = checkSignal(options.signal);
    const receiveBufferSize = receiveBufferSizeOf(options);
    const busyPoll = busyPollOf(options);
    const codec = codecOf(protocol);
    const result = new UdpEndpoint(udpEndpoint(endpointOptions(codec, busyPoll), isIPv6(local), raw, receiveBufferSize), codec);
    if (signal) result._life.closeOn(signal, () => result.close());
    return result;
  }

  /**
   * Take over an existing UDP socket (`AF_INET` or `AF_INET6`, `SOCK_DGRAM`), e.g. one
   * systemd passed (`listenFds()`). The endpoint owns it from now on. The arguments are
   * checked before the descriptor is touched, and on every failure it is left open and yours.
   * @param fd - the descriptor
   * @param protocol - how packets are encoded
   * @param options - busy polling (adaptive by default, as a bound endpoint), a signal that closes it
   * @returns the endpoint
   * @throws `ERR_UNIXGRAM_NOT_UNIX_DGRAM` (not a socket of that kind); `ERR_INVALID_ARG_TYPE`
   * / `ERR_OUT_OF_RANGE` for bad arguments; an `AbortError` if the signal is already aborted
   */
  static fromFd<S, R>(fd: number, protocol: DatagramProtocol<S, R>, options: UdpFromFdOptions = {}): UdpEndpoint<S, R> {
    checkFd(fd);
    checkProtocol(protocol);
    checkOptions(options, UDP_OPTION_NAMES.fromFd);
    const signal = checkSignal(options.signal);
    const busyPoll = busyPollOf(options);
    const codec = codecOf(protocol);
    const result = new UdpEndpoint(
      Endpoint.adopt<string>(fd, endpointOptions(codec, busyPoll), (e) => e.receiveUdp(), UDP_KINDS),
      codec,
    );
    if (signal) result._life.closeOn(signal, () => result.close());
    return result;
  }

  private constructor(endpoint: Endpoint<string>, codec: Codec<SentPacket, ReceivedPacket>) {
    super(endpoint, codec, undefined, INET_FORMS);
  }

  /**
   * The address and port the socket is bound to.
   * @returns the local address
   * @throws `ERR_UNIXGRAM_CLOSED`
   */
  getLocalName(): InetAddress {
    this._life.checkOpen();
    return decodeInetAddress(this._endpoint.localAddress());
  }
}

/** IP addresses: `{ address, port }` in, `{ address, family, port }` out. */
export const INET_FORMS: AddressForms<InetAddress, InetAddressLike> = {
  destination: (address, name) => new Peer(encodeInetAddress(address, name)),
  decode: (from) => from.inet,
  sender: (address) => Peer.ofInet(address),
  // Every UDP datagram has a sender.
  none: Object.freeze({ address: '0.0.0.0', family: 'IPv4', port: 0 }),
  ancillary: false,
};

/** How a UDP endpoint uses its socket. */
function endpointOptions(codec: Codec<unknown, unknown>, busyPoll: BusyPoll | undefined): EndpointOptions {
  return { addresses: true, text: codec.receivesText, keepAlive: 'waiting', connected: () => false, busyPoll };
}
