/**
 * @internal The one owner of a native socket. Client, server and the `unix-dgram` drop-in
 * each sit on an {@link Endpoint}; none touches the binding's socket itself. It holds the
 * receive queue, the ordered sender(s), what the binding watches, `ref`/`unref` and close,
 * and it makes the socket's one `setCallback`.
 * @packageDocumentation
 */
import type { Buffer } from 'node:buffer';

import { DEFAULT_BUSY_POLL, nativeBusyPoll, type BusyPoll } from '../busy-poll.js';
import { closedError, type SystemError } from '../errors.js';
import {
  KIND_UNIX_DGRAM,
  NativeSocket,
  READABLE,
  WOULD_BLOCK,
  WRITABLE,
  send,
  sendMany,
  socketpair,
  SEND_MANY_MAX,
  type NativeAddress,
  type NativeSendAncillary,
  type NativeDatagram,
} from '../native/binding.js';
import { PeerSends, type Destination } from './peer-sends.js';
import { SealedSend } from './sealed.js';
import { Receiver } from './receiver.js';
import { Sender, type SendLimits } from './sender.js';
import { SocketProxy } from './socket-proxy.js';
import { WatchControl } from './watch.js';

/** How an endpoint's owner uses it. */
export interface EndpointOptions {
  /** Report each datagram's sender (servers and the drop-in answer many peers). */
  readonly addresses: boolean;
  /** Deliver batches of valid UTF-8 as text: the owner's protocol reads text. */
  readonly text: boolean;
  /**
   * When the socket holds the process open (unless unref'd): `'waiting'` while a receive or
   * a send waits (a client), `'open'` while it reads at all (a server, the drop-in).
   */
  readonly keepAlive: 'waiting' | 'open';
  /** Whether the kernel wakes a send that waits for room: the socket is connected. */
  readonly connected: () => boolean;
  /** Called once a batch is queued in the receiver (a server dispatches, the drop-in emits). */
  readonly onReceived?: () => void;
  /** Called when the sends waiting for room change (the drop-in's `'writable'`). */
  readonly onSendsChanged?: () => void;
  /**
   * `largePayloads: 'memfd'`: a datagram the kernel refuses as too big is sent as a sealed
   * memfd (`sealed.ts`), and such datagrams are received as their payloads, up to
   * `maxPayloadSize` bytes.
   */
  readonly largePayloads?: { readonly maxPayloadSize: number } | undefined;
  /**
   * `reuseReceiveBuffer`: the binding receives into one lent chunk, reused once every payload
   * handed out from it is done with (the next receive that finds nothing queued).
   */
  readonly reuseReceiveBuffer?: boolean;
  /** `busyPoll`: how the binding busy-polls (absent: `DEFAULT_BUSY_POLL`, adaptive). */
  readonly busyPoll?: BusyPoll;
}

/** What a send that went out at once returns: one settled promise, shared. */
const RESOLVED: Promise<void> = Promise.resolve();

/** Datagrams per `sendMany` call: where to start, and the least. */
const SEND_MANY_FIRST = 64;
const SEND_MANY_MIN = 16;

/**
 * A native socket, its receive queue, its sends and what the binding watches for it.
 * `A` is the binding's form of the socket's addresses: `Buffer` (`sun_path` bytes) for a
 * Unix socket, `string` (`"host:port"`) for UDP; the socket's kind decides it.
 */
export class Endpoint<A extends NativeAddress = Buffer> {
  /** Datagrams delivered by the binding, and the callers waiting for one. */
  readonly receiver: Receiver;
  readonly #native: NativeSocket;
  /** The fd number, for the send functions; valid while the endpoint is open. */
  readonly #fd: number;
  readonly #options: EndpointOptions;
  /** The socket's own sends, in call order. */
  readonly #sender: Sender;
  /** Sends to addresses of an unconnected socket, a queue per receiver while any waits. */
  readonly #peers: PeerSends;
  readonly #watch: WatchControl;
  #ref = true;
  #closed = false;
  /** A listening socket: readable means connections, and {@link listen} watches it. */
  #listening = false;
  #proxy: SocketProxy | undefined;

