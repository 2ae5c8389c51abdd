/**
 * The Unix datagram client, modelled on easynetwork's `UnixDatagramClient`.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import { encodeAddress, decodeAddress, type AddressLike, type UnixAddress } from './address.js';
import { SocketAncillary } from './ancillary.js';
import {
  checkTimeout,
  NO_OPTIONS,
  OPTION_NAMES,
  type ConnectOptions,
  type IterOptions,
  type RecvOptions,
  type SendManyOptions,
  type SendOptions,
} from './client-options.js';
import { connectSocket } from './connect.js';
import { AbortError, TimeoutError, checkOptions, checkSignal, closedError, invalidArgType, outOfRange } from './errors.js';
import { native, READABLE, WRITABLE, type NativeSocket } from './native.js';
import { checkProtocol, type DatagramProtocol } from './protocol.js';
import { PacketIterator } from './iterator.js';
import { Receiver, type RawDatagram } from './receiver.js';
import { prepareSendMany, sendManyAttempt, toBuffer } from './send-many.js';
import { sendAttempt } from './send-attempt.js';
import { sendOne } from './send-one.js';
import { Sender, sendLimits, type SendLimits } from './sender.js';
import { SocketProxy } from './socket-proxy.js';
import { unlinkSocketFile, type SocketFile } from './socket-file.js';
import { receiveSync, sendSync, type SyncRecvOptions, type SyncSendOptions } from './sync.js';
import { unpackDatagram } from './unpack.js';
import { WatchControl } from './watch-control.js';

export type { ConnectOptions, SendOptions, SendManyOptions, RecvOptions, IterOptions } from './client-options.js';

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
 * const reply = await client.recvPacket({ timeout: 5 });
 * await client.close();
 * ```
 */
