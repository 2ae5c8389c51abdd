/**
 * The Unix datagram server, modelled on easynetwork's `AsyncUnixDatagramServer`: one bound
 * socket, a request handler per sender address, replies that wait on their own peer only.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { decodeAddress, encodeAddress, type AddressLike, type UnixAddress } from './address.js';
import { checkOptions, closedError, invalidArgType, invalidArgValue } from './errors.js';
import { native, READABLE, type NativeSocket } from './native.js';
import type { DatagramProtocol } from './protocol.js';
import { Receiver, type RawDatagram } from './receiver.js';
import { Sender } from './sender.js';
import { UnixDatagramServerClient } from './server-client.js';
import { ClientSlot, type ConversationHandler, type PacketHandler, type RequestHandler, type SlotHost } from './server-handler.js';
import { defaultOnError, type ServerOptions } from './server-options.js';
import { bindSocketFile, unlinkSocketFile, type SocketFile } from './socket-file.js';

export type { ServerOptions } from './server-options.js';

/**
 * Most packets queued for one sender's handler. When a sender has this many waiting, the
 * server stops reading: datagrams wait in the kernel queue and senders wait (backpressure),
 * nothing is dropped. Reading resumes as that handler catches up.
 */
export const MAX_QUEUED_PER_CLIENT = 1024;

/**
 * A server on one Unix datagram socket: each sender address gets its own handler run, so
 * handlers of different senders run concurrently while packets of one sender are handled
 * in order. Serving starts at {@link UnixDatagramServer.listen}.
 *
 * @typeParam SentPacket - what the server sends (replies)
 * @typeParam ReceivedPacket - what it receives (requests)
 * @example
 * ```ts
 * const server = await UnixDatagramServer.listen('/run/app.sock', new DatagramProtocol(new JSONSerializer()),
 *   async function* (client) {
 *     const request = yield;
 *     await client.sendPacket({ echo: request });
 *   }, { mode: 0o600, removeStale: true });
 * await server.serveForever(); // until server.close()
 * ```
 */
export class UnixDatagramServer<SentPacket, ReceivedPacket> {
  readonly #native: NativeSocket;
  readonly #receiver: Receiver;
  readonly #host: SlotHost<SentPacket, ReceivedPacket>;
  /** Slots of bound senders, by `sun_path` bytes (as latin1). */
  readonly #slots = new Map<string, ClientSlot<SentPacket, ReceivedPacket>>();
  /** Slots of unbound senders (one per packet) still running. */
  readonly #anonymous = new Set<ClientSlot<SentPacket, ReceivedPacket>>();
  readonly #keys = new WeakMap<ClientSlot<SentPacket, ReceivedPacket>, string>();
  /** The address Buffer last dispatched, and its key in `#slots`. */
  #lastAddress: Buffer | undefined;
  #lastKey = '';
  readonly #file: SocketFile | undefined;
  readonly #local: UnixAddress;
  readonly #onError: (error: unknown, client: UnixDatagramServerClient<SentPacket> | undefined) => void;
  #release: (() => void) | undefined;
  #full = new Set<ClientSlot<SentPacket, ReceivedPacket>>();
  #pumping = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #ref = true;
  #watching = -1;
  #keepAlive = false;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  /**
   * Bind `address` and start serving.
   * @param address - a path, `'\0name'` / `{ abstract }` for an abstract name
   * @param protocol - how packets are encoded
   * @param handler - an `async function*` per conversation ({@link ConversationHandler}) or
   *   an `async (packet, client) => …` per packet ({@link PacketHandler}; annotate its
   *   parameters when written inline)
   * @param options - mode, stale files, credentials, error hook
   * @returns the serving server
   * @throws `EADDRINUSE` (with the reason), `EACCES`, `ENOENT`, `ENAMETOOLONG`, …
   */
  static listen<S, R>(
    address: AddressLike,
    protocol: DatagramProtocol<S, R>,
    handler: NoInfer<ConversationHandler<S, R>>,
    options?: ServerOptions<NoInfer<S>>,
  ): Promise<UnixDatagramServer<S, R>>;
  static listen<S, R>(
    address: AddressLike,
    protocol: DatagramProtocol<S, R>,
    handler: NoInfer<PacketHandler<S, R>>,
    options?: ServerOptions<NoInfer<S>>,
  ): Promise<UnixDatagramServer<S, R>>;
  static async listen<S, R>(
    address: AddressLike,
    protocol: DatagramProtocol<S, R>,
    handler: RequestHandler<S, R>,
    options: ServerOptions<S> = {},
  ): Promise<UnixDatagramServer<S, R>> {
    const raw = encodeAddress(address);
    if (typeof handler !== 'function') throw invalidArgType('handler', 'a function or an async generator function', handler);
    checkOptions(options);
    const { onError } = options;
    if (onError !== undefined && typeof onError !== 'function') throw invalidArgType('options.onError', 'a function', onError);
    const local = decodeAddress(raw);
    if (!('path' in local) && options.mode !== undefined) {
      throw invalidArgValue('options.mode', 'applies to socket files only (an abstract name has no permissions)', options.mode);
    }
    const sock = native.NativeSocket.create();
    let file: SocketFile | undefined;
    try {
      if (options.passCredentials) sock.setPassCredentials(true);
      sock.setWantAddress(true);
      if ('path' in local) file = bindSocketFile(sock, local.path, options);
      else sock.bind(raw);
    } catch (err) {
      sock.close();
      throw err;
    }
    return new UnixDatagramServer(sock, protocol, handler, file, 'path' in local ? local : decodeAddress(sock.localAddress()), onError);
  }

