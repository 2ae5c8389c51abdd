/**
 * The Unix datagram client, modelled on easynetwork's `UnixDatagramClient`.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import { encodeAddress, decodeAddress, type AddressLike, type UnixAddress } from '../address.js';
import { checkAncillary } from '../ancillary/ancillary.js';
import { checkFd, checkOptions, checkSignal, checkSignalType, checkTimeout } from '../checks.js';
import { AbortError, invalidArgValue } from '../errors.js';
import { Endpoint, type EndpointOptions } from '../lowlevel/endpoint.js';
import { ConnectedClient } from './connected.js';
import { receiveOptionsOf, type ReceiveOptions } from '../receive-options.js';
import { largePayloadsOf } from '../large-payloads.js';
import { openBound } from '../lowlevel/open-bound.js';
import { checkRemoveStale, type SocketFile } from '../lowlevel/socket-file.js';
import { codecOf, type Codec } from '../protocol/codec.js';
import { checkProtocol, type DatagramProtocol } from '../protocol/protocol.js';
import { OPTION_NAMES, type ConnectOptions, type FromFdOptions } from './options.js';
import type { BindOptions } from '../endpoint/options.js';
import { receiveSync, sendSync, type SyncRecvOptions, type SyncSendOptions } from './sync.js';

export type { ConnectOptions, FromFdOptions, SendOptions, SendManyOptions, RecvOptions, IterOptions } from './options.js';

/**
 * A connected Unix datagram socket that sends and receives packets through a
 * {@link DatagramProtocol}; or, made by {@link UnixDatagramClient.bind}, a receive-only one
 * bound at a well-known path that gets packets from anyone without their addresses.
 *
 * Concurrency: concurrent `recvPacket` calls are served in call order, each datagram to
 * exactly one caller; concurrent `sendPacket` calls go out in call order. Receiving is
 * driven by Node's own event loop; nothing is read while nobody waits, so a slow consumer
 * leaves datagrams in the kernel queue and the sender waits (backpressure).
 *
 * @typeParam SentPacket - what this client sends
 * @typeParam ReceivedPacket - what it receives
 * @example
 * ```ts
 * const client = await UnixDatagramClient.connect('/run/app.sock', new DatagramProtocol(new JSONSerializer()));
 * await client.sendPacket({ data: 42 });
 * const reply = await client.recvPacket({ timeout: 5 }); // seconds
 * await client.close();
 * ```
 */
export class UnixDatagramClient<SentPacket, ReceivedPacket> extends ConnectedClient<SentPacket, ReceivedPacket, Buffer> {
  readonly #peer: UnixAddress;

  /**
   * Connect to `address`. The socket is bound first (see {@link ConnectOptions.localAddress}).
   * Every argument is checked before any socket is created.
   * @param address - a path, `'\0name'`, or a {@link UnixAddress}
   * @param protocol - how packets are encoded
   * @param options - local address, credentials, a signal that closes the client
   * @returns the connected client
   * @throws an error with `code` `'ENOENT'` (nothing there), `'ECONNREFUSED'` (a file but no
   * socket behind it), `'EACCES'`, `'ENAMETOOLONG'`, … and `syscall`, `address`;
   * `'ERR_INVALID_ARG_TYPE'` / `'ERR_INVALID_ARG_VALUE'` for bad arguments; an `AbortError`
   * if the signal is already aborted
   */
  static async connect<S, R>(
    address: AddressLike,
    protocol: DatagramProtocol<S, R>,
    options: ConnectOptions = {},
  ): Promise<UnixDatagramClient<S, R>> {
    const remote = encodeAddress(address);
    checkProtocol(protocol);
    checkOptions(options, OPTION_NAMES.connect);
    const signal = checkSignalType(options.signal);
    if (signal?.aborted) throw new AbortError(signal.reason);
    const local = localAddressOf(options);
    const large = largePayloadsOf(options);
    const receive = receiveOptionsOf(options);
    const codec = codecOf(protocol);
    const { endpoint, file } = openBound(
      () => Endpoint.create(endpointOptions(codec, large, receive)),
      local,
      options,
      (e) => e.connect(remote),
    );
    const client = new UnixDatagramClient(endpoint, codec, decodeAddress(remote), file);
    if (signal) client._life.closeOn(signal, () => client.close());
    return client;
  }