  /**
   * A new unbound socket.
   * @param options - how the owner uses it
   * @param kind - the binding's `KIND_*` (default: a Unix datagram socket)
   * @returns the endpoint
   */
  static create<A extends NativeAddress = Buffer>(options: EndpointOptions, kind: number = KIND_UNIX_DGRAM): Endpoint<A> {
    return Endpoint.#adopt<A>(NativeSocket.create(kind), options, (sock) => sock.close());
  }

  /**
   * A socket the binding made (an accepted connection), owned from now on.
   * @param sock - the native socket
   * @param options - how the owner uses it
   * @returns the endpoint; on failure the socket is closed
   */
  static accepted<A extends NativeAddress = Buffer>(sock: NativeSocket, options: EndpointOptions): Endpoint<A> {
    return Endpoint.#adopt<A>(sock, options, (s) => s.close());
  }

  /**
   * Take over `fd` (checked to be an `AF_UNIX` / `SOCK_DGRAM` socket by the binding). On any
   * failure the descriptor is left open and the caller's.
   * @param fd - the descriptor
   * @param options - how the owner uses it
   * @param setUp - what the owner does with it first (socket options, its own object); if it
   *   throws, the descriptor is handed back open, still the caller's
   * @returns the endpoint, which owns the descriptor from now on
   */
  static adopt<A extends NativeAddress = Buffer>(
    fd: number,
    options: EndpointOptions,
    setUp?: (endpoint: Endpoint<A>) => void,
    kinds?: number[],
  ): Endpoint<A> {
    const endpoint = Endpoint.#adopt<A>(NativeSocket.fromFd(fd, kinds), options, (sock) => sock.release());
    try {
      setUp?.(endpoint);
    } catch (err) {
      endpoint.release();
      throw err;
    }
    return endpoint;
  }

  /**
   * Two sockets connected to each other.
   * @param options - how the owner uses both
   * @param kind - the binding's `KIND_*` (a Unix one; default: datagram)
   * @returns both endpoints
   */
  static pair(options: EndpointOptions, kind: number = KIND_UNIX_DGRAM): [Endpoint, Endpoint] {
    const [a, b] = socketpair(kind) as [NativeSocket, NativeSocket];
    try {
      return [new Endpoint(a, options), new Endpoint(b, options)];
    } catch (err) {
      a.close();
      b.close();
      throw err;
    }
  }