  private constructor(
    sock: NativeSocket,
    protocol: DatagramProtocol<SentPacket, ReceivedPacket>,
    handler: RequestHandler<SentPacket, ReceivedPacket>,
    file: SocketFile | undefined,
    local: UnixAddress,
    onError: ServerOptions<SentPacket>['onError'],
  ) {
    this.#native = sock;
    this.#file = file;
    this.#local = local;
    this.#onError = onError ?? defaultOnError(local);
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
    this.#host = {
      protocol,
      handler,
      report: (err, client) => this.#report(err, client),
      closed: () => this.#closed,
      shifted: (slot) => {
        if (this.#full.has(slot) && slot.queued < MAX_QUEUED_PER_CLIENT) {
          this.#full.delete(slot);
          this.#pump();
        }
      },
      settled: (slot) => this.#forgetIfIdle(slot),
    };
    this.#receiver = new Receiver(sock, () => this.#updateWatch());
    // A text protocol (JSON, strings) gets valid UTF-8 datagrams as slices of one string.
    if (protocol._receivesText) sock.setTextPayloads(true);
    sock.setCallback((slab?: ArrayBuffer, meta?: Uint32Array, extras?: object[], _writable?: boolean, fds?: Int32Array, text?: string) => {
      if (!meta) return;
      this.#receiver.onBatch(slab, meta, extras as never, fds, text);
      this.#pump();
    });
    this.#release = this.#receiver.hold();
  }

  /** The address the server is bound to (the path given to `listen` for socket files). */
  getLocalName(): UnixAddress {
    if (this.#closed) throw closedError();
    return this.#local;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Wait while the server serves (it started at `listen`).
   * @returns a promise that resolves once {@link close} has finished
   */
  serveForever(): Promise<void> {
    return this.#done;
  }

  /** Let the process exit while the server waits for datagrams. @returns this */
  unref(): this {
    this.#setRef(false);
    return this;
  }

  /** Undo {@link unref}: the listening server keeps the process alive (the default). @returns this */
  ref(): this {
    this.#setRef(true);
    return this;
  }

  /**
   * Stop serving: close the socket, end conversations waiting for a packet (their
   * generators are `return()`ed), reject replies still waiting with `ERR_UNIXGRAM_CLOSED`,
   * close descriptors of packets not handled, unlink the socket file if it is still the one
   * this server created, and wait for handlers still running. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** `await using server = …` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#release?.();
    this.#release = undefined;
    this.#native.close();
    for (const raw of this.#receiverLeftovers()) raw.fds?.close();
    const running: Promise<void>[] = [];
    for (const slot of [...this.#slots.values(), ...this.#anonymous]) {
      slot.close();
      if (slot.running) running.push(slot.running);
    }
    if (this.#file) unlinkSocketFile(this.#file);
    await Promise.allSettled(running);
    this.#slots.clear();
    this.#anonymous.clear();
    this.#full.clear();
    this.#resolveDone();
  }

  #receiverLeftovers(): RawDatagram[] {
    const left: RawDatagram[] = [];
    for (let raw = this.#receiver.takeQueued(); raw; raw = this.#receiver.takeQueued()) left.push(raw);
    this.#receiver.close();
    return left;
  }

  /** Hand what the receiver holds to the senders' slots, until one sender's queue is full. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#closed && this.#full.size === 0) {
        const raw = this.#receiver.takeQueued();
        if (!raw) break;
        this.#dispatch(raw);
      }
    } finally {
      this.#pumping = false;
    }
    if (this.#closed) return;
    const reading = this.#full.size === 0;
    if (reading && !this.#release) this.#release = this.#receiver.hold();
    if (!reading && this.#release) {
      this.#release();
      this.#release = undefined;
    }
  }

  #dispatch(raw: RawDatagram): void {
    if (raw.error) {
      raw.fds?.close();
      this.#report(raw.error, undefined);
      return;
    }
    const address = raw.address ?? Buffer.alloc(0);
    if (address.length === 0) {
      const slot = this.#newSlot(address, true); // unbound senders cannot be told apart
      this.#anonymous.add(slot);
      slot.push(raw);
      return;
    }
    // Addresses come as one Buffer per change of sender: a run from one client is keyed once.
    const key = address === this.#lastAddress ? this.#lastKey : address.toString('latin1');
    this.#lastAddress = address;
    this.#lastKey = key;
    let slot = this.#slots.get(key);
    if (!slot) {
      slot = this.#newSlot(Buffer.from(address), false);
      this.#slots.set(key, slot);
      this.#keys.set(slot, key);
    }
    slot.push(raw);
    if (slot.queued >= MAX_QUEUED_PER_CLIENT) this.#full.add(slot);
  }

  #newSlot(address: Buffer, once: boolean): ClientSlot<SentPacket, ReceivedPacket> {
    let slot: ClientSlot<SentPacket, ReceivedPacket> | undefined;
    const sender = new Sender(() => false, () => slot && this.#forgetIfIdle(slot));
    sender.setRef(this.#ref);
    const client = new UnixDatagramServerClient<SentPacket>(
      { native: this.#native, protocol: this.#host.protocol as DatagramProtocol<SentPacket, unknown>, rawAddress: address, sender, closed: () => this.#closed },
      decodeAddress(address),
    );
    slot = new ClientSlot(this.#host, client, sender, once);
    return slot;
  }

  #forgetIfIdle(slot: ClientSlot<SentPacket, ReceivedPacket>): void {
    if (!slot.idle || this.#closed) return;
    this.#anonymous.delete(slot);
    const key = this.#keys.get(slot);
    if (key !== undefined && this.#slots.get(key) === slot) this.#slots.delete(key);
  }

  #report(err: unknown, client: UnixDatagramServerClient<SentPacket> | undefined): void {
    try {
      this.#onError(err, client);
    } catch (hookError) {
      console.error('unixgram server: the onError hook threw', hookError, 'while reporting', err);
    }
  }

  #setRef(on: boolean): void {
    this.#ref = on;
    for (const slot of [...this.#slots.values(), ...this.#anonymous]) slot.sender.setRef(on);
    this.#updateWatch();
  }

  #updateWatch(): void {
    if (this.#closed) return;
    const events = this.#receiver.wantsData ? READABLE : 0;
    const keepAlive = this.#ref && events !== 0;
    if (events === this.#watching && keepAlive === this.#keepAlive) return;
    this.#watching = events;
    this.#keepAlive = keepAlive;
    this.#native.watch(events, keepAlive);
  }
}
