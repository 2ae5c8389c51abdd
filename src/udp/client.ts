/**
 * The UDP client: a connected UDP socket under the same API as the Unix datagram client.
 * @packageDocumentation
 */
import { busyPollOf, type BusyPoll } from '../busy-poll.js';
import { checkFd, checkOptions, checkSignal, checkSignalType } from '../checks.js';
import { AbortError } from '../errors.js';
import { ConnectedClient } from '../client/connected.js';
import { decodeInetAddress, encodeInetAddress, isIPv6, type InetAddress, type InetAddressLike } from '../inet/address.js';
import { Endpoint, type EndpointOptions } from '../lowlevel/endpoint.js';
import { codecOf, type Codec } from '../protocol/codec.js';
import { checkProtocol, type DatagramProtocol } from '../protocol/protocol.js';
import { receiveBufferSizeOf, UDP_OPTION_NAMES, type UdpConnectOptions, type UdpFromFdOptions } from './options.js';
import { UDP_KINDS, udpEndpoint } from './socket.js';

/**
 * A connected UDP socket (IPv4 or IPv6) that sends and receives packets through a
 * {@link DatagramProtocol}, with the calls of {@link UnixDatagramClient}. Datagrams are
 * received many per syscall (`recvmmsg`, and UDP GRO: a run the kernel coalesced is split
 * natively); `sendPackets` sends runs of equal-sized packets as one GSO message each
 * (`UDP_SEGMENT`), which the kernel cuts into the datagrams.
 *
 * Unlike a Unix socket, UDP may drop: a receiver whose buffer is full loses datagrams
 * (`socket.drops` counts them; `receiveBufferSize` makes room for bursts), and a send only
 * waits while this socket's own send buffer is full. Packets carry no descriptors or
 * credentials.
 *
 * @typeParam SentPacket - what this client sends
 * @typeParam ReceivedPacket - what it receives
 * @example
 * ```ts
 * const client = await UdpClient.connect({ address: '127.0.0.1', port: 8125 }, new DatagramProtocol(new StringSerializer()));
 * await client.sendPacket('requests:1|c');
 * await client.close();
 * ```
 */
export class UdpClient<SentPacket, ReceivedPacket> extends ConnectedClient<SentPacket, ReceivedPacket, string> {
  readonly #peer: InetAddress;

  /**
   * Connect to `remote` (a UDP "connection" only fixes the peer: nothing is sent). Every
   * argument is checked before any socket is created.
   * @param remote - `{ address, port }`, an IPv4 or IPv6 address (no host names)
   * @param protocol - how packets are encoded
   * @param options - local address, receive buffer size, a signal that closes the client
   * @returns the connected client
   * @throws `'EADDRINUSE'`, `'EADDRNOTAVAIL'`, `'ENETUNREACH'`, … with `syscall` and
   * `address`; `'ERR_INVALID_ARG_TYPE'` / `'ERR_INVALID_ARG_VALUE'` / `'ERR_OUT_OF_RANGE'`
   * for bad arguments; an `AbortError` if the signal is already aborted
   */
  static async connect<S, R>(
    remote: InetAddressLike,
    protocol: DatagramProtocol<S, R>,
    options: UdpConnectOptions = {},
  ): Promise<UdpClient<S, R>> {
    const peer = encodeInetAddress(remote, 'remote');
    checkProtocol(protocol);
    checkOptions(options, UDP_OPTION_NAMES.connect);
    const signal = checkSignalType(options.signal);
    const local = options.localAddress === undefined ? undefined : encodeInetAddress(options.localAddress, 'options.localAddress');
    const receiveBufferSize = receiveBufferSizeOf(options);
    const busyPoll = busyPollOf(options);
    if (signal?.aborted) throw new AbortError(signal.reason);
    const codec = codecOf(protocol);
    const ipv6 = isIPv6(remote) || (options.localAddress !== undefined && isIPv6(options.localAddress));
    const endpoint = udpEndpoint(endpointOptions(codec, busyPoll), ipv6, local, receiveBufferSize);
    try {
      endpoint.connect(peer);
    } catch (err) {
      endpoint.close();
      throw err;
    }
    const client = new UdpClient(endpoint, codec, decodeInetAddress(endpoint.peerAddress()));
    if (signal) client._life.closeOn(signal, () => client.close());
    return client;
  }

  /**
   * Take over an existing UDP socket (`AF_INET` or `AF_INET6`, `SOCK_DGRAM`), connected or
   * not, e.g. one systemd passed. The client owns it from now on. The arguments are checked
   * before the descriptor is touched, and on every failure it is left open and yours.
   * @param fd - the descriptor
   * @param protocol - how packets are encoded
   * @param options - busy polling (adaptive by default, as a connected client), a signal that closes it
   * @returns the client
   * @throws `ERR_UNIXGRAM_NOT_UNIX_DGRAM` (not a socket of that kind); `ERR_INVALID_ARG_TYPE`
   * / `ERR_OUT_OF_RANGE` for bad arguments; an `AbortError` if the signal is already aborted
   */
  static fromFd<S, R>(fd: number, protocol: DatagramProtocol<S, R>, options: UdpFromFdOptions = {}): UdpClient<S, R> {
    checkFd(fd);
    checkProtocol(protocol);
    checkOptions(options, UDP_OPTION_NAMES.fromFd);
    const signal = checkSignal(options.signal);
    const busyPoll = busyPollOf(options);
    const codec = codecOf(protocol);
    const endpoint = Endpoint.adopt<string>(fd, endpointOptions(codec, busyPoll), (e) => e.receiveUdp(), UDP_KINDS);
    let peer: InetAddress;
    try {
      peer = decodeInetAddress(endpoint.peerAddress());
    } catch {
      peer = decodeInetAddress(endpoint.localAddress());
    }
    const client = new UdpClient(endpoint, codec, peer);
    if (signal) client._life.closeOn(signal, () => client.close());
    return client;
  }

  private constructor(endpoint: Endpoint<string>, codec: Codec<SentPacket, ReceivedPacket>, peer: InetAddress) {
    super(endpoint, codec, undefined, false);
    this.#peer = peer;
  }

  /** The peer's address, as the kernel holds it (an IPv4 peer of an IPv6 socket is `::ffff:a.b.c.d`). */
  getPeerName(): InetAddress {
    this._life.checkOpen();
    return this.#peer;
  }

  /** The address and port this socket is bound to. */
  getLocalName(): InetAddress {
    this._life.checkOpen();
    return decodeInetAddress(this._endpoint.localAddress());
  }
}

/** How a UDP client uses its endpoint. */
function endpointOptions(codec: Codec<unknown, unknown>, busyPoll: BusyPoll | undefined): EndpointOptions {
  return { addresses: false, text: codec.receivesText, keepAlive: 'waiting', connected: () => true, busyPoll };
}
