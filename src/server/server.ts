/**
 * The Unix datagram server, modelled on easynetwork's `AsyncUnixDatagramServer`: one bound
 * socket, a request handler per sender address, replies that wait on their own peer only.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import { decodeAddress, encodeAddress, type AddressLike, type UnixAddress } from '../address.js';
import { checkFd, checkOptions, checkSignal, checkSignalType } from '../checks.js';
import { AbortError, invalidArgType, invalidArgValue } from '../errors.js';
import { Endpoint, type EndpointOptions } from '../lowlevel/endpoint.js';
import type { Peer, RawDatagram } from '../lowlevel/receiver.js';
import { largePayloadsOf } from '../large-payloads.js';
import { Lifetime } from '../lowlevel/lifetime.js';
import { bindSocketFile, type SocketFile } from '../lowlevel/socket-file.js';
import { codecOf, type Codec } from '../protocol/codec.js';
import { checkProtocol, type DatagramProtocol } from '../protocol/protocol.js';
import { UnixDatagramServerClient } from './client.js';
import { checkHandler, ClientSlot, type RequestHandler, type SlotHost } from './handler.js';
import { defaultOnError, SERVER_OPTION_NAMES, type ServeOptions, type ServerFromFdOptions, type ServerOptions } from './options.js';

export type { ServeOptions, ServerFromFdOptions, ServerOptions } from './options.js';

/**
 * Most packets queued for one sender's handler. When a sender has this many waiting, the
 * server stops reading: datagrams wait in the kernel queue and senders wait (backpressure),
 * nothing is dropped. Reading resumes as that handler catches up.
 */
export const MAX_QUEUED_PER_CLIENT = 1024;

/**
 * Slots of bound senders kept while idle (a sender that sends again reuses its slot and
 * client object); beyond this many, the idle ones are forgotten.
 */
const IDLE_SLOTS_SWEEP = 256;

