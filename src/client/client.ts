/**
 * The Unix datagram client, modelled on easynetwork's `UnixDatagramClient`.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import { encodeAddress, decodeAddress, type AddressLike, type UnixAddress } from '../address.js';
import { checkAncillary, type SocketAncillary } from '../ancillary/ancillary.js';
import { checkFd, checkOptions, checkSignalType, checkTimeout, NO_OPTIONS } from '../checks.js';
import { AbortError, closedError, invalidArgType } from '../errors.js';
import { Endpoint, type EndpointOptions } from '../lowlevel/endpoint.js';
import type { RawDatagram } from '../lowlevel/receiver.js';
import { sendLimits, type SendLimits } from '../lowlevel/sender.js';
import { largePayloadsOf } from '../large-payloads.js';
import { Lifetime } from '../lowlevel/lifetime.js';
import { bindSocketFile, type SocketFile } from '../lowlevel/socket-file.js';
import type { SocketProxy } from '../lowlevel/socket-proxy.js';
import type { NativeDatagram } from '../native/binding.js';
import { codecOf, type Codec } from '../protocol/codec.js';
import { checkProtocol, type DatagramProtocol } from '../protocol/protocol.js';
import { iteratePackets, PacketIterator, receivePacket } from '../lowlevel/iterator.js';
import {
  OPTION_NAMES,
  type ConnectOptions,
  type FromFdOptions,
  type IterOptions,
  type RecvOptions,
  type SendManyOptions,
  type SendOptions,
} from './options.js';
import { receiveSync, sendSync, type SyncRecvOptions, type SyncSendOptions } from './sync.js';

export type { ConnectOptions, FromFdOptions, SendOptions, SendManyOptions, RecvOptions, IterOptions } from './options.js';

/**
 * A connected Unix datagram socket that sends and receives packets through a
 * {@link DatagramProtocol}.
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
export class UnixDatagramClient<SentPacket, ReceivedPacket> {
  readonly #endpoint: Endpoint;
  readonly #codec: Codec<SentPacket, ReceivedPacket>;
  readonly #peer: UnixAddress;
  /** The endpoint, the socket file `connect` bound (a `localAddress` path) and the signal. */
  readonly #life: Lifetime;

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
    const codec = codecOf(protocol);
    const endpoint = Endpoint.create(endpointOptions(codec, large));
    let file: SocketFile | undefined;
    try {
      if (options.passCredentials) endpoint.passCredentials();
      if (options.passPidfd) endpoint.passPidfd();
      if (local !== null && local.length > 0 && local[0] !== 0)
        file = bindSocketFile(endpoint, (decodeAddress(local) as { path: string }).path, {});
      else if (local !== null) endpoint.bind(local);
      endpoint.connect(remote);
    } catch (err) {
      new Lifetime(endpoint, file).end();
      throw err;
    }
    const client = new UnixDatagramClient(endpoint, codec, decodeAddress(remote), file);
    if (signal) client.#life.closeOn(signal, () => client.close());
    return client;
  }

  /**
   * Take over an existing `AF_UNIX` `SOCK_DGRAM` socket, e.g. one inherited from a parent
   * process. The client owns it from now on and closes it. The arguments are checked before
   * the descriptor is touched, and on every failure the descriptor is left open and yours.
   * @param fd - the descriptor
   * @param protocol - how packets are encoded
   * @param options - `largePayloads`, `maxPayloadSize`, `passPidfd`
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
    const codec = codecOf(protocol);
    const endpoint = Endpoint.adopt(fd, endpointOptions(codec, large), (e) => {
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
   * @param options - `largePayloads`, `maxPayloadSize`, `passPidfd`, for both ends
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
    const codec = codecOf(protocol);
    const [a, b] = Endpoint.pair(endpointOptions(codec, large));
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
    this.#endpoint = endpoint;
    this.#life = new Lifetime(endpoint, file);
    this.#codec = codec;
    this.#peer = peer;
  }

  /** The peer's address, as given to `connect` (`{ unnamed: true }` for a socketpair). */
  getPeerName(): UnixAddress {
    this.#life.checkOpen();
    return this.#peer;
  }

  /** The address this socket is bound to. */
  getLocalName(): UnixAddress {
    this.#life.checkOpen();
    return decodeAddress(this.#endpoint.localAddress());
  }

  /** Low-level socket access: descriptor and options. */
  get socket(): SocketProxy {
    this.#life.checkOpen();
    return this.#endpoint.proxy;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#endpoint.closed;
  }

  /**
   * Send one packet. Resolves once the datagram is queued in the kernel. While the peer's
   * queue is full it waits (never drops, never spins, never blocks the loop), until
   * `options.signal` aborts or `options.timeout` seconds pass: then it rejects and the
   * datagram is never sent. A datagram bigger than `SO_SNDBUF` allows raises it first.
   * @param packet - what to send
   * @param options - ancillary data to send with it; `signal`, `timeout` (seconds) for the wait
   * @throws `'ECONNREFUSED'` (the peer is gone), `'ENOTCONN'` (gone earlier: `reconnect()`),
   * `'EMSGSIZE'` (bigger than the system allows, limit in the message), `'ERR_UNIXGRAM_CLOSED'`,
   * {@link AbortError} (`'ABORT_ERR'`), {@link TimeoutError} (`'ETIMEDOUT'`)
   */
  sendPacket(packet: SentPacket, options?: SendOptions): Promise<void> {
    let data: NativeDatagram;
    let ancillary: SocketAncillary | undefined;
    let limits: SendLimits | undefined;
    try {
      if (options !== undefined) {
        checkOptions(options, OPTION_NAMES.send);
        limits = sendLimits(options);
        ancillary = checkAncillary(options.ancillary);
      }
      // A text serializer's text goes straight into the send: no Buffer per packet.
      data = this.#codec.encode(packet);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#endpoint.send(data, null, ancillary?._toSend() ?? null, limits);
  }

  /**
   * Send many packets with as few syscalls as possible (`sendmmsg`, up to 1024 datagrams
   * each), in order, each with its own optional ancillary data. Resolves once all are
   * queued in the kernel; while the peer's queue is full it waits, as {@link sendPacket}.
   * Every packet is serialized and checked before the first is sent.
   * @param packets - what to send
   * @param options - `ancillary[i]` goes with the i-th packet; `signal`, `timeout` (seconds) for the waits
   * @throws as {@link sendPacket}; the error's `sent` says how many packets went out before
   * it (the rest are never sent)
   */
  sendPackets(packets: Iterable<SentPacket>, options?: SendManyOptions): Promise<void> {
    let datas: Array<Buffer | Buffer[]>;
    let extras: ReturnType<SocketAncillary['_toSend']>[] | null = null;
    let limits: SendLimits | undefined;
    try {
      checkOptions(options, OPTION_NAMES.sendMany);
      if (options !== undefined) limits = sendLimits(options);
      if (packets === null || typeof packets[Symbol.iterator] !== 'function') {
        throw invalidArgType('packets', 'an iterable of packets', packets);
      }
      const codec = this.#codec;
      datas = Array.from(packets, (packet) => codec.encodeBytes(packet));
      const list = options?.ancillary;
      if (list !== undefined) {
        extras = datas.map((_, i) => checkAncillary(list[i] ?? undefined, `options.ancillary[${i}]`)?._toSend() ?? null);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const { done, sent } = this.#endpoint.sendMany(datas, extras, limits);
    return done.catch((err: unknown) => {
      throw withSent(err, sent());
    });
  }

  /**
   * Receive the next packet.
   * @param options - timeout (seconds), abort signal, ancillary data sink
   * @returns the parsed packet
   * @throws {@link TimeoutError} (`'ETIMEDOUT'`), {@link AbortError} (`'ABORT_ERR'`),
   * `DatagramProtocolParseError` (the client keeps working), `'ERR_UNIXGRAM_TRUNCATED'`,
   * `'ERR_UNIXGRAM_CLOSED'`
   */
  recvPacket(options: RecvOptions = NO_OPTIONS): Promise<ReceivedPacket> {
    let timeout: number | null;
    let signal: AbortSignal | undefined;
    let ancillary: SocketAncillary | undefined;
    try {
      if (options !== NO_OPTIONS) checkOptions(options, OPTION_NAMES.recv);
      timeout = checkTimeout(options.timeout);
      signal = checkSignalType(options.signal);
      ancillary = checkAncillary(options.ancillary);
      this.#life.checkOpen();
      if (signal?.aborted) throw new AbortError(signal.reason);
    } catch (err) {
      return Promise.reject(err);
    }
    return receivePacket(this.#endpoint, timeout, signal, (raw) => this.#unpack(raw, ancillary));
  }

  /**
   * Yield packets as they arrive, easynetwork-style: everything already queued (timeout 0,
   * the default) or arriving within `timeout` seconds of waiting in all, then end. Ends too
   * when the client is closed during the iteration; starting one on a closed client throws
   * `ERR_UNIXGRAM_CLOSED` from its first `next()`. Parse errors reject `next()` and end the
   * iteration; so does `options.signal` aborting (with an `AbortError`, no datagram taken).
   * @param options - the waiting budget (seconds), a signal that ends it
   * @returns an async iterator of packets
   * @example
   * ```ts
   * for await (const packet of client.iterReceivedPackets({ timeout: 1 })) console.log(packet);
   * ```
   */
  iterReceivedPackets(options: IterOptions = {}): AsyncIterableIterator<ReceivedPacket, undefined, undefined> {
    checkOptions(options, OPTION_NAMES.iter);
    const budget = checkTimeout(options.timeout === undefined ? 0 : options.timeout);
    const signal = checkSignalType(options.signal);
    if (this.closed) return PacketIterator.failed(closedError());
    return iteratePackets(this.#endpoint, budget, signal, (raw) => this.#unpack(raw, undefined));
  }

  /**
   * `for await (const packet of client)`: every packet, as they arrive, until the client is
   * closed (`iterReceivedPackets({ timeout: null })`).
   * @returns an async iterator of packets
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<ReceivedPacket, undefined, undefined> {
    return this.iterReceivedPackets({ timeout: null });
  }

  /**
   * Connect again to the same address: after the peer restarted, the kernel has dropped the
   * old association and sends fail with `ENOTCONN`.
   * @throws `'ENOENT'` / `'ECONNREFUSED'` if it is not back yet
   */
  async reconnect(): Promise<void> {
    this.#life.checkOpen();
    this.#endpoint.reconnect();
  }

  /**
   * A new descriptor for this socket, to hand to another process (`child_process.spawn`'s
   * `stdio`, which clears close-on-exec in the child) or to send as an fd over another
   * socket. The client keeps its own descriptor and keeps working. Both share one open file
   * description, so the duplicate is non-blocking (`O_NONBLOCK`) as well: a program that
   * wants blocking calls on it turns that off (Python: `sock.setblocking(True)`), which
   * unixgram does not mind.
   * @returns a close-on-exec fd that you own and must close
   * @throws `'ERR_UNIXGRAM_CLOSED'`
   * @example
   * ```ts
   * const fd = client.dupFd();
   * spawn(process.execPath, ['child.js'], { stdio: ['inherit', 'inherit', 'inherit', fd] }); // fd 3 there
   * fs.closeSync(fd);
   * ```
   */
  dupFd(): number {
    this.#life.checkOpen();
    return this.#endpoint.dupFd();
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
    return this.#unpack(receiveSync(this.#endpoint, timeout), ancillary);
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
    this.#life.checkOpen();
    sendSync(this.#endpoint, this.#codec.encode(packet), ancillary?._toSend() ?? null, timeout);
  }

  /** Let the process exit even while a receive is pending. @returns this */
  unref(): this {
    this.#endpoint.setRef(false);
    return this;
  }

  /** Undo {@link unref}: a pending receive keeps the process alive. @returns this */
  ref(): this {
    this.#endpoint.setRef(true);
    return this;
  }

  /**
   * Close the socket. Pending receives and queued sends reject with `ERR_UNIXGRAM_CLOSED`;
   * descriptors received but not handed out are closed; a socket file `connect` bound is
   * unlinked. Calling it again does nothing.
   */
  async close(): Promise<void> {
    this.#life.end();
  }

  /** `await using client = …` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * The packet in `raw`; its descriptors go to `ancillary`, or are closed (also when it
   * carries an error or fails to parse).
   */
  #unpack(raw: RawDatagram, ancillary: SocketAncillary | undefined): ReceivedPacket {
    if (raw.error) {
      raw.fds?.close();
      throw raw.error;
    }
    let packet: ReceivedPacket;
    try {
      packet = this.#codec.decode(raw.data);
    } catch (err) {
      raw.fds?.close();
      throw err;
    }
    if (ancillary) ancillary._receive(raw.fds, raw.credentials);
    else raw.fds?.close();
    return packet;
  }
}

/** How a client uses its endpoint. */
function endpointOptions(codec: Codec<unknown, unknown>, largePayloads: EndpointOptions['largePayloads']): EndpointOptions {
  return { addresses: false, text: codec.receivesText, keepAlive: 'waiting', connected: () => true, largePayloads };
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

/** `err` with `sent`: how many packets of a `sendPackets` call went out before it. */
function withSent(err: unknown, sent: number): unknown {
  if (typeof err === 'object' && err !== null) (err as { sent?: number }).sent = sent;
  return err;
}
