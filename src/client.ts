/**
 * The Unix datagram client, modelled on easynetwork's `UnixDatagramClient`.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';

import { encodeAddress, decodeAddress, type AddressLike, type UnixAddress } from './address.js';
import { SocketAncillary } from './ancillary.js';
import {
  AbortError,
  TimeoutError,
  closedError,
  invalidArgType,
  outOfRange,
  ErrorCodes,
  type SystemError,
} from './errors.js';
import { native, sendOnFd, sendManyOnFd, READABLE, WRITABLE, WOULD_BLOCK, type NativeSocket } from './native.js';
import type { JsSendAncillary as NativeSendAncillary } from '../index.js';
import type { DatagramProtocol } from './protocol.js';
import { PacketIterator } from './iterator.js';
import { Receiver, type RawDatagram } from './receiver.js';
import { Sender } from './sender.js';
import { SocketProxy } from './socket-proxy.js';
import { receiveSync, sendSync, type SyncRecvOptions, type SyncSendOptions } from './sync.js';

/** Options of {@link UnixDatagramClient.connect}. */
export interface ConnectOptions {
  /**
   * Where to bind before connecting. Default (`undefined`): on Linux, autobind to a
   * kernel-chosen abstract name, so the peer can answer; on macOS and FreeBSD, which have no
   * autobind, stay unnamed (pass a path to be answered). `null`: stay unnamed (the peer
   * cannot answer).
   */
  localAddress?: AddressLike | null;
  /** Turn on `SO_PASSCRED`: each received datagram carries its sender's credentials. */
  passCredentials?: boolean;
}

/** Control words (see `poll::control_to_js` in the binding) and their state bits. */
const CONTROL_IN_CALLBACK = 0;
const CONTROL_REQUEST = 1;
const CONTROL_APPLIED = 2;
const STATE_KEEP_ALIVE = 4;
const STATE_STRONG = 8;
const REQUEST_PENDING = 16;

/** The options of a call given none (shared: no object per call). */
const NO_OPTIONS = Object.freeze({});

/** What a send that went out at once returns: one settled promise, shared. */
const RESOLVED: Promise<void> = Promise.resolve();

/** Options of {@link UnixDatagramClient.sendPacket}. */
export interface SendOptions {
  /** Descriptors and/or credentials to send with the datagram. */
  ancillary?: SocketAncillary;
}

/** Options of {@link UnixDatagramClient.sendPackets}. */
export interface SendManyOptions {
  /** Ancillary data per packet, by index; `undefined` entries send none. */
  ancillary?: ReadonlyArray<SocketAncillary | undefined>;
}

/** Options of {@link UnixDatagramClient.recvPacket}. */
export interface RecvOptions {
  /** Seconds to wait; `0` takes only what is already queued. Default: no limit. */
  timeout?: number | null;
  /** Cancels the wait; the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
  /**
   * Receives the descriptors and credentials that came with the datagram. Without it they
   * are closed at once.
   */
  ancillary?: SocketAncillary;
}

/** Options of {@link UnixDatagramClient.iterReceivedPackets}. */
export interface IterOptions {
  /**
   * Total seconds to spend waiting across the iteration (time spent in your loop body does
   * not count). Default `0`: only what is queued. `null`: until the client is closed.
   */
  timeout?: number | null;
}

/** Datagrams per native `sendMany` call: at most the kernel's `UIO_MAXIOV`. */
const SEND_MANY_MAX = 1024;
const SEND_MANY_FIRST = 64;
const SEND_MANY_MIN = 16;