  /**
   * Bind a socket at `address` and connect it to nobody: a client that only receives, from
   * anyone, without being told who sent what. This is the fastest receive there is: the
   * kernel copies no sender's address out per datagram (an endpoint's does; measured in
   * bench/README.md). For a sink, such as a metrics or log collector at a well-known path.
   * It cannot send (`sendPacket` rejects with `'ENOTCONN'`): to answer senders, bind a
   * `UnixDatagramEndpoint` or serve a `UnixDatagramServer`. Its socket file is unlinked on
   * close. Every argument is checked before any socket is created.
   * @param address - a path, or `'\0name'` / `{ abstract }` for an abstract name
   * @param protocol - how packets are encoded
   * @param options - mode and stale-file policy of a path, credentials, a signal that closes it
   * @returns the bound client
   * @throws `EADDRINUSE` (with the reason), `EACCES`, `ENOENT`, `ENAMETOOLONG`, …;
   * `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for bad arguments (an unnamed address);
   * an `AbortError` if the signal is already aborted
   * @example
   * ```ts
   * const sink = await UnixDatagramClient.bind('/run/metrics.sock', protocol, { mode: 0o660, removeStale: true });
   * for await (const packet of sink) record(packet);
   * ```
   */
  // `override`: a class's static `bind` shadows Function.prototype.bind of its base.
  static override async bind<S, R>(
    address: AddressLike,
    protocol: DatagramProtocol<S, R>,
    options: BindOptions = {},
  ): Promise<UnixDatagramClient<S, R>> {
    const raw = encodeAddress(address);
    if (raw.length === 0)
      throw invalidArgValue('address', 'must name the socket (a path or an abstract name): nobody can send to an unnamed one', address);
    checkProtocol(protocol);
    checkOptions(options, OPTION_NAMES.bind);
    const signal = checkSignal(options.signal);
    checkRemoveStale(raw, options.removeStale);
    const large = largePayloadsOf(options);
    const receive = receiveOptionsOf(options);
    const codec = codecOf(protocol);
    const { endpoint, file } = openBound(() => Endpoint.create(endpointOptions(codec, large, receive)), raw, options);
    const client = new UnixDatagramClient(endpoint, codec, { unnamed: true }, file);
    if (signal) client._life.closeOn(signal, () => client.close());
    return client;
  }

  /**
   * Take over an existing `AF_UNIX` `SOCK_DGRAM` socket, e.g. one inherited from a parent
   * process. The client owns it from now on and closes it. The arguments are checked before
   * the descriptor is touched, and on every failure the descriptor is left open and yours.
   * @param fd - the descriptor
   * @param protocol - how packets are encoded
   * @param options - `largePayloads`, `maxPayloadSize`, `passPidfd`, `reuseReceiveBuffer`, `busyPoll`
   * @returns the client
   * @throws `ERR_UNIXGRAM_NOT_UNIX_DGRAM` if `fd` is not such a socket;
   * `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for bad arguments; `ERR_UNIXGRAM_UNSUPPORTED`
   * for `passPidfd` where the kernel lacks it
   */
  static fromFd<S, R>(fd: number, protocol: DatagramProtocol<S, R>, options: FromFdOptions = {}): UnixDatagramClient<S, R> {
    checkFd(fd);
    checkProtocol(protocol);
    checkOptions(options, OPTION_NAMES.adopt);
    const large = largePayloadsOf(options);
    const receive = receiveOptionsOf(options);
    const codec = codecOf(protocol);
    const endpoint = Endpoint.adopt(fd, endpointOptions(codec, large, receive), (e) => {
      if (options.passPidfd) e.passPidfd();
    });
    let peer: UnixAddress;
    try {
      peer = decodeAddress(endpoint.peerAddress());
    } catch {
      peer = { unnamed: true };
    }
    return new UnixDatagramClient(endpoint, codec, peer);
  }

