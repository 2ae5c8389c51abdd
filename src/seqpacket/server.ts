/**
 * The Unix seqpacket server: a listening `SOCK_SEQPACKET` socket, one conversation per
 * accepted connection, with the request handlers of the datagram server.
 * @packageDocumentation
 */
import { decodeAddress, encodeAddress, formatAddress, type AddressLike, type UnixAddress } from '../address.js';
import { checkFd, checkOptions, checkSignal } from '../checks.js';
import { ErrorCodes, invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { Endpoint, type EndpointOptions } from '../lowlevel/endpoint.js';
import { Lifetime } from '../lowlevel/lifetime.js';
import type { SocketFile } from '../lowlevel/socket-file.js';
import { openBound } from '../lowlevel/open-bound.js';
import { KIND_UNIX_SEQPACKET, type NativeSocket } from '../native/binding.js';
import { codecOf, type Codec } from '../protocol/codec.js';
import { checkProtocol, type DatagramProtocol } from '../protocol/protocol.js';
import { MAX_QUEUED_PER_CLIENT } from '../server/base.js';
import { UnixDatagramServerClient } from '../server/client.js';
import { checkHandler, ClientSlot, type RequestHandler, type SlotHost } from '../server/handler.js';
import type { ServeOptions } from '../server/options.js';
import { serveForever } from '../server/serve.js';

/** Options of `UnixSeqpacketServer.listen`. */
export interface SeqpacketServerOptions<SentPacket> {
  /** Permission bits of the socket file, in place before anyone can connect (as `UnixDatagramServer`'s). */
  mode?: number;
  /** Remove a socket file at the path if nothing listens on it (as `UnixDatagramServer`'s). */
  removeStale?: boolean;
  /** Connections that may wait to be accepted (`listen(2)`'s backlog). Default 511, as Node's `net`. */
  backlog?: number;
  /** Turn on `SO_PASSCRED` on each connection: packets carry their sender's credentials. */
  passCredentials?: boolean;
  /**
   * Called with what a handler threw, a packet that failed to parse, or a connection's
   * receive error; the server keeps serving. Default: `console.error`.
   */
  onError?: (error: unknown, client: UnixDatagramServerClient<SentPacket> | undefined) => void;
  /** Closes the server when it aborts. Already aborted: `listen` rejects and binds nothing. */
  signal?: AbortSignal;
}

/** Options of `UnixSeqpacketServer.fromFd`: those of `listen` that do not make the socket file. */
export type SeqpacketServerFromFdOptions<SentPacket> = Omit<SeqpacketServerOptions<SentPacket>, 'mode' | 'removeStale'>;

const LISTEN_OPTION_NAMES = ['mode', 'removeStale', 'backlog', 'passCredentials', 'onError', 'signal'] as const;
const FROM_FD_OPTION_NAMES = ['backlog', 'passCredentials', 'onError', 'signal'] as const;

/** One accepted connection: its socket, the slot its packets go to, whether it still reads. */
interface Connection<S, R> {
  readonly endpoint: Endpoint;
  readonly slot: ClientSlot<S, R, UnixAddress>;
  release: (() => void) | undefined;
  /** The peer closed it: once its slot is idle, it is closed here too. */
  ended: boolean;
}

/**
 * A server on a listening Unix `SOCK_SEQPACKET` socket: each accepted connection gets its
 * own handler run (a {@link PacketHandler} per packet, or one {@link ConversationHandler}
 * run at a time), so connections are served concurrently while the packets of one are
 * handled in order. `client.sendPacket` answers over that connection, waiting while it is
 * full. When a peer closes, its queued packets are handled, a conversation waiting at
 * `yield` is `return()`ed, and the connection is closed. A connection whose handler has
 * `MAX_QUEUED_PER_CLIENT` packets waiting is not read until it catches up (its peer waits).
 *
 * @typeParam SentPacket - what the server sends (replies)
 * @typeParam ReceivedPacket - what it receives (requests)
 * @example
 * ```ts
 * const server = await UnixSeqpacketServer.listen('/run/app.seq', new DatagramProtocol(new JSONSerializer()),
 *   async (request, client) => {
 *     await client.sendPacket({ echo: request });
 *   }, { mode: 0o600, removeStale: true });
 * await server.serveForever();
 * ```
 */
export class UnixSeqpacketServer<SentPacket, ReceivedPacket> {
  readonly #listener: Endpoint;
  readonly #life: Lifetime;
  readonly #local: UnixAddress;
  readonly #codec: Codec<SentPacket, ReceivedPacket>;
  readonly #host: SlotHost<SentPacket, ReceivedPacket, UnixAddress>;
  readonly #passCredentials: boolean;
  readonly #connections = new Map<ClientSlot<SentPacket, ReceivedPacket, UnixAddress>, Connection<SentPacket, ReceivedPacket>>();
  readonly #onError: NonNullable<SeqpacketServerOptions<SentPacket>['onError']>;
  #ref = true;
  #closing: Promise<void> | undefined;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  /**
   * Bind `address`, listen and start serving. Every argument is checked before any socket exists.
   * @param address - a path, `'\0name'` / `{ abstract }` for an abstract name
   * @param protocol - how packets are encoded
   * @param handler - `async (packet, client) => …` per packet, or `{ async *handle(client) { … } }` per connection
   * @param options - mode, stale files, backlog, credentials, error hook, a signal that closes the server
   * @returns the serving server
   * @throws `EADDRINUSE` (with the reason), `EACCES`, `ENOENT`, `ENAMETOOLONG`, …;
   * `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments;
   * an `AbortError` if the signal is already aborted
   */
  static async listen<S, R>(
    address: AddressLike,
    protocol: DatagramProtocol<S, R>,
    handler: NoInfer<RequestHandler<S, R>>,
    options: SeqpacketServerOptions<NoInfer<S>> = {},
  ): Promise<UnixSeqpacketServer<S, R>> {
    const raw = encodeAddress(address);
    checkProtocol(protocol);
    checkHandler(handler);
    checkOptions(options, LISTEN_OPTION_NAMES);
    const common = commonOptions(options);
    const local = decodeAddress(raw);
    if ('unnamed' in local) throw invalidArgValue('address', 'must name a path or an abstract name to listen on', address);
    let server!: UnixSeqpacketServer<S, R>;
    // The socket file's options only: the server turns credentials on itself, on the listener
    // before it listens.
    const fileOptions = { mode: options.mode, removeStale: options.removeStale };
    openBound(
      () => Endpoint.create(LISTENER, KIND_UNIX_SEQPACKET),
      raw,
      fileOptions,
      (listener, file) => {
        server = new UnixSeqpacketServer(listener, file, local, codecOf(protocol), handler, options, common.backlog);
      },
    );
    if (common.signal) server.#life.closeOn(common.signal, () => server.close());
    return server;
  }

  /**
   * Serve on an existing bound `AF_UNIX` `SOCK_SEQPACKET` socket (listening or not, e.g. one
   * systemd passed). The server owns it from now on and never unlinks a socket file it did
   * not create. The arguments are checked before the descriptor is touched, and on every
   * failure it is left open and yours.
   * @param fd - the descriptor
   * @param protocol - how packets are encoded
   * @param handler - as for {@link listen}
   * @param options - backlog, credentials, error hook, a signal that closes the server
   * @returns the serving server
   * @throws `ERR_UNIXGRAM_NOT_UNIX_DGRAM` (not a seqpacket socket); `ERR_INVALID_ARG_TYPE` /
   * `ERR_OUT_OF_RANGE` for bad arguments
   */
  static fromFd<S, R>(
    fd: number,
    protocol: DatagramProtocol<S, R>,
    handler: NoInfer<RequestHandler<S, R>>,
    options: SeqpacketServerFromFdOptions<NoInfer<S>> = {},
  ): UnixSeqpacketServer<S, R> {
    checkFd(fd);
    checkProtocol(protocol);
    checkHandler(handler);
    checkOptions(options, FROM_FD_OPTION_NAMES);
    const common = commonOptions(options);
    const codec = codecOf(protocol);
    let server!: UnixSeqpacketServer<S, R>;
    Endpoint.adopt(
      fd,
      LISTENER,
      (listener) => {
        server = new UnixSeqpacketServer(
          listener,
          undefined,
          decodeAddress(listener.localAddress()),
          codec,
          handler,
          options,
          common.backlog,
        );
      },
      [KIND_UNIX_SEQPACKET],
    );
    if (common.signal) server.#life.closeOn(common.signal, () => server.close());
    return server;
  }

  private constructor(
    listener: Endpoint,
    file: SocketFile | undefined,
    local: UnixAddress,
    codec: Codec<SentPacket, ReceivedPacket>,
    handler: RequestHandler<SentPacket, ReceivedPacket>,
    options: SeqpacketServerFromFdOptions<SentPacket>,
    backlog: number,
  ) {
    this.#listener = listener;
    this.#life = new Lifetime(listener, file);
    this.#local = local;
    this.#codec = codec;
    this.#passCredentials = options.passCredentials === true;
    this.#onError =
      options.onError ??
      ((err, client) =>
        console.error(`unixgram seqpacket server ${formatAddress(local)}: error from ${client ? 'a connection' : 'the socket'}:`, err));
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
    this.#host = {
      codec,
      handler,
      report: (err, client) => this.#report(err, client),
      closed: () => this.closed,
      shifted: (slot) => {
        const conn = this.#connections.get(slot);
        if (conn && conn.release === undefined && slot.queued < MAX_QUEUED_PER_CLIENT) this.#pump(conn);
      },
      settled: (slot) => {
        const conn = this.#connections.get(slot);
        if (conn?.ended && slot.idle) this.#drop(conn);
      },
    };
    // On the listener before it listens: a connection inherits SO_PASSCRED from it when the
    // peer connects, so packets sent before accept(2) carry credentials too.
    if (this.#passCredentials) listener.passCredentials();
    listener.listen(backlog, (sock) => this.#accept(sock));
  }

  /** The address the server listens on. */
  getLocalName(): UnixAddress {
    this.#life.checkOpen();
    return this.#local;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#listener.closed;
  }

  /** How many connections are open now. */
  get connections(): number {
    return this.#connections.size;
  }

  /**
   * Wait while the server serves.
   * @param options - `signal`: closes the server when it aborts; the promise then rejects
   *   with an `AbortError` once the close has finished
   * @returns a promise that resolves once {@link close} has finished
   */
  serveForever(options?: ServeOptions): Promise<void> {
    return serveForever(options, this, this.#done);
  }

  /** Let the process exit while the server waits for connections and packets. @returns this */
  unref(): this {
    this.#ref = false;
    this.#listener.setRef(false);
    for (const conn of this.#connections.values()) conn.endpoint.setRef(false);
    return this;
  }

  /** Undo {@link unref}. @returns this */
  ref(): this {
    this.#ref = true;
    this.#listener.setRef(true);
    for (const conn of this.#connections.values()) conn.endpoint.setRef(true);
    return this;
  }

  /**
   * Stop serving: close the listening socket and every connection, end conversations
   * waiting for a packet, reject replies still waiting with `ERR_UNIXGRAM_CLOSED`, unlink the
   * socket file if it is still the one this server created, and wait for handlers still
   * running. Idempotent.
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
    this.#life.end();
    const running: Promise<void>[] = [];
    for (const conn of this.#connections.values()) {
      conn.release?.();
      conn.endpoint.close();
      conn.slot.close();
      if (conn.slot.running) running.push(conn.slot.running);
    }
    await Promise.allSettled(running);
    this.#connections.clear();
    this.#resolveDone();
  }

  /** A connection was accepted: own it, and read it into its own slot. */
  #accept(sock: NativeSocket): void {
    if (this.closed) {
      sock.close();
      return;
    }
    let conn: Connection<SentPacket, ReceivedPacket> | undefined;
    let endpoint: Endpoint;
    try {
      endpoint = Endpoint.accepted(sock, {
        addresses: false,
        text: this.#codec.receivesText,
        keepAlive: 'open',
        connected: () => true,
        onReceived: () => {
          if (conn) this.#pump(conn);
        },
      });
    } catch (err) {
      this.#report(err, undefined);
      return;
    }
    try {
      if (this.#passCredentials) endpoint.passCredentials();
    } catch (err) {
      endpoint.close();
      this.#report(err, undefined);
      return;
    }
    let peer: UnixAddress = UNNAMED;
    try {
      peer = decodeAddress(endpoint.peerAddress());
    } catch {
      // the peer already went: its packets are still read, then the end
    }
    const client = new UnixDatagramServerClient<SentPacket, UnixAddress>(
      { endpoint, codec: this.#codec, dest: null, format: formatAddress, ancillary: true },
      peer,
    );
    const slot = new ClientSlot(this.#host, client, false);
    conn = { endpoint, slot, release: undefined, ended: false };
    this.#connections.set(slot, conn);
    if (!this.#ref) endpoint.setRef(false);
    this.#pump(conn);
  }

  /** Hand what a connection's receiver holds to its slot, until the slot is full or the peer closed. */
  #pump(conn: Connection<SentPacket, ReceivedPacket>): void {
    const { endpoint, slot } = conn;
    const receiver = endpoint.receiver;
    while (!endpoint.closed && slot.queued < MAX_QUEUED_PER_CLIENT && !conn.ended) {
      const raw = receiver.takeQueued();
      if (!raw) break;
      if (raw.error?.code === ErrorCodes.PEER_CLOSED) {
        conn.ended = true;
        slot.end();
        if (slot.idle) this.#drop(conn);
        break;
      }
      if (raw.error) {
        raw.fds?.close();
        this.#report(raw.error, slot.client);
        continue;
      }
      slot.push(raw);
    }
    const reading = !conn.ended && !endpoint.closed && slot.queued < MAX_QUEUED_PER_CLIENT;
    if (reading && conn.release === undefined) conn.release = receiver.hold();
    if (!reading && conn.release !== undefined) {
      conn.release();
      conn.release = undefined;
    }
  }

  /** A connection the peer closed, whose handler is done: close it here too. */
  #drop(conn: Connection<SentPacket, ReceivedPacket>): void {
    conn.release?.();
    conn.release = undefined;
    conn.endpoint.close();
    this.#connections.delete(conn.slot);
  }

  #report(err: unknown, client: UnixDatagramServerClient<SentPacket> | undefined): void {
    try {
      this.#onError(err, client);
    } catch (hookError) {
      console.error('unixgram seqpacket server: the onError hook threw', hookError, 'while reporting', err);
    }
  }
}

const UNNAMED: UnixAddress = Object.freeze({ unnamed: true });

/** How the listening socket is used: it reads no datagrams, only accepts. */
const LISTENER: EndpointOptions = { addresses: false, text: false, keepAlive: 'open', connected: () => false };

/** The options both factories check: onError, signal, backlog. */
function commonOptions(options: SeqpacketServerFromFdOptions<unknown>): { signal: AbortSignal | undefined; backlog: number } {
  const { onError, backlog } = options;
  if (onError !== undefined && typeof onError !== 'function') throw invalidArgType('options.onError', 'a function', onError);
  if (backlog !== undefined && (typeof backlog !== 'number' || !Number.isInteger(backlog) || backlog < 0 || backlog > 65535)) {
    throw outOfRange('options.backlog', 'an integer between 0 and 65535', backlog);
  }
  return { signal: checkSignal(options.signal), backlog: backlog ?? 511 };
}