  static #adopt<A extends NativeAddress>(sock: NativeSocket, options: EndpointOptions, undo: (sock: NativeSocket) => void): Endpoint<A> {
    try {
      return new Endpoint<A>(sock, options);
    } catch (err) {
      undo(sock);
      throw err;
    }
  }

  private constructor(sock: NativeSocket, options: EndpointOptions) {
    this.#native = sock;
    this.#fd = sock.fd;
    this.#options = options;
    const changed = (): void => this.#update();
    if (options.reuseReceiveBuffer === true) sock.lendReceiveBuffer();
    const [busyPollMicros, adaptive] = nativeBusyPoll(options.busyPoll ?? DEFAULT_BUSY_POLL);
    if (busyPollMicros > 0) sock.setBusyPoll(busyPollMicros, adaptive);
    const recycle = options.reuseReceiveBuffer === true ? () => sock.recycle() : undefined;
    this.receiver = new Receiver(() => sock.readNow(), changed, options.largePayloads?.maxPayloadSize, recycle);
    this.#sender = new Sender(options.connected, () => {
      this.#update();
      options.onSendsChanged?.();
    });
    this.#peers = new PeerSends(sock.fd, options.largePayloads !== undefined);
    this.#watch = new WatchControl(sock);
    if (options.addresses) sock.setWantAddress(true);
    if (options.text) sock.setTextPayloads(true);
    const { onReceived } = options;
    sock.setCallback((slab, meta, extras, fds, text, writable) => {
      // The batch first: its metadata array is reused by the next read. A writable event
      // was one-shot: the binding has already dropped it from the applied state.
      if (meta) this.receiver.onBatch(slab, meta, extras, fds, text);
      if (writable) this.#sender.onWritable();
      if (meta && onReceived) onReceived();
    });
  }

  /** The descriptor, still owned by the endpoint. */
  get fd(): number {
    return this.#native.fd;
  }

  /** The socket's kind, one of the binding's `KIND_*`. */
  get kind(): number {
    return this.#native.kind;
  }

  /** Whether {@link close} or {@link release} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the socket may hold the process open ({@link setRef}). */
  get refed(): boolean {
    return this.#ref;
  }

  /** Low-level access for users: the descriptor and socket options. */
  get proxy(): SocketProxy {
    this.#proxy ??= new SocketProxy(this.#native);
    return this.#proxy;
  }

  /**
   * Bind to `sun_path` bytes (empty: autobind), with `mode` for a path's socket file, or to
   * an IP address and port.
   * @param address - the binding's form of the address
   * @param mode - permission bits of the socket file
   */
  bind(address: A, mode?: number): void {
    if (mode === undefined) this.#native.bind(address);
    else this.#native.bind(address, mode);
  }

  /** Connect. @param address - the peer, in the binding's form */
  connect(address: A): void {
    this.#native.connect(address);
  }

  /**
   * Listen for connections (a bound seqpacket socket); each is handed to `onConnection`, an
   * accepted native socket for the caller to own. The endpoint then reads no datagrams.
   * @param backlog - connections that may wait
   * @param onConnection - takes each accepted socket
   */
  listen(backlog: number, onConnection: (sock: NativeSocket) => void): void {
    const sock = this.#native;
    sock.listen(backlog);
    sock.setCallback(() => {
      for (let next = sock.accept(); next !== null; next = sock.closed ? null : sock.accept()) onConnection(next);
    });
    this.#watch.set(READABLE, this.#ref, true);
    this.#listening = true;
  }

  /** UDP: GRO on (coalesced datagrams are split natively) and drop counts reported. */
  receiveUdp(): void {
    this.#native.setUdpGro(true);
    this.#native.setReportDrops(true);
  }

  /**
   * Ask for a receive buffer of `size` bytes, past `net.core.rmem_max` when privileged.
   * @param size - bytes
   * @returns what the kernel granted (it doubles the request for its bookkeeping)
   */
  raiseReceiveBuffer(size: number): number {
    this.#native.raiseReceiveBufferSize(size);
    return this.#native.getReceiveBufferSize();
  }

  /** Connect again to the address last connected to. */
  reconnect(): void {
    this.#native.reconnect();
  }

  /** Turn `SO_PASSCRED` on. */
  passCredentials(): void {
    this.#native.setPassCredentials(true);
  }

  /** Turn `SO_PASSPIDFD` on. */
  passPidfd(): void {
    this.#native.setPassPidfd(true);
  }

  /** @returns the local address, in the binding's form */
  localAddress(): A {
    return this.#native.localAddress() as A;
  }

  /** @returns the peer's address, in the binding's form */
  peerAddress(): A {
    return this.#native.peerAddress() as A;
  }

  /** @returns a new close-on-exec descriptor for the socket, the caller's */
  dupFd(): number {
    return this.#native.dupFd();
  }

  /**
   * Block the thread until a datagram is queued or `ms` pass (negative: no limit).
   * @param ms - milliseconds
   * @returns whether one is queued
   */
  waitReadable(ms: number): boolean {
    return this.#native.waitReadable(ms);
  }

  /** Whether sends of the socket's own queue wait for room. */
  get sendPending(): boolean {
    return this.#sender.pending;
  }

  /**
   * Send one datagram in call order: at once if nothing waits ahead of it, else (or when the
   * peer's queue is full) once there is room, until `limits` withdraw it.
   * @param data - the bytes, or a text sent as UTF-8
   * @param dest - the receiver's `sun_path` bytes on an unconnected socket, else null
   * @param ancillary - descriptors and credentials, or null
   * @param limits - what may end its wait for room
   * @returns a promise that resolves once the datagram is in the kernel
   */
  send(data: NativeDatagram, dest: A | null, ancillary: NativeSendAncillary | null, limits?: SendLimits): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    const fd = this.#fd;
    if (this.#options.largePayloads !== undefined && ancillary === null) {
      const sealed = new SealedSend(
        data,
        () => send(fd, data, dest, null),
        (memfd, empty) => send(fd, empty, dest, { fds: [memfd] }),
      );
      if (!this.#sender.pending) {
        let sent: number;
        try {
          sent = sealed.attempt();
        } catch (err) {
          sealed.release();
          return Promise.reject(err);
        }
        if (sent !== WOULD_BLOCK) {
          sealed.release();
          return RESOLVED;
        }
      }
      return sealed.releasing(this.#sender.enqueue(sealed.attempt, limits));
    }
    // Bytes alone to the connected peer (the common send) pass no more arguments than that.
    const plain = dest === null && ancillary === null;
    if (!this.#sender.pending) {
      let sent: number;
      try {
        sent = plain ? send(fd, data) : send(fd, data, dest, ancillary);
      } catch (err) {
        return Promise.reject(err);
      }
      if (sent !== WOULD_BLOCK) return RESOLVED;
    }
    return this.#sender.enqueue(plain ? () => send(fd, data) : () => send(fd, data, dest, ancillary), limits);
  }

  /**
   * Send one datagram now if there is room, without waiting (the synchronous API).
   * @param data - the bytes, or a text sent as UTF-8
   * @param ancillary - descriptors and credentials, or null
   * @returns whether it was sent: false when the peer's queue is full
   */
  sendNow(data: NativeDatagram, ancillary: NativeSendAncillary | null): boolean {
    if (this.#closed) throw closedError();
    const fd = this.#fd;
    if (this.#options.largePayloads === undefined || ancillary !== null) return send(fd, data, null, ancillary) !== WOULD_BLOCK;
    const sealed = new SealedSend(
      data,
      () => send(fd, data, null, null),
      (memfd, empty) => send(fd, empty, null, { fds: [memfd] }),
    );
    try {
      return sealed.attempt() !== WOULD_BLOCK;
    } finally {
      sealed.release();
    }
  }

  /**
   * Send many datagrams in call order with as few `sendmmsg` calls as the peer's queue
   * allows, each with its own control data.
   * @param datas - the datagrams
   * @param extras - control data by index, or null for none at all
   * @param limits - what may end a wait for room
   * @returns a promise that resolves once all are in the kernel, and how many went out so
   * far (for the error of one that fails or is withdrawn)
   */
  sendMany(
    datas: Array<Buffer | Buffer[]>,
    extras: Array<NativeSendAncillary | null> | null,
    limits?: SendLimits,
  ): { done: Promise<void>; sent: () => number } {
    if (this.#closed) return { done: Promise.reject(closedError()), sent: () => 0 };
    const fd = this.#fd;
    let offset = 0;
    // A full peer queue takes only a few (11 by default), and each call marshals its whole
    // chunk: start small, grow while everything goes out, shrink to about what fitted.
    let chunk = SEND_MANY_FIRST;
    // With largePayloads, a datagram the kernel refuses as too big goes alone, sealed.
    let sealed: SealedSend | undefined;
    const large = this.#options.largePayloads !== undefined;
    const attempt = (): number => {
      while (offset < datas.length) {
        if (sealed !== undefined) {
          if (sealed.attempt() === WOULD_BLOCK) return WOULD_BLOCK;
          sealed.release();
          sealed = undefined;
          offset++;
          continue;
        }
        const end = Math.min(datas.length, offset + chunk);
        const asked = end - offset;
        let sent: number;
        try {
          sent = sendMany(fd, datas, offset, end, null, extras);
        } catch (err) {
          if (!large || (err as SystemError).code !== 'EMSGSIZE' || (extras?.[offset] ?? null) !== null) throw err;
          const data = datas[offset] as Buffer | Buffer[];
          sealed = new SealedSend(
            data,
            () => send(fd, data, null, null),
            (memfd, empty) => send(fd, empty, null, { fds: [memfd] }),
          );
          continue;
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
    };
    const done = this.#sender.send(attempt, limits);
    if (large)
      done.then(
        () => sealed?.release(),
        () => sealed?.release(),
      );
    return { done, sent: () => offset };
  }

  /**
   * Send one datagram to `dest` on an unconnected socket, in the order of the sends to that
   * receiver; a full receiver holds back only the sends to it (`peer-sends.ts`).
   * @param dest - the receiver
   * @param data - the bytes, or a text sent as UTF-8
   * @param ancillary - descriptors and credentials, or null
   * @param limits - what may end its wait for room
   * @returns a promise that resolves once the datagram is in the kernel
   */
  sendTo(dest: Destination, data: NativeDatagram, ancillary: NativeSendAncillary | null, limits?: SendLimits): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    return this.#peers.send(dest, data, ancillary, limits);
  }

  /**
   * Send `datas[i]` to `dests[i]` on an unconnected socket: one `sendmmsg` while there is
   * room, then per receiver through its queue (`peer-sends.ts`).
   * @param datas - the datagrams
   * @param dests - their receivers, by index
   * @param extras - control data by index, or null for none at all
   * @param limits - what may end a wait for room
   * @returns a promise that resolves once all are in the kernel, and how many are so far
   */
  sendManyTo(
    datas: Array<Buffer | Buffer[]>,
    dests: Destination[],
    extras: Array<NativeSendAncillary | null> | null,
    limits?: SendLimits,
  ): { done: Promise<void>; sent: () => number } {
    if (this.#closed) return { done: Promise.reject(closedError()), sent: () => 0 };
    return this.#peers.sendMany(datas, dests, extras, limits);
  }

  /**
   * Whether the socket may hold the process open: while something waits (`'waiting'`) or
   * while it reads (`'open'`). Retry timers of waiting sends follow it.
   * @param on - ref (the default) or unref
   */
  setRef(on: boolean): void {
    this.#ref = on;
    this.#sender.setRef(on);
    this.#peers.setRef(on);
    this.#update();
  }

  /**
   * Close the socket: stop watching, close the fd, reject waiting sends with `err`, close
   * descriptors received but not taken, and resolve waiting receives with `err` entries.
   * Idempotent.
   * @param err - what pending operations are told
   */
  close(err: SystemError = closedError()): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.close();
    this.#finish(err);
  }

  /**
   * As {@link close}, but hand the descriptor back open instead of closing it.
   * @param err - what pending operations are told
   * @returns the descriptor, now the caller's
   */
  release(err: SystemError = closedError()): number {
    if (this.#closed) return -1;
    this.#closed = true;
    const fd = this.#native.release();
    this.#finish(err);
    return fd;
  }

  #finish(err: SystemError): void {
    this.#sender.close(err);
    this.#peers.close(err);
    for (const waiter of this.receiver.close())
      waiter.resolve({ data: '', from: undefined, fds: undefined, credentials: undefined, error: err });
  }

  /** Tell the binding what to watch now. */
  #update(): void {
    if (this.#closed) return;
    if (this.#listening) {
      this.#watch.set(READABLE, this.#ref, true);
      return;
    }
    const events = (this.receiver.wantsData ? READABLE : 0) | (this.#sender.wantsWritable ? WRITABLE : 0);
    if (this.#options.keepAlive === 'waiting') {
      const busy = this.receiver.hasWaiters || this.#sender.pending;
      this.#watch.set(events, this.#ref && busy, busy);
    } else {
      this.#watch.set(events, this.#ref && events !== 0, events !== 0);
    }
  }
}
