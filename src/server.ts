/**
 * The Unix datagram server, modelled on easynetwork's `AsyncUnixDatagramServer`: one bound
 * socket, a request handler per sender address, replies that wait on their own peer only.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { decodeAddress, encodeAddress, type AddressLike, type UnixAddress } from './address.js';
import { AbortError, checkOptions, checkSignal, closedError, invalidArgType, invalidArgValue } from './errors.js';
import { native, READABLE, type NativeSocket } from './native.js';
import { checkProtocol, type DatagramProtocol } from './protocol.js';
import { Receiver, type RawDatagram } from './receiver.js';
import { Sender } from './sender.js';
import { UnixDatagramServerClient } from './server-client.js';
import { checkHandler, ClientSlot, type RequestHandler, type SlotHost } from './server-handler.js';
import { defaultOnError, SERVER_OPTION_NAMES, type ServeOptions, type ServerOptions } from './server-options.js';
import { bindSocketFile, unlinkSocketFile, type SocketFile } from './socket-file.js';

export type { ServeOptions, ServerOptions } from './server-options.js';

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
 *   async (request, client) => {
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
  /** Stops listening to `listen`'s `signal`. */
  #unlisten: (() => void) | undefined;

  /**
   * Bind `address` and start serving. Every argument is checked before any socket exists.
   * @param address - a path, `'\0name'` / `{ abstract }` for an abstract name
   * @param protocol - how packets are encoded
   * @param handler - `async (packet, client) => …`, called per packet ({@link PacketHandler}),
   *   or `{ async *handle(client) { … } }`, run per conversation ({@link ConversationHandler});
   *   either written inline gets its parameter types from `protocol`
   * @param options - mode, stale files, credentials, error hook, a signal that closes the server
   * @returns the serving server
   * @throws `EADDRINUSE` (with the reason), `EACCES`, `ENOENT`, `ENAMETOOLONG`, …;
   * `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for bad arguments; an `AbortError` if
   * the signal is already aborted
   */
  static async listen<S, R>(
    address: AddressLike,
    protocol: DatagramProtocol<S, R>,
    handler: NoInfer<RequestHandler<S, R>>,
    options: ServerOptions<NoInfer<S>> = {},
  ): Promise<UnixDatagramServer<S, R>> {
    const raw = encodeAddress(address);
    checkProtocol(protocol);
    checkHandler(handler);
    checkOptions(options, SERVER_OPTION_NAMES.listen);
    const { onError } = options;
    if (onError !== undefined && typeof onError !== 'function') throw invalidArgType('options.onError', 'a function', onError);
    const signal = checkSignal(options.signal);
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
    let server: UnixDatagramServer<S, R>;
    try {
      server = new UnixDatagramServer(sock, protocol, handler, file, 'path' in local ? local : decodeAddress(sock.localAddress()), onError);
    } catch (err) {
      sock.close();
      if (file) unlinkSocketFile(file);
      throw err;
    }
    if (signal) server.#closeOn(signal);
    return server;
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
   * @param options - `signal`: closes the server when it aborts; the promise then rejects
   *   with an `AbortError` once the close has finished
   * @returns a promise that resolves once {@link close} has finished
   */
  serveForever(options?: ServeOptions): Promise<void> {
    let signal: AbortSignal | undefined;
    try {
      checkOptions(options, SERVER_OPTION_NAMES.serve);
      const given = options?.signal;
      if (given !== undefined && !(given instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', given);
      signal = given;
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal === undefined || this.#closed) return this.#done;
    if (signal.aborted) return this.close().then(() => Promise.reject(new AbortError(signal.reason)));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => void this.close().then(() => reject(new AbortError(signal.reason)));
      signal.addEventListener('abort', onAbort, { once: true });
      void this.#done.then(() => {
        signal.removeEventListener('abort', onAbort);
        if (!signal.aborted) resolve();
      });
    });
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
    this.#unlisten?.();
    this.#unlisten = undefined;
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

  /** Close when `signal` aborts (and stop listening to it once closed). */
  #closeOn(signal: AbortSignal): void {
    const onAbort = (): void => void this.close();
    signal.addEventListener('abort', onAbort, { once: true });
    this.#unlisten = () => signal.removeEventListener('abort', onAbort);
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