  /**
   * Two clients connected to each other (`socketpair`), e.g. to hand one to a child process.
   * @param protocol - how packets are encoded, for both ends
   * @param options - `largePayloads`, `maxPayloadSize`, `passPidfd`, `reuseReceiveBuffer`, `busyPoll`, for both ends
   * @returns both ends
   * @throws `ERR_INVALID_ARG_TYPE` for a protocol that is not a {@link DatagramProtocol} (before any socket exists);
   * `ERR_UNIXGRAM_UNSUPPORTED` for `passPidfd` where the kernel lacks it
   */
  static socketpair<S, R>(
    protocol: DatagramProtocol<S, R>,
    options: FromFdOptions = {},
  ): [UnixDatagramClient<S, R>, UnixDatagramClient<S, R>] {
    checkProtocol(protocol);
    checkOptions(options, OPTION_NAMES.adopt);
    const large = largePayloadsOf(options);
    const receive = receiveOptionsOf(options);
    const codec = codecOf(protocol);
    const [a, b] = Endpoint.pair(endpointOptions(codec, large, receive));
    try {
      if (options.passPidfd) for (const end of [a, b]) end.passPidfd();
    } catch (err) {
      a.close();
      b.close();
      throw err;
    }
    return [new UnixDatagramClient(a, codec, { unnamed: true }), new UnixDatagramClient(b, codec, { unnamed: true })];
  }

  private constructor(endpoint: Endpoint, codec: Codec<SentPacket, ReceivedPacket>, peer: UnixAddress, file?: SocketFile) {
    super(endpoint, codec, file);
    this.#peer = peer;
  }

  /** The peer's address, as given to `connect` (`{ unnamed: true }` for a socketpair, and for a client made by {@link bind}, which has none). */
  getPeerName(): UnixAddress {
    this._life.checkOpen();
    return this.#peer;
  }

  /** The address this socket is bound to. */
  getLocalName(): UnixAddress {
    this._life.checkOpen();
    return decodeAddress(this._endpoint.localAddress());
  }

  /**
   * Connect again to the same address: after the peer restarted, the kernel has dropped the
   * old association and sends fail with `ENOTCONN`.
   * @throws `'ENOENT'` / `'ECONNREFUSED'` if it is not back yet
   */
  async reconnect(): Promise<void> {
    this._life.checkOpen();
    this._endpoint.reconnect();
  }

  /**
   * Receive the next packet, blocking the calling thread (for scripts, CLIs and worker
   * threads). Packets already delivered to this client come first, in order.
   * @param options - timeout (seconds; `0` = only what is queued; default: no limit), ancillary data sink
   * @returns the parsed packet
   * @throws `'ERR_UNIXGRAM_BUSY'` while a `recvPacket()` is pending on this client,
   * {@link TimeoutError} (`'ETIMEDOUT'`), `DatagramProtocolParseError`, `'ERR_UNIXGRAM_CLOSED'`
   */
  recvPacketSync(options: SyncRecvOptions = {}): ReceivedPacket {
    checkOptions(options, OPTION_NAMES.recvSync);
    const timeout = checkTimeout(options.timeout);
    const ancillary = checkAncillary(options.ancillary);
    return this._unpack(receiveSync(this._endpoint, timeout), ancillary);
  }

  /**
   * Send one packet, blocking the calling thread while the peer's queue is full (never
   * dropping it).
   * @param packet - what to send
   * @param options - ancillary data, timeout (seconds; `0` = only if there is room now; default: no limit)
   * @throws `'ERR_UNIXGRAM_BUSY'` while `sendPacket()` calls are queued on this client,
   * {@link TimeoutError} (`'ETIMEDOUT'`, nothing was sent), and as {@link sendPacket}
   */
  sendPacketSync(packet: SentPacket, options: SyncSendOptions = {}): void {
    checkOptions(options, OPTION_NAMES.sendSync);
    const timeout = checkTimeout(options.timeout);
    const ancillary = checkAncillary(options.ancillary);
    this._life.checkOpen();
    sendSync(this._endpoint, this._codec.encode(packet), ancillary?._toSend() ?? null, timeout);
  }
}

/** How a client uses its endpoint. */
function endpointOptions(
  codec: Codec<unknown, unknown>,
  largePayloads: EndpointOptions['largePayloads'],
  receive: ReceiveOptions,
): EndpointOptions {
  return { addresses: false, text: codec.receivesText, keepAlive: 'waiting', connected: () => true, largePayloads, ...receive };
}

/**
 * Where `connect` binds, checked: `sun_path` bytes (empty: autobind, the default on Linux,
 * so the peer can answer; macOS and FreeBSD have no autobind), or null to stay unnamed.
 */
function localAddressOf(options: ConnectOptions): Buffer | null {
  if (options.localAddress === undefined) return process.platform === 'linux' ? Buffer.alloc(0) : null;
  if (options.localAddress === null) return null;
  return encodeAddress(options.localAddress, 'localAddress');
}