export class UnixDatagramClient<SentPacket, ReceivedPacket> {
  readonly #native: NativeSocket;
  /** The fd number, for the send fast path; valid while `#closed` is false. */
  readonly #fd: number;
  readonly #protocol: DatagramProtocol<SentPacket, ReceivedPacket>;
  readonly #receiver: Receiver;
  readonly #sender: Sender;
  readonly #peer: UnixAddress;
  #socket: SocketProxy | undefined;
  #closed = false;
  #ref = true;
  /** What the binding watches (events, keep-alive, strong hold). */
  readonly #watch: WatchControl;
  /** The socket file `connect` bound (a `localAddress` path), unlinked by `close()`. */
  #file: SocketFile | undefined;
  /** Stops listening to `connect`'s `signal`. */
  #unlisten: (() => void) | undefined;

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
    const signal = checkSignal(options.signal);
    const { sock, file } = connectSocket(remote, options);
    const client = UnixDatagramClient.#adopt(sock, protocol, decodeAddress(remote), () => {
      sock.close();
      if (file) unlinkSocketFile(file);
    });
    client.#file = file;
    if (signal) client.#closeOn(signal);
    return client;
  }

  /**
   * Take over an existing `AF_UNIX` `SOCK_DGRAM` socket, e.g. one inherited from a parent
   * process. The client owns it from now on and closes it. The arguments are checked before
   * the descriptor is touched, and on every failure the descriptor is left open and yours.
   * @param fd - the descriptor
   * @param protocol - how packets are encoded
   * @returns the client
   * @throws `ERR_UNIXGRAM_NOT_UNIX_DGRAM` if `fd` is not such a socket;
   * `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for bad arguments
   */
  static fromFd<S, R>(fd: number, protocol: DatagramProtocol<S, R>): UnixDatagramClient<S, R> {
    if (typeof fd !== 'number') throw invalidArgType('fd', 'of type number', fd);
    if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw outOfRange('fd', 'an integer >= 0', fd);
    checkProtocol(protocol);
    const sock = native.NativeSocket.fromFd(fd);
    let peer: UnixAddress;
    try {
      peer = decodeAddress(sock.peerAddress());
    } catch {
      peer = { unnamed: true };
    }
    // Handed back, open, if anything below fails: the caller still owns the descriptor.
    return UnixDatagramClient.#adopt(sock, protocol, peer, () => sock.release());
  }

  /**
   * Two clients connected to each other (`socketpair`), e.g. to hand one to a child process.
   * @param protocol - how packets are encoded, for both ends
   * @returns both ends
   * @throws `ERR_INVALID_ARG_TYPE` for a protocol that is not a {@link DatagramProtocol} (before any socket exists)
   */
  static socketpair<S, R>(protocol: DatagramProtocol<S, R>): [UnixDatagramClient<S, R>, UnixDatagramClient<S, R>] {
    checkProtocol(protocol);
    const [a, b] = native.socketpair() as [NativeSocket, NativeSocket];
    try {
      return [new UnixDatagramClient(a, protocol, { unnamed: true }), new UnixDatagramClient(b, protocol, { unnamed: true })];
    } catch (err) {
      a.close();
      b.close();
      throw err;
    }
  }

  /** A client on `sock`; if that fails, `undo` disposes of the socket and the error is rethrown. */
  static #adopt<S, R>(sock: NativeSocket, protocol: DatagramProtocol<S, R>, peer: UnixAddress, undo: () => void): UnixDatagramClient<S, R> {
    try {
      return new UnixDatagramClient(sock, protocol, peer);
    } catch (err) {
      undo();
      throw err;
    }
  }

  private constructor(sock: NativeSocket, protocol: DatagramProtocol<SentPacket, ReceivedPacket>, peer: UnixAddress) {
    this.#native = sock;
    this.#fd = sock.fd;
    this.#protocol = protocol;
    this.#peer = peer;
    const changed = (): void => this.#updateWatch();
    this.#receiver = new Receiver(sock, changed);
    this.#sender = new Sender(() => true, changed);
    this.#watch = new WatchControl(sock);
    // A text protocol (JSON, strings) gets valid UTF-8 datagrams as slices of one string.
    if (protocol._receivesText) sock.setTextPayloads(true);
    sock.setCallback((slab?: ArrayBuffer, meta?: Uint32Array, extras?: object[], writable?: boolean, fds?: Int32Array, text?: string) => {
      // The batch first: its metadata array is reused by the next read. A writable event
      // was one-shot: the binding has already dropped it from the applied state.
      if (meta) this.#receiver.onBatch(slab, meta, extras as never, fds, text);
      if (writable) this.#sender.onWritable();
    });
  }

  /** The peer's address, as given to `connect` (`{ unnamed: true }` for a socketpair). */
  getPeerName(): UnixAddress {
    this.#checkOpen();
    return this.#peer;
  }

  /** The address this socket is bound to. */
  getLocalName(): UnixAddress {
    this.#checkOpen();
    return decodeAddress(this.#native.localAddress());
  }

  /** Low-level socket access: descriptor and options. */
  get socket(): SocketProxy {
    this.#checkOpen();
    this.#socket ??= new SocketProxy(this.#native);
    return this.#socket;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
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
    if (this.#closed) return Promise.reject(closedError());
    let limits: SendLimits | undefined;
    let ancillary: SocketAncillary | undefined;
    if (options !== undefined) {
      try {
        checkOptions(options, OPTION_NAMES.send);
        limits = sendLimits(options);
        ancillary = options.ancillary;
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const protocol = this.#protocol;
    const sock = this.#native;
    if (ancillary === undefined && !this.#sender.pending) {
      // The fast path (send-one.ts): nothing queued ahead, so send now by fd number, a text
      // serializer's text straight into the send.
      let payload: Buffer | string;
      try {
        payload = protocol._sendsText ? protocol._makeText(packet) : toBuffer(protocol.makeDatagram(packet));
      } catch (err) {
        return Promise.reject(err);
      }
      return sendOne(this.#fd, sock, this.#sender, payload, limits);
    }
    let attempt: () => number;
    try {
      attempt = sendAttempt(sock, protocol, packet, ancillary, null);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#sender.send(attempt, limits);
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
    if (this.#closed) return Promise.reject(closedError());
    let limits: SendLimits | undefined;
    let prepared: ReturnType<typeof sendManyAttempt>;
    try {
      checkOptions(options, OPTION_NAMES.sendMany);
      if (options !== undefined) limits = sendLimits(options);
      prepared = sendManyAttempt(this.#fd, this.#native, prepareSendMany(this.#protocol, packets, options?.ancillary));
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#sender.send(prepared.attempt, limits).catch((err: unknown) => {
      throw withSent(err, prepared.sent());
    });
  }

  /**
   * Receive the next packet.
   * @param options - timeout (seconds), abort signal, ancillary data sink
   * @returns the parsed packet
   * @throws {@link TimeoutError} (`'ETIMEDOUT'`), {@link AbortError} (`'ABORT_ERR'`),
   * {@link DatagramProtocolParseError} (the client keeps working), `'ERR_UNIXGRAM_TRUNCATED'`,
   * `'ERR_UNIXGRAM_CLOSED'`
   */
  recvPacket(options: RecvOptions = NO_OPTIONS): Promise<ReceivedPacket> {
    // Not an `async` function: a receive loop pays for one promise per packet, not three.
    let timeout: number | null;
    let signal: AbortSignal | undefined;
    let ancillary: SocketAncillary | undefined;
    let raw: RawDatagram | undefined;
    try {
      if (options !== NO_OPTIONS) checkOptions(options, OPTION_NAMES.recv);
      timeout = checkTimeout(options.timeout);
      ({ signal, ancillary } = options);
      if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', signal);
      if (ancillary !== undefined && !(ancillary instanceof SocketAncillary)) throw invalidArgType('options.ancillary', 'a SocketAncillary', ancillary);
      if (this.#closed) throw closedError();
      if (signal?.aborted) throw new AbortError(signal.reason);
      // A datagram already delivered is taken at once (no waiter, timer or inner promise):
      // when one is queued nobody waits ahead of this call, so the order is kept.
      raw = timeout === 0 ? this.#receiver.takeNow() : this.#receiver.takeQueued();
      if (raw !== undefined) return Promise.resolve(unpackDatagram(this.#protocol, raw, ancillary));
      if (timeout === 0) throw new TimeoutError(0);
    } catch (err) {
      return Promise.reject(err);
    }
    if (timeout === null && signal === undefined) {
      // The common wait: no timer, no signal, so nothing to withdraw.
      return new Promise<ReceivedPacket>((resolve, reject) => {
        this.#receiver.wait({
          resolve: (d) => {
            try {
              resolve(unpackDatagram(this.#protocol, d, ancillary));
            } catch (err) {
              reject(err);
            }
          },
        });
      });
    }
    return this.#receiver.waitWithin(timeout, signal, !this.#ref).then((d) => unpackDatagram(this.#protocol, d, ancillary));
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
    const { signal } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', signal);
    if (this.#closed) return PacketIterator.failed(closedError());
    return new PacketIterator<ReceivedPacket>(
      {
        takeQueued: () => this.#receiver.takeQueued(),
        takeNow: () => this.#receiver.takeNow(),
        wait: (seconds, waitSignal) => this.#receiver.waitWithin(seconds, waitSignal, !this.#ref),
        waitForever: (onDatagram) => void this.#receiver.wait({ resolve: onDatagram }),
        unpack: (raw) => unpackDatagram(this.#protocol, raw, undefined),
        closed: () => this.#closed,
        hold: () => this.#receiver.hold(),
      },
      budget,
      signal,
    );
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
    this.#checkOpen();
    this.#native.reconnect();
  }

  // ---- Hand-off and the synchronous API (issue 3); the logic lives in sync.ts ----------

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
    this.#checkOpen();
    return this.#native.dupFd();
  }

  /**
   * Receive the next packet, blocking the calling thread (for scripts, CLIs and worker
   * threads). Packets already delivered to this client come first, in order.
   * @param options - timeout (seconds; `0` = only what is queued; default: no limit), ancillary data sink
   * @returns the parsed packet
   * @throws `'ERR_UNIXGRAM_BUSY'` while a `recvPacket()` is pending on this client,
   * {@link TimeoutError} (`'ETIMEDOUT'`), {@link DatagramProtocolParseError}, `'ERR_UNIXGRAM_CLOSED'`
   */
  recvPacketSync(options: SyncRecvOptions = {}): ReceivedPacket {
    checkOptions(options, OPTION_NAMES.recvSync);
    const timeout = checkTimeout(options.timeout);
    const { ancillary } = options;
    if (ancillary !== undefined && !(ancillary instanceof SocketAncillary)) throw invalidArgType('options.ancillary', 'a SocketAncillary', ancillary);
    const receiver = this.#receiver;
    const port = { native: this.#native, asyncWaiting: receiver.hasWaiters, takeNow: () => receiver.takeNow(), closed: () => this.#closed };
    return unpackDatagram(this.#protocol, receiveSync(port, timeout), ancillary);
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
    this.#checkOpen();
    const attempt = sendAttempt(this.#native, this.#protocol, packet, options.ancillary, null);
    sendSync({ asyncPending: this.#sender.pending, attempt, closed: () => this.#closed }, timeout);
  }

  // ---- end of hand-off and the synchronous API ----------------------------------------

  /** Let the process exit even while a receive is pending. @returns this */
  unref(): this {
    this.#ref = false;
    this.#sender.setRef(false);
    this.#updateWatch();
    return this;
  }

  /** Undo {@link unref}: a pending receive keeps the process alive. @returns this */
  ref(): this {
    this.#ref = true;
    this.#sender.setRef(true);
    this.#updateWatch();
    return this;
  }

  /**
   * Close the socket. Pending receives and queued sends reject with `ERR_UNIXGRAM_CLOSED`;
   * descriptors received but not handed out are closed. Calling it again does nothing.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unlisten?.();
    this.#unlisten = undefined;
    const err = closedError();
    this.#native.close();
    if (this.#file) unlinkSocketFile(this.#file);
    this.#sender.close(err);
    for (const waiter of this.#receiver.close()) waiter.resolve({ data: Buffer.alloc(0), address: undefined, fds: undefined, credentials: undefined, error: err });
  }

  /** `await using client = …` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError();
  }

  /** Close when `signal` aborts (and stop listening to it once closed). */
  #closeOn(signal: AbortSignal): void {
    const onAbort = (): void => void this.close();
    signal.addEventListener('abort', onAbort, { once: true });
    this.#unlisten = () => signal.removeEventListener('abort', onAbort);
  }

  /** Tell the binding what to watch now (see {@link WatchControl.set}). */
  #updateWatch(): void {
    if (this.#closed) return;
    const events = (this.#receiver.wantsData ? READABLE : 0) | (this.#sender.wantsWritable ? WRITABLE : 0);
    const busy = this.#receiver.hasWaiters || this.#sender.pending;
    this.#watch.set(events, this.#ref && busy, busy);
  }
}

/** @internal `err` with `sent`: how many packets of a `sendPackets` call went out before it. */
function withSent(err: unknown, sent: number): unknown {
  if (typeof err === 'object' && err !== null) (err as { sent?: number }).sent = sent;
  return err;
}