function checkTimeout(timeout: unknown): number | null {
  if (timeout === undefined || timeout === null) return null;
  if (typeof timeout !== 'number') throw invalidArgType('timeout', 'a number of seconds', timeout);
  if (Number.isNaN(timeout) || timeout < 0) throw outOfRange('timeout', '>= 0 (seconds)', timeout);
  return timeout;
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

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
  /** The binding's control words, shared memory: see {@link UnixDatagramClient.#updateWatch}. */
  readonly #control: Uint32Array;

  /**
   * Connect to `address`. The socket is bound first (see {@link ConnectOptions.localAddress}).
   * @param address - a path, `'\0name'`, or a {@link UnixAddress}
   * @param protocol - how packets are encoded
   * @param options - local address, credentials
   * @returns the connected client
   * @throws an error with `code` `'ENOENT'` (nothing there), `'ECONNREFUSED'` (a file but no
   * socket behind it), `'EACCES'`, `'ENAMETOOLONG'`, … and `syscall`, `address`
   */
  static async connect<S, R>(
    address: AddressLike,
    protocol: DatagramProtocol<S, R>,
    options: ConnectOptions = {},
  ): Promise<UnixDatagramClient<S, R>> {
    const remote = encodeAddress(address);
    if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
    const autobind = process.platform === 'linux' ? Buffer.alloc(0) : null;
    const local = options.localAddress === undefined ? autobind : options.localAddress === null ? null : encodeAddress(options.localAddress, 'localAddress');
    const sock = native.NativeSocket.create();
    try {
      if (options.passCredentials) sock.setPassCredentials(true);
      if (local) sock.bind(local);
      sock.connect(remote);
    } catch (err) {
      sock.close();
      throw err;
    }
    return new UnixDatagramClient(sock, protocol, decodeAddress(remote));
  }

  /**
   * Take over an existing `AF_UNIX` `SOCK_DGRAM` socket, e.g. one inherited from a parent
   * process. The client owns it from now on and closes it.
   * @param fd - the descriptor
   * @param protocol - how packets are encoded
   * @returns the client
   * @throws `ERR_UNIXGRAM_NOT_UNIX_DGRAM` if `fd` is not such a socket (the fd is left open
   * and still yours)
   */
  static fromFd<S, R>(fd: number, protocol: DatagramProtocol<S, R>): UnixDatagramClient<S, R> {
    if (typeof fd !== 'number') throw invalidArgType('fd', 'of type number', fd);
    if (!Number.isInteger(fd) || fd < 0) throw outOfRange('fd', 'an integer >= 0', fd);
    const sock = native.NativeSocket.fromFd(fd);
    let peer: UnixAddress;
    try {
      peer = decodeAddress(sock.peerAddress());
    } catch {
      peer = { unnamed: true };
    }
    return new UnixDatagramClient(sock, protocol, peer);
  }

  /**
   * Two clients connected to each other (`socketpair`), e.g. to hand one to a child process.
   * @param protocol - how packets are encoded, for both ends
   * @returns both ends
   */
  static socketpair<S, R>(protocol: DatagramProtocol<S, R>): [UnixDatagramClient<S, R>, UnixDatagramClient<S, R>] {
    const [a, b] = native.socketpair() as [NativeSocket, NativeSocket];
    return [new UnixDatagramClient(a, protocol, { unnamed: true }), new UnixDatagramClient(b, protocol, { unnamed: true })];
  }

  private constructor(sock: NativeSocket, protocol: DatagramProtocol<SentPacket, ReceivedPacket>, peer: UnixAddress) {
    this.#native = sock;
    this.#fd = sock.fd;
    this.#protocol = protocol;
    this.#peer = peer;
    const changed = (): void => this.#updateWatch();
    this.#receiver = new Receiver(sock, changed);
    this.#sender = new Sender(() => true, changed);
    this.#control = sock.control();
    sock.setCallback((slab?: ArrayBuffer, meta?: Uint32Array, extras?: object[], writable?: boolean, fds?: Int32Array) => {
      // The batch first: its metadata array is reused by the next read. A writable event
      // was one-shot: the binding has already dropped it from the applied state.
      if (slab && meta) this.#receiver.onBatch(slab, meta, extras as never, fds);
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
   * queue is full it waits (never drops, never spins, never blocks the loop). A datagram
   * bigger than `SO_SNDBUF` allows raises it first.
   * @param packet - what to send
   * @param options - ancillary data to send with it
   * @throws `'ECONNREFUSED'` (the peer is gone), `'ENOTCONN'` (gone earlier: `reconnect()`),
   * `'EMSGSIZE'` (bigger than the system allows, limit in the message), `'ERR_UNIXGRAM_CLOSED'`
   */
  sendPacket(packet: SentPacket, options?: SendOptions): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    let data: Buffer;
    let extra: ReturnType<SocketAncillary['_toSend']> = null;
    try {
      if (options?.ancillary !== undefined && !(options.ancillary instanceof SocketAncillary)) {
        throw invalidArgType('options.ancillary', 'a SocketAncillary', options.ancillary);
      }
      data = toBuffer(this.#protocol.makeDatagram(packet));
      extra = options?.ancillary?._toSend() ?? null;
    } catch (err) {
      return Promise.reject(err);
    }
    const sock = this.#native;
    if (extra === null) {
      // The fast path: nothing queued ahead, so send now by fd number (no class unwrap).
      // A full queue waits in line; any other failure is finished by `sendFailed`, which
      // grows SO_SNDBUF for a big datagram or throws the error with its address.
      if (!this.#sender.pending) {
        let sent = sendOnFd(this.#fd, data);
        if (sent < 0 && sent !== WOULD_BLOCK) {
          try {
            sent = sock.sendFailed(-sent, data);
          } catch (err) {
            return Promise.reject(err);
          }
        }
        if (sent >= 0) return RESOLVED;
        return this.#sender.enqueue(() => sock.send(data, null));
      }
      return this.#sender.send(() => sock.send(data, null));
    }
    const { fds, credentials } = extra;
    return this.#sender.send(() => sock.sendMsg([data], fds, credentials, null));
  }

  /**
   * Send many packets with as few syscalls as possible (`sendmmsg`, up to 1024 datagrams
   * each), in order, each with its own optional ancillary data. Resolves once all are
   * queued in the kernel; while the peer's queue is full it waits, as {@link sendPacket}.
   * @param packets - what to send
   * @param options - `ancillary[i]` goes with the i-th packet
   * @throws as {@link sendPacket}; packets before the failing one were sent
   */
  sendPackets(packets: Iterable<SentPacket>, options?: SendManyOptions): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    const datas: Buffer[] = [];
    let extras: Array<NativeSendAncillary | null> | null = null;
    try {
      if (packets === null || typeof (packets as Iterable<SentPacket>)[Symbol.iterator] !== 'function') {
        throw invalidArgType('packets', 'an iterable of packets', packets);
      }
      for (const packet of packets) datas.push(toBuffer(this.#protocol.makeDatagram(packet)));
      const list = options?.ancillary;
      if (list !== undefined) {
        extras = datas.map((_, i) => {
          const a = list[i];
          if (a === undefined || a === null) return null;
          if (!(a instanceof SocketAncillary)) throw invalidArgType(`options.ancillary[${i}]`, 'a SocketAncillary', a);
          const send = a._toSend();
          return send && { fds: send.fds ?? undefined, credentials: send.credentials ?? undefined };
        });
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const sock = this.#native;
    let offset = 0;
    // Datagrams per native call: a full peer queue takes only a few (11 by default), and
    // each call marshals its whole chunk, so start small, grow while everything goes out,
    // and shrink to about what fitted when the queue fills.
    let chunk = SEND_MANY_FIRST;
    return this.#sender.send(() => {
      while (offset < datas.length) {
        const end = Math.min(datas.length, offset + chunk);
        const asked = end - offset;
        let sent: number;
        if (extras === null) {
          // The fast path (no ancillary data): by fd number, without slicing the array. A
          // failure of the first datagram is finished by `sendFailed` (see sendPacket).
          sent = sendManyOnFd(this.#fd, datas, offset, end);
          if (sent < 0 && sent !== WOULD_BLOCK) sent = sock.sendFailed(-sent, datas[offset] as Buffer) === WOULD_BLOCK ? WOULD_BLOCK : 1;
        } else {
          const whole = offset === 0 && end === datas.length;
          sent = sock.sendMany(whole ? datas : datas.slice(offset, end), whole ? extras : extras.slice(offset, end), null);
        }
        if (sent === WOULD_BLOCK) return WOULD_BLOCK;
        offset += sent;
        if (sent < asked) {
          chunk = Math.max(SEND_MANY_MIN, sent * 2);
          return WOULD_BLOCK; // the peer's queue filled up
        }
        chunk = Math.min(SEND_MANY_MAX, chunk * 2);
      }
      return datas.length;
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
      if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
      timeout = checkTimeout(options.timeout);
      ({ signal, ancillary } = options);
      if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', signal);
      if (ancillary !== undefined && !(ancillary instanceof SocketAncillary)) throw invalidArgType('options.ancillary', 'a SocketAncillary', ancillary);
      if (this.#closed) throw closedError();
      if (signal?.aborted) throw new AbortError(signal.reason);
      // A datagram already delivered is taken at once (no waiter, timer or inner promise):
      // when one is queued nobody waits ahead of this call, so the order is kept.
      raw = timeout === 0 ? this.#receiver.takeNow() : this.#receiver.takeQueued();
      if (raw !== undefined) return Promise.resolve(this.#unpack(raw, ancillary));
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
              resolve(this.#unpack(d, ancillary));
            } catch (err) {
              reject(err);
            }
          },
        });
      });
    }
    return this.#waitForDatagram(timeout, signal).then((d) => this.#unpack(d, ancillary));
  }

  /**
   * Yield packets as they arrive, easynetwork-style: everything already queued (timeout 0,
   * the default) or arriving within `timeout` seconds of waiting in all, then end. Ends too
   * when the client is closed during the iteration; starting one on a closed client throws
   * `ERR_UNIXGRAM_CLOSED` from its first `next()`. Parse errors reject `next()` and end the iteration.
   * @param options - the waiting budget
   * @returns an async iterator of packets
   * @example
   * ```ts
   * for await (const packet of client.iterReceivedPackets({ timeout: 1 })) console.log(packet);
   * ```
   */
  iterReceivedPackets(options: IterOptions = {}): AsyncIterableIterator<ReceivedPacket, undefined, undefined> {
    if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
    const budget = checkTimeout(options.timeout === undefined ? 0 : options.timeout);
    if (this.#closed) return PacketIterator.failed(closedError());
    return new PacketIterator<ReceivedPacket>(
      {
        takeQueued: () => this.#receiver.takeQueued(),
        takeNow: () => this.#receiver.takeNow(),
        wait: (seconds) => this.#waitForDatagram(seconds, undefined),
        waitForever: (onDatagram) => void this.#receiver.wait({ resolve: onDatagram }),
        unpack: (raw) => this.#unpack(raw, undefined),
        closed: () => this.#closed,
        hold: () => this.#receiver.hold(),
      },
      budget,
    );
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
    if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
    const timeout = checkTimeout(options.timeout);
    const { ancillary } = options;
    if (ancillary !== undefined && !(ancillary instanceof SocketAncillary)) throw invalidArgType('options.ancillary', 'a SocketAncillary', ancillary);
    const receiver = this.#receiver;
    const port = { native: this.#native, asyncWaiting: receiver.hasWaiters, takeNow: () => receiver.takeNow(), closed: () => this.#closed };
    return this.#unpack(receiveSync(port, timeout), ancillary);
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
    if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
    const timeout = checkTimeout(options.timeout);
    const { ancillary } = options;
    if (ancillary !== undefined && !(ancillary instanceof SocketAncillary)) throw invalidArgType('options.ancillary', 'a SocketAncillary', ancillary);
    this.#checkOpen();
    const data = toBuffer(this.#protocol.makeDatagram(packet));
    const extra = ancillary?._toSend() ?? null;
    const sock = this.#native;
    const attempt = extra === null ? () => sock.send(data, null) : () => sock.sendMsg([data], extra.fds, extra.credentials, null);
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
    const err = closedError();
    this.#native.close();
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

  #waitForDatagram(timeout: number | null, signal: AbortSignal | undefined): Promise<RawDatagram> {
    return new Promise<RawDatagram>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        if (withdraw()) finish(() => reject(new AbortError(signal?.reason)));
      };
      const finish = (settle: () => void): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      const withdraw = this.#receiver.wait({ resolve: (d) => finish(() => resolve(d)) });
      if (timeout !== null) {
        timer = setTimeout(() => {
          if (withdraw()) finish(() => reject(new TimeoutError(timeout)));
        }, timeout * 1000);
        if (!this.#ref) timer.unref();
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #unpack(raw: RawDatagram, ancillary: SocketAncillary | undefined): ReceivedPacket {
    if (raw.error) {
      raw.fds?.close();
      throw raw.error;
    }
    let packet: ReceivedPacket;
    try {
      packet = this.#protocol.buildPacketFromDatagram(raw.data);
    } catch (err) {
      raw.fds?.close();
      throw err;
    }
    if (ancillary) ancillary._receive(raw.fds, raw.credentials);
    else raw.fds?.close();
    return packet;
  }

  /**
   * Tell the binding what to watch, when that differs from what it applied (control word
   * 2: events in bits 0–1, keep-alive bit 2, strong bit 3). Becoming idle with the same
   * events while the binding delivers a batch (word 0 is 1: the callback or its microtasks
   * run; the last waiting receive was just served) is left in word 1 for the binding to
   * apply when the callback returns: a receive loop asks again in a microtask before then,
   * which takes the request back, so a round trip makes no native call and schedules
   * nothing for it.
   */
  #updateWatch(): void {
    if (this.#closed) return;
    const events = (this.#receiver.wantsData ? READABLE : 0) | (this.#sender.wantsWritable ? WRITABLE : 0);
    const busy = this.#receiver.hasWaiters || this.#sender.pending;
    const keepAlive = this.#ref && busy;
    const want = events | (keepAlive ? STATE_KEEP_ALIVE : 0) | (busy ? STATE_STRONG : 0);
    const control = this.#control;
    const applied = control[CONTROL_APPLIED] as number;
    if (want === applied) {
      control[CONTROL_REQUEST] = 0;
      return;
    }
    if (control[CONTROL_IN_CALLBACK] === 1 && !busy && (applied & STATE_STRONG) !== 0 && (applied & 3) === events) {
      control[CONTROL_REQUEST] = want | REQUEST_PENDING;
      return;
    }
    control[CONTROL_REQUEST] = 0;
    // Held strongly only while something waits: a client that merely prefetches can still
    // be dropped by its user and garbage-collected.
    this.#native.watch(events, keepAlive, busy);
  }
}
