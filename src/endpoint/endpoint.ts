/**
 * The unconnected endpoint: one socket that receives from anyone and sends to any address,
 * as Python's `sendto`/`recvfrom`, Go's `ListenUnixgram` and tokio's `send_to`/`recv_from`.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import { decodeAddress, encodeAddress, type AddressLike, type UnixAddress } from '../address.js';
import { checkAncillary, SocketAncillary } from '../ancillary/ancillary.js';
import { checkFd, checkOptions, checkSignal, checkSignalType, checkTimeout, NO_OPTIONS } from '../checks.js';
import { AbortError, closedError, codedError, ErrorCodes, invalidArgType, invalidArgValue } from '../errors.js';
import type { IterOptions } from '../client/options.js';
import { Endpoint, type EndpointOptions } from '../lowlevel/endpoint.js';
import type { Destination } from '../lowlevel/peer-sends.js';
import { iteratePackets, PacketIterator, receivePacket } from '../lowlevel/iterator.js';
import { Peer, type RawDatagram } from '../lowlevel/receiver.js';
import { sendLimits, type SendLimits } from '../lowlevel/sender.js';
import { largePayloadsOf } from '../large-payloads.js';
import { Lifetime } from '../lowlevel/lifetime.js';
import { bindSocketFile, type SocketFile } from '../lowlevel/socket-file.js';
import type { SocketProxy } from '../lowlevel/socket-proxy.js';
import type { NativeDatagram } from '../native/binding.js';
import { codecOf, type Codec } from '../protocol/codec.js';
import { checkProtocol, type DatagramProtocol } from '../protocol/protocol.js';
import {
  ENDPOINT_OPTION_NAMES,
  type BindAddress,
  type BindOptions,
  type EndpointFromFdOptions,
  type PacketTo,
  type ReceivedFrom,
  type RecvFromOptions,
  type SendManyToOptions,
  type SendToOptions,
} from './options.js';

/**
 * The destinations of addresses datagrams came from: answering a sender with the address
 * object it was received with encodes nothing.
 */
const known = new WeakMap<UnixAddress, Destination>();

/**
 * A Unix datagram socket that is not connected: bound at a well-known path (or an abstract
 * name, an autobound name, or nothing), receiving from any sender with its address, and
 * sending to any address. Sends to one address go out in call order; a receiver whose queue
 * is full holds back only the sends to it (they wait, never drop), as each goroutine's
 * `WriteToUnix` waits alone in Go.
 *
 * @typeParam SentPacket - what `sendPacketTo` takes
 * @typeParam ReceivedPacket - what receiving yields
 * @example
 * ```ts
 * import { UnixDatagramEndpoint, DatagramProtocol, StringSerializer } from 'unixgram';
 *
 * const protocol = new DatagramProtocol(new StringSerializer());
 * await using endpoint = await UnixDatagramEndpoint.bind('/tmp/echo.sock', protocol, { removeStale: true });
 * for await (const { packet, address } of endpoint) {
 *   if (!('unnamed' in address)) await endpoint.sendPacketTo(packet.toUpperCase(), address);
 * }
 * ```
 */
export class UnixDatagramEndpoint<SentPacket, ReceivedPacket> {
  readonly #endpoint: Endpoint;
  readonly #codec: Codec<SentPacket, ReceivedPacket>;
  /** The endpoint, the socket file `bind` created and the signal. */
  readonly #life: Lifetime;
  #local: UnixAddress | undefined;
  /** The last address string sent to, and its destination (a loop to one address encodes once). */
  #lastText: string | undefined;
  #lastDest: Destination | undefined;
  /** The sender last seen, so its address is registered once. */
  #lastFrom: Peer | undefined;

