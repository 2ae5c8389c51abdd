/**
 * The UDP server: a handler per sender address, as the Unix datagram server, on a bound UDP
 * socket (`socketserver.UDPServer`'s model, with the Unix server's concurrency).
 * @packageDocumentation
 */
import { busyPollOf, type BusyPoll } from '../busy-poll.js';
import { checkFd, checkOptions, checkSignal } from '../checks.js';
import { invalidArgType } from '../errors.js';
import { decodeInetAddress, encodeInetAddress, isIPv6, type InetAddress, type InetAddressLike } from '../inet/address.js';
import { Endpoint, type EndpointOptions } from '../lowlevel/endpoint.js';
import type { SocketProxy } from '../lowlevel/socket-proxy.js';
import { codecOf, type Codec } from '../protocol/codec.js';
import { checkProtocol, type DatagramProtocol } from '../protocol/protocol.js';
import { DatagramServer, type ErrorHook, type SenderForms } from '../server/base.js';
import type { UnixDatagramServerClient } from '../server/client.js';
import { checkHandler, type RequestHandler } from '../server/handler.js';
import { receiveBufferSizeOf, type UdpSocketOptions } from './options.js';
import { UDP_KINDS, udpEndpoint } from './socket.js';

/** A sender of a {@link UdpServer}, as its handler sees it: `address` is `{ address, family, port }`. */
export type UdpServerClient<SentPacket> = UnixDatagramServerClient<SentPacket, InetAddress>;

/** Options of `UdpServer.listen` and `UdpServer.fromFd`. */
export interface UdpServerOptions<SentPacket> extends UdpSocketOptions {
  /**
   * Called with what a handler threw, a datagram that failed to parse or a receive error;
   * the server keeps serving. Default: `console.error` with the sender's address.
   */
  onError?: (error: unknown, client: UdpServerClient<SentPacket> | undefined) => void;
}

/** The option names `UdpServer`'s factories take. */
const LISTEN_OPTION_NAMES = ['receiveBufferSize', 'onError', 'signal', 'busyPoll'] as const;