/** The destination of an unbound sender: none (it cannot be answered). */
const UNNAMED = { raw: Buffer.alloc(0), key: '' } as const;

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
  readonly #endpoint: Endpoint;
  readonly #host: SlotHost<SentPacket, ReceivedPacket>;
  /** Slots of bound senders, by address key. */
  readonly #slots = new Map<string, ClientSlot<SentPacket, ReceivedPacket>>();
  /** Slots of unbound senders (one per packet) still running. */
  readonly #anonymous = new Set<ClientSlot<SentPacket, ReceivedPacket>>();
  /** The endpoint, the socket file `listen` created and the signal. */
  readonly #life: Lifetime;
  readonly #local: UnixAddress;
  readonly #onError: (error: unknown, client: UnixDatagramServerClient<SentPacket> | undefined) => void;
  #release: (() => void) | undefined;
  #full = new Set<ClientSlot<SentPacket, ReceivedPacket>>();
  #pumping = false;
  #closing: Promise<void> | undefined;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  /**
   * Bind `address` and start serving. Every argument is checked before any socket exists.
   * @param address - a path, `'\0name'` / `{ abstract }` for an abstract name
   * @param protocol - how packets are encoded
   * @param handler - `async (packet, client) => …`, called per packet (`PacketHandler`),
   *   or `{ async *handle(client) { … } }`, run per conversation (`ConversationHandler`);
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
    const codec = codecOf(protocol);
    const start = UnixDatagramServer.#starter(codec, handler, onError, largePayloadsOf(options));
    const endpoint = start.endpoint((endpointOptions) => Endpoint.create(endpointOptions));
    let file: SocketFile | undefined;
    let server: UnixDatagramServer<S, R>;
    try {
      if (options.passCredentials) endpoint.passCredentials();
      if (options.passPidfd) endpoint.passPidfd();
      if ('path' in local) file = bindSocketFile(endpoint, local.path, options);
      else endpoint.bind(raw);
      server = start.serve(endpoint, file, 'path' in local ? local : undefined);
    } catch (err) {
      new Lifetime(endpoint, file).end();
      throw err;
    }
    if (signal) server.#life.closeOn(signal, () => server.close());
    return server;
  }

  /**
   * Serve on an existing bound `AF_UNIX` `SOCK_DGRAM` socket, e.g. one systemd passed
   * (socket activation) or a parent process bound. The server owns it from now on and closes
   * it, and never unlinks a socket file it did not create. The arguments are checked before
   * the descriptor is touched, and on every failure the descriptor is left open and yours.
   * @param fd - the descriptor
   * @param protocol - how packets are encoded
   * @param handler - as for {@link listen}
   * @param options - credentials, error hook, a signal that closes the server
   * @returns the serving server
   * @throws `ERR_UNIXGRAM_NOT_UNIX_DGRAM` if `fd` is not such a socket;
   * `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` / `ERR_INVALID_ARG_VALUE` for bad arguments;
   * an `AbortError` if the signal is already aborted
   */
  static fromFd<S, R>(
    fd: number,
    protocol: DatagramProtocol<S, R>,
    handler: NoInfer<RequestHandler<S, R>>,
    options: ServerFromFdOptions<NoInfer<S>> = {},
  ): UnixDatagramServer<S, R> {
    checkFd(fd);
    checkProtocol(protocol);
    checkHandler(handler);
    checkOptions(options, SERVER_OPTION_NAMES.fromFd);
    const { onError } = options;
    if (onError !== undefined && typeof onError !== 'function') throw invalidArgType('options.onError', 'a function', onError);
    const signal = checkSignal(options.signal);
    const start = UnixDatagramServer.#starter(codecOf(protocol), handler, onError, largePayloadsOf(options));
    let server!: UnixDatagramServer<S, R>;
    start.endpoint((endpointOptions) =>
      Endpoint.adopt(fd, endpointOptions, (endpoint) => {
        if (options.passCredentials) endpoint.passCredentials();
        if (options.passPidfd) endpoint.passPidfd();
        server = start.serve(endpoint, undefined, undefined);
      }),
    );
    if (signal) server.#life.closeOn(signal, () => server.close());
    return server;
  }

  /** How `listen` and `fromFd` make the endpoint and then the server on it. */
  static #starter<S, R>(
    codec: Codec<S, R>,
    handler: RequestHandler<S, R>,
    onError: ServerOptions<S>['onError'],
    largePayloads: EndpointOptions['largePayloads'],
  ) {
    let server: UnixDatagramServer<S, R> | undefined;
    return {
      endpoint: (make: (options: EndpointOptions) => Endpoint): Endpoint =>
        make({
          addresses: true,
          text: codec.receivesText,
          keepAlive: 'open',
          connected: () => false,
          largePayloads,
          onReceived: () => {
            if (server) server.#pump();
          },
        }),
      serve: (endpoint: Endpoint, file: SocketFile | undefined, local: UnixAddress | undefined): UnixDatagramServer<S, R> =>
        (server = new UnixDatagramServer(endpoint, codec, handler, file, local ?? decodeAddress(endpoint.localAddress()), onError)),
    };
  }

  private constructor(
    endpoint: Endpoint,
    codec: Codec<SentPacket, ReceivedPacket>,
    handler: RequestHandler<SentPacket, ReceivedPacket>,
    file: SocketFile | undefined,
    local: UnixAddress,
    onError: ServerOptions<SentPacket>['onError'],
  ) {
    this.#endpoint = endpoint;
    this.#life = new Lifetime(endpoint, file);
    this.#local = local;
    this.#onError = onError ?? defaultOnError(local);
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
    this.#host = {
      codec,
      handler,
      report: (err, client) => this.#report(err, client),
      closed: () => this.closed,
      shifted: (slot) => {
        if (this.#full.has(slot) && slot.queued < MAX_QUEUED_PER_CLIENT) {
          this.#full.delete(slot);
          this.#pump();
        }
      },
      settled: (slot) => this.#forgetIfIdle(slot),
    };
    this.#release = endpoint.receiver.hold();
  }

  /** The address the server is bound to (the path given to `listen` for socket files). */
  getLocalName(): UnixAddress {
    this.#life.checkOpen();
    return this.#local;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#endpoint.closed;
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
      signal = checkSignalType(options?.signal);
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal === undefined || this.closed) return this.#done;
    const abort = signal;
    if (abort.aborted) return this.close().then(() => Promise.reject(new AbortError(abort.reason)));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => void this.close().then(() => reject(new AbortError(abort.reason)));
      abort.addEventListener('abort', onAbort, { once: true });
      void this.#done.then(() => {
        abort.removeEventListener('abort', onAbort);
        if (!abort.aborted) resolve();
      });
    });
  }

  /** Let the process exit while the server waits for datagrams. @returns this */
  unref(): this {
    this.#endpoint.setRef(false);
    return this;
  }

  /** Undo {@link unref}: the listening server keeps the process alive (the default). @returns this */
  ref(): this {
    this.#endpoint.setRef(true);
    return this;
  }

  /**
   * Stop serving: close the socket, end conversations waiting for a packet (their
   * generators are `return()`ed), reject replies still waiting with `ERR_UNIXGRAM_CLOSED`,
   * close descriptors of packets not handled, unlink the socket file if it is still the one
   * this server created, and wait for handlers still running. Idempotent. A handler that
   * closes its server must not await this (it would wait for itself): `void server.close()`.
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
    this.#release?.();
    this.#release = undefined;
    // Fails waiting replies, closes fds of packets not dispatched, unlinks our socket file.
    this.#life.end();
    const running: Promise<void>[] = [];
    for (const slot of [...this.#slots.values(), ...this.#anonymous]) {
      slot.close();
      if (slot.running) running.push(slot.running);
    }
    await Promise.allSettled(running);
    this.#slots.clear();
    this.#anonymous.clear();
    this.#full.clear();
    this.#resolveDone();
  }

  /** Hand what the receiver holds to the senders' slots, until one sender's queue is full. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    const receiver = this.#endpoint.receiver;
    try {
      while (!this.closed && this.#full.size === 0) {
        const raw = receiver.takeQueued();
        if (!raw) break;
        this.#dispatch(raw);
      }
    } finally {
      this.#pumping = false;
    }
    if (this.closed) return;
    const reading = this.#full.size === 0;
    if (reading && !this.#release) this.#release = receiver.hold();
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
    const from = raw.from;
    if (from === undefined || from.raw.length === 0) {
      const slot = this.#newSlot(from, true); // unbound senders cannot be told apart
      this.#anonymous.add(slot);
      slot.push(raw);
      return;
    }
    const key = from.key;
    let slot = this.#slots.get(key);
    if (!slot) {
      if (this.#slots.size >= IDLE_SLOTS_SWEEP) this.#sweep();
      slot = this.#newSlot(from, false);
      this.#slots.set(key, slot);
    }
    slot.push(raw);
    if (slot.queued >= MAX_QUEUED_PER_CLIENT) this.#full.add(slot);
  }

  #newSlot(from: Peer | undefined, once: boolean): ClientSlot<SentPacket, ReceivedPacket> {
    const client = new UnixDatagramServerClient<SentPacket>(
      { endpoint: this.#endpoint, codec: this.#host.codec, dest: from ?? UNNAMED },
      from?.address ?? { unnamed: true },
    );
    return new ClientSlot(this.#host, client, once);
  }

  /**
   * A slot's run ended. An unbound sender's slot is done; a bound sender's stays while it
   * may send again (its next packet then costs no new slot), until idle slots are swept.
   */
  #forgetIfIdle(slot: ClientSlot<SentPacket, ReceivedPacket>): void {
    if (slot.idle && !this.closed) this.#anonymous.delete(slot);
  }

  /** Forget the idle slots of bound senders: called when there are many. */
  #sweep(): void {
    for (const [key, slot] of this.#slots) if (slot.idle) this.#slots.delete(key);
  }

  #report(err: unknown, client: UnixDatagramServerClient<SentPacket> | undefined): void {
    try {
      this.#onError(err, client);
    } catch (hookError) {
      console.error('unixgram server: the onError hook threw', hookError, 'while reporting', err);
    }
  }
}