  /**
   * Create a socket and bind it. Every argument is checked before any socket exists.
   * @param address - a path, `'\0name'` / `{ abstract }`, `{ autobind: true }` (Linux), or
   *   `null` / `{ unnamed: true }` to stay unnamed (a sender nobody can answer)
   * @param protocol - how packets are encoded
   * @param options - mode and stale-file policy of a path, credentials, a signal that closes it
   * @returns the bound endpoint
   * @throws `EADDRINUSE` (with the reason), `EACCES`, `ENOENT`, `ENAMETOOLONG`, …;
   * `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for bad arguments; an `AbortError` if
   * the signal is already aborted
   */
  static async bind<S, R>(
    address: BindAddress,
    protocol: DatagramProtocol<S, R>,
    options: BindOptions = {},
  ): Promise<UnixDatagramEndpoint<S, R>> {
    const raw = bindAddressOf(address);
    checkProtocol(protocol);
    checkOptions(options, ENDPOINT_OPTION_NAMES.bind);
    const signal = checkSignal(options.signal);
    const path = raw !== null && raw.length > 0 && raw[0] !== 0 ? raw.toString('utf8') : undefined;
    if (path === undefined && options.mode !== undefined) {
      throw invalidArgValue(
        'options.mode',
        'applies to socket files only (an abstract or unnamed socket has no permissions)',
        options.mode,
      );
    }
    if (path === undefined && options.removeStale !== undefined && options.removeStale !== false) {
      throw invalidArgValue('options.removeStale', 'applies to socket files only', options.removeStale);
    }
    const large = largePayloadsOf(options);
    const codec = codecOf(protocol);
    const endpoint = Endpoint.create(endpointOptions(codec, large));
    let file: SocketFile | undefined;
    try {
      if (options.passCredentials) endpoint.passCredentials();
      if (options.passPidfd) endpoint.passPidfd();
      if (path !== undefined) file = bindSocketFile(endpoint, path, options);
      else if (raw !== null) endpoint.bind(raw);
    } catch (err) {
      new Lifetime(endpoint, file).end();
      throw err;
    }
    const result = new UnixDatagramEndpoint(endpoint, codec, file);
    if (path !== undefined) result.#local = { path };
    if (signal) result.#life.closeOn(signal, () => result.close());
    return result;
  }

  /**
   * Take over an existing `AF_UNIX` `SOCK_DGRAM` socket (e.g. one systemd or a parent
   * process bound). The endpoint owns it from now on and closes it; it never unlinks a socket
   * file it did not create. The arguments are checked before the descriptor is touched, and
   * on every failure the descriptor is left open and yours.
   * @param fd - the descriptor
   * @param protocol - how packets are encoded
   * @param options - `largePayloads`, `maxPayloadSize`, `passPidfd`
   * @returns the endpoint
   * @throws `ERR_UNIXGRAM_NOT_UNIX_DGRAM` if `fd` is not such a socket;
   * `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for bad arguments; `ERR_UNIXGRAM_UNSUPPORTED`
   * for `passPidfd` where the kernel lacks it
   */
  static fromFd<S, R>(fd: number, protocol: DatagramProtocol<S, R>, options: EndpointFromFdOptions = {}): UnixDatagramEndpoint<S, R> {
    checkFd(fd);
    checkProtocol(protocol);
    checkOptions(options, ENDPOINT_OPTION_NAMES.adopt);
    const large = largePayloadsOf(options);
    const codec = codecOf(protocol);
    const endpoint = Endpoint.adopt(fd, endpointOptions(codec, large), (e) => {
      if (options.passPidfd) e.passPidfd();
    });
    return new UnixDatagramEndpoint(endpoint, codec, undefined);
  }

  private constructor(endpoint: Endpoint, codec: Codec<SentPacket, ReceivedPacket>, file: SocketFile | undefined) {
    this.#endpoint = endpoint;
    this.#codec = codec;
    this.#life = new Lifetime(endpoint, file);
  }

  /**
   * The address the socket is bound to: the path given to `bind` for socket files, else
   * what the kernel reports (an autobound name appears at the first send with
   * `passCredentials`, as the kernel autobinds then).
   * @returns the local address
   * @throws `ERR_UNIXGRAM_CLOSED`
   */
  getLocalName(): UnixAddress {
    this.#life.checkOpen();
    return this.#local ?? decodeAddress(this.#endpoint.localAddress());
  }

  /** Low-level access: the descriptor (still owned by the endpoint) and socket options. */
  get socket(): SocketProxy {
    this.#life.checkOpen();
    return this.#endpoint.proxy;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#endpoint.closed;
  }