/** `host:port`, `[v6]:port`. */
function formatInet(address: InetAddress): string {
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

/** UDP senders: every datagram has an address. */
const INET_SENDERS: SenderForms<InetAddress> = {
  decode: (from) => from.inet,
  none: Object.freeze({ address: '0.0.0.0', family: 'IPv4', port: 0 }),
  format: formatInet,
  ancillary: false,
};

/**
 * A server on one UDP socket: each sender address (IP and port) gets its own handler run,
 * so handlers of different senders run concurrently while packets of one sender are handled
 * in order, with the handler forms of {@link UnixDatagramServer}. Datagrams are received
 * many per syscall (`recvmmsg`, GRO). UDP may drop what arrives while the receive buffer is
 * full (`receiveBufferSize` makes room; `socket.drops` counts what was lost), and
 * `MAX_QUEUED_PER_CLIENT` packets queued for one sender stop reading as on the Unix server.
 *
 * @typeParam SentPacket - what the server sends (replies)
 * @typeParam ReceivedPacket - what it receives (requests)
 * @example
 * ```ts
 * const server = await UdpServer.listen({ address: '127.0.0.1', port: 5353 }, new DatagramProtocol(new JSONSerializer()),
 *   async (request, client) => {
 *     await client.sendPacket({ echo: request });
 *   });
 * await server.serveForever(); // until server.close()
 * ```
 */
export class UdpServer<SentPacket, ReceivedPacket> extends DatagramServer<SentPacket, ReceivedPacket, InetAddress, string> {
  /**
   * Bind `local` and start serving. Every argument is checked before any socket exists.
   * @param local - `{ address, port }` (port 0: the kernel picks one; `getLocalName()` says which)
   * @param protocol - how packets are encoded
   * @param handler - `async (packet, client) => …` per packet, or `{ async *handle(client) { … } }` per conversation
   * @param options - receive buffer size, error hook, a signal that closes the server
   * @returns the serving server
   * @throws `'EADDRINUSE'`, `'EACCES'`, … with `syscall` and `address`; `ERR_INVALID_ARG_TYPE`
   * / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments; an `AbortError` if the
   * signal is already aborted
   */
  static async listen<S, R>(
    local: InetAddressLike,
    protocol: DatagramProtocol<S, R>,
    handler: NoInfer<RequestHandler<S, R, InetAddress>>,
    options: UdpServerOptions<NoInfer<S>> = {},
  ): Promise<UdpServer<S, R>> {
    const raw = encodeInetAddress(local, 'local');
    checkProtocol(protocol);
    checkHandler(handler);
    checkOptions(options, LISTEN_OPTION_NAMES);
    const onError = onErrorOf(options);
    const signal = checkSignal(options.signal);
    const receiveBufferSize = receiveBufferSizeOf(options);
    const busyPoll = busyPollOf(options);
    const codec = codecOf(protocol);
    let server: UdpServer<S, R> | undefined;
    const endpoint = udpEndpoint(
      endpointOptions(codec, () => server?._pump(), busyPoll),
      isIPv6(local),
      raw,
      receiveBufferSize,
    );
    try {
      server = new UdpServer(endpoint, codec, handler, onError);
    } catch (err) {
      endpoint.close();
      throw err;
    }
    const made = server;
    if (signal) made._life.closeOn(signal, () => made.close());
    return made;
  }

  /**
   * Serve on an existing bound UDP socket, e.g. one systemd passed (`listenFds()`). The
   * server owns it from now on. The arguments are checked before the descriptor is touched,
   * and on every failure it is left open and yours.
   * @param fd - the descriptor
   * @param protocol - how packets are encoded
   * @param handler - as for {@link listen}
   * @param options - error hook, a signal that closes the server, `busyPoll`
   * @returns the serving server
   * @throws `ERR_UNIXGRAM_NOT_UNIX_DGRAM` (not a UDP socket); `ERR_INVALID_ARG_TYPE` /
   * `ERR_OUT_OF_RANGE` for bad arguments
   */
  static fromFd<S, R>(
    fd: number,
    protocol: DatagramProtocol<S, R>,
    handler: NoInfer<RequestHandler<S, R, InetAddress>>,
    options: Omit<UdpServerOptions<NoInfer<S>>, 'receiveBufferSize'> = {},
  ): UdpServer<S, R> {
    checkFd(fd);
    checkProtocol(protocol);
    checkHandler(handler);
    checkOptions(options, ['onError', 'signal', 'busyPoll']);
    const onError = onErrorOf(options);
    const signal = checkSignal(options.signal);
    const busyPoll = busyPollOf(options);
    const codec = codecOf(protocol);
    let server: UdpServer<S, R> | undefined;
    Endpoint.adopt<string>(
      fd,
      endpointOptions(codec, () => server?._pump(), busyPoll),
      (endpoint) => {
        endpoint.receiveUdp();
        server = new UdpServer(endpoint, codec, handler, onError);
      },
      UDP_KINDS,
    );
    const made = server as unknown as UdpServer<S, R>;
    if (signal) made._life.closeOn(signal, () => made.close());
    return made;
  }

  private constructor(
    endpoint: Endpoint<string>,
    codec: Codec<SentPacket, ReceivedPacket>,
    handler: RequestHandler<SentPacket, ReceivedPacket, InetAddress>,
    onError: UdpServerOptions<SentPacket>['onError'],
  ) {
    const local = decodeInetAddress(endpoint.localAddress());
    const hook: ErrorHook<SentPacket, InetAddress> =
      onError ??
      ((err, client) =>
        console.error(`unixgram UDP server ${formatInet(local)}: error from ${client ? formatInet(client.address) : 'the socket'}:`, err));
    super(endpoint, codec, handler, undefined, INET_SENDERS, hook);
  }

  /** Low-level access: the descriptor (still the server's), socket options and `drops`. */
  get socket(): SocketProxy {
    this._life.checkOpen();
    return this._endpoint.proxy;
  }

  /** The address and port the server is bound to. */
  getLocalName(): InetAddress {
    this._life.checkOpen();
    return decodeInetAddress(this._endpoint.localAddress());
  }
}

/** `options.onError`, checked. */
function onErrorOf<S>(options: { onError?: unknown }): UdpServerOptions<S>['onError'] {
  const { onError } = options;
  if (onError !== undefined && typeof onError !== 'function') throw invalidArgType('options.onError', 'a function', onError);
  return onError as UdpServerOptions<S>['onError'];
}

/** How a UDP server uses its socket. */
function endpointOptions(codec: Codec<unknown, unknown>, pump: () => void, busyPoll: BusyPoll | undefined): EndpointOptions {
  return { addresses: true, text: codec.receivesText, keepAlive: 'open', connected: () => false, onReceived: pump, busyPoll };
}