  /**
   * Send one packet to `address`. Resolves once the datagram is queued in the kernel. While
   * that receiver's queue is full it waits (retrying on a timer from 1 ms up to 50 ms: Linux
   * wakes no unconnected sender), until `options.signal` aborts or `options.timeout` seconds
   * pass: then it rejects and the datagram is never sent. Sends to other receivers are not
   * held up.
   * @param packet - what to send
   * @param address - a path, `'\0name'`, or a {@link UnixAddress} (e.g. where a datagram came from)
   * @param options - ancillary data to send with it; `signal`, `timeout` (seconds) for the wait
   * @throws `'ENOENT'` / `'ECONNREFUSED'` (nobody there), `'EACCES'`, `'EMSGSIZE'`,
   * `'ERR_UNIXGRAM_UNNAMED_PEER'` (an unnamed address), `'ERR_UNIXGRAM_CLOSED'`,
   * {@link AbortError}, {@link TimeoutError}
   */
  sendPacketTo(packet: SentPacket, address: AddressLike, options?: SendToOptions): Promise<void> {
    let data: NativeDatagram;
    let dest: Destination;
    let ancillary: SocketAncillary | undefined;
    let limits: SendLimits | undefined;
    try {
      dest = this.#destination(address, 'address');
      if (options !== undefined) {
        checkOptions(options, ENDPOINT_OPTION_NAMES.sendTo);
        limits = sendLimits(options);
        ancillary = checkAncillary(options.ancillary, 'options.ancillary');
      }
      data = this.#codec.encode(packet);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#endpoint.sendTo(dest, data, ancillary?._toSend() ?? null, limits);
  }

  /**
   * Send many packets, each to its own address, with as few syscalls as possible: one
   * `sendmmsg` (a destination per datagram) while every receiver has room; then each
   * receiver's rest waits for room in its queue, in call order, while the others go on.
   * Every packet is serialized and checked before the first is sent. A datagram that fails
   * (its receiver is gone) ends the sends to that address; the others are still sent, and
   * the call then rejects with the first error.
   * @param packets - `{ packet, address, ancillary? }` items
   * @param options - `signal`, `timeout` (seconds) for the waits
   * @returns a promise that resolves once all are in the kernel
   * @throws as {@link sendPacketTo}; the error's `sent` says how many datagrams went out
   */
  sendPacketsTo(packets: Iterable<PacketTo<SentPacket>>, options?: SendManyToOptions): Promise<void> {
    const datas: Array<Buffer | Buffer[]> = [];
    const dests: Destination[] = [];
    let extras: Array<ReturnType<SocketAncillary['_toSend']>> | null = null;
    let limits: SendLimits | undefined;
    try {
      checkOptions(options, ENDPOINT_OPTION_NAMES.sendManyTo);
      if (options !== undefined) limits = sendLimits(options);
      if (packets === null || typeof packets !== 'object' || typeof packets[Symbol.iterator] !== 'function') {
        throw invalidArgType('packets', 'an iterable of { packet, address, ancillary? }', packets);
      }
      const codec = this.#codec;
      let i = 0;
      for (const item of packets) {
        if (typeof item !== 'object' || item === null)
          throw invalidArgType(`packets[${i}]`, 'an object { packet, address, ancillary? }', item);
        dests.push(this.#destination(item.address, `packets[${i}].address`));
        datas.push(codec.encodeBytes(item.packet));
        const ancillary = checkAncillary(item.ancillary, `packets[${i}].ancillary`);
        if (ancillary !== undefined) {
          extras ??= datas.map(() => null);
          extras[i] = ancillary._toSend();
        } else if (extras) extras.push(null);
        i++;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (datas.length === 0) return Promise.resolve();
    const { done, sent } = this.#endpoint.sendManyTo(datas, dests, extras, limits);
    return done.catch((err: unknown) => {
      if (typeof err === 'object' && err !== null) (err as { sent?: number }).sent = sent();
      throw err;
    });
  }

  /**
   * Receive the next datagram and its sender.
   * @param options - timeout (seconds), abort signal
   * @returns `{ packet, address, ancillary }`
   * @throws {@link TimeoutError} (`'ETIMEDOUT'`), {@link AbortError} (`'ABORT_ERR'`),
   * `DatagramProtocolParseError` (the endpoint keeps working), `'ERR_UNIXGRAM_TRUNCATED'`,
   * `'ERR_UNIXGRAM_CLOSED'`
   */
  recvPacketFrom(options: RecvFromOptions = NO_OPTIONS): Promise<ReceivedFrom<ReceivedPacket>> {
    let timeout: number | null;
    let signal: AbortSignal | undefined;
    try {
      if (options !== NO_OPTIONS) checkOptions(options, ENDPOINT_OPTION_NAMES.recvFrom);
      timeout = checkTimeout(options.timeout);
      signal = checkSignalType(options.signal);
      this.#life.checkOpen();
      if (signal?.aborted) throw new AbortError(signal.reason);
    } catch (err) {
      return Promise.reject(err);
    }
    return receivePacket(this.#endpoint, timeout, signal, (raw) => this.#unpack(raw));
  }

  /**
   * Yield datagrams and their senders as they arrive: everything already queued (timeout 0,
   * the default) or arriving within `timeout` seconds of waiting in all, then end; `null`:
   * until the endpoint is closed. A datagram that fails to parse rejects `next()` and ends
   * the iteration (the endpoint keeps working: iterate again); so does `options.signal`.
   * @param options - the waiting budget (seconds), a signal that ends it
   * @returns an async iterator of `{ packet, address, ancillary }`
   */
  iterReceivedPacketsFrom(options: IterOptions = {}): AsyncIterableIterator<ReceivedFrom<ReceivedPacket>, undefined, undefined> {
    checkOptions(options, ENDPOINT_OPTION_NAMES.iter);
    const budget = checkTimeout(options.timeout === undefined ? 0 : options.timeout);
    const signal = checkSignalType(options.signal);
    if (this.closed) return PacketIterator.failed(closedError());
    return iteratePackets(this.#endpoint, budget, signal, (raw) => this.#unpack(raw));
  }

  /**
   * `for await (const { packet, address } of endpoint)`: every datagram, as they arrive,
   * until the endpoint is closed (`iterReceivedPacketsFrom({ timeout: null })`).
   * @returns an async iterator of `{ packet, address, ancillary }`
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<ReceivedFrom<ReceivedPacket>, undefined, undefined> {
    return this.iterReceivedPacketsFrom({ timeout: null });
  }

  /**
   * A new descriptor for this socket (close-on-exec, non-blocking, as the endpoint's), to
   * hand to another process. The endpoint keeps its own.
   * @returns an fd that you own and must close
   * @throws `'ERR_UNIXGRAM_CLOSED'`
   */
  dupFd(): number {
    this.#life.checkOpen();
    return this.#endpoint.dupFd();
  }

  /** Let the process exit even while a receive or a send waits. @returns this */
  unref(): this {
    this.#endpoint.setRef(false);
    return this;
  }

  /** Undo {@link unref}: a waiting receive or send keeps the process alive. @returns this */
  ref(): this {
    this.#endpoint.setRef(true);
    return this;
  }

  /**
   * Close the socket. Waiting receives and sends reject with `ERR_UNIXGRAM_CLOSED`;
   * descriptors received but not handed out are closed; the socket file `bind` created is
   * unlinked if it is still the one it created. Calling it again does nothing.
   */
  async close(): Promise<void> {
    this.#life.end();
  }

  /** `await using endpoint = …` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The destination for `address`, checked; throws `ERR_UNIXGRAM_UNNAMED_PEER` for an unnamed one. */
  #destination(address: AddressLike, name: string): Destination {
    if (typeof address === 'string') {
      if (address === this.#lastText) return this.#lastDest as Destination;
      const dest = destinationOf(encodeAddress(address, name));
      this.#lastText = address;
      this.#lastDest = dest;
      return dest;
    }
    return known.get(address) ?? destinationOf(encodeAddress(address, name));
  }

  /** `{ packet, address, ancillary }` for `raw`; its descriptors are closed if it fails. */
  #unpack(raw: RawDatagram): ReceivedFrom<ReceivedPacket> {
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
    const from = raw.from;
    let address: UnixAddress = UNNAMED_ADDRESS;
    if (from !== undefined) {
      address = from.address;
      if (from !== this.#lastFrom) {
        this.#lastFrom = from;
        if (from.raw.length > 0) known.set(address, from);
      }
    }
    let ancillary: SocketAncillary | undefined;
    if (raw.fds !== undefined || raw.credentials !== undefined) {
      ancillary = new SocketAncillary();
      ancillary._receive(raw.fds, raw.credentials);
    }
    return { packet, address, ancillary };
  }
}

const UNNAMED_ADDRESS: UnixAddress = Object.freeze({ unnamed: true });

/** How an endpoint uses its socket. */
function endpointOptions(codec: Codec<unknown, unknown>, largePayloads: EndpointOptions['largePayloads']): EndpointOptions {
  return { addresses: true, text: codec.receivesText, keepAlive: 'waiting', connected: () => false, largePayloads };
}

/** `bind`'s address, checked: `sun_path` bytes (empty: autobind), or null to stay unnamed. */
function bindAddressOf(address: BindAddress): Buffer | null {
  if (address === null) return null;
  if (typeof address === 'object' && 'autobind' in address) {
    if (address.autobind !== true) throw invalidArgValue('address.autobind', 'must be true', address.autobind);
    return Buffer.alloc(0);
  }
  const raw = encodeAddress(address);
  return raw.length === 0 ? null : raw; // { unnamed: true }
}

/** A destination for `sun_path` bytes; an unnamed one cannot be sent to. */
function destinationOf(raw: Buffer): Destination {
  if (raw.length === 0) {
    throw codedError(ErrorCodes.UNNAMED_PEER, 'cannot send to an unnamed address: an unbound socket can send but not be sent to');
  }
  return new Peer(raw);
}
