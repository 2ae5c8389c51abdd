/**
 * The Unix datagram server, modelled on easynetwork's `AsyncUnixDatagramServer`: one bound
 * socket, a request handler per sender address, replies that wait on their own peer only.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import { decodeAddress, encodeAddress, formatAddress, type AddressLike, type UnixAddress } from '../address.js';
import { checkFd, checkOptions, checkSignal } from '../checks.js';
import { invalidArgType } from '../errors.js';
import { Endpoint, type EndpointOptions } from '../lowlevel/endpoint.js';
import { busyPollOf, type BusyPoll } from '../busy-poll.js';
import { largePayloadsOf } from '../large-payloads.js';
import type { SocketFile } from '../lowlevel/socket-file.js';
import { openBound } from '../lowlevel/open-bound.js';
import { codecOf, type Codec } from '../protocol/codec.js';
import { checkProtocol, type DatagramProtocol } from '../protocol/protocol.js';
import { DatagramServer, type SenderForms } from './base.js';
import { checkHandler, type RequestHandler } from './handler.js';
import { defaultOnError, SERVER_OPTION_NAMES, type ServerFromFdOptions, type ServerOptions } from './options.js';

export type { ServeOptions, ServerFromFdOptions, ServerOptions } from './options.js';

export { MAX_QUEUED_PER_CLIENT } from './base.js';

/** Unix senders: paths and abstract names; an unbound sender is `{ unnamed: true }`. */
const UNIX_SENDERS: SenderForms<UnixAddress> = {
  decode: (from) => from.address,
  none: Object.freeze({ unnamed: true }),
  format: formatAddress,
  ancillary: true,
};

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
export class UnixDatagramServer<SentPacket, ReceivedPacket> extends DatagramServer<SentPacket, ReceivedPacket, UnixAddress, Buffer> {
  readonly #local: UnixAddress;

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
    const codec = codecOf(protocol);
    const start = UnixDatagramServer.#starter(codec, handler, onError, largePayloadsOf(options), busyPollOf(options));
    let server!: UnixDatagramServer<S, R>;
    start.endpoint(
      (endpointOptions) =>
        openBound(
          () => Endpoint.create(endpointOptions),
          raw,
          options,
          (endpoint, file) => {
            server = start.serve(endpoint, file, 'path' in local ? local : undefined);
          },
        ).endpoint,
    );
    if (signal) server._life.closeOn(signal, () => server.close());
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
    const start = UnixDatagramServer.#starter(codecOf(protocol), handler, onError, largePayloadsOf(options), busyPollOf(options));
    let server!: UnixDatagramServer<S, R>;
    start.endpoint((endpointOptions) =>
      Endpoint.adopt(fd, endpointOptions, (endpoint) => {
        if (options.passCredentials) endpoint.passCredentials();
        if (options.passPidfd) endpoint.passPidfd();
        server = start.serve(endpoint, undefined, undefined);
      }),
    );
    if (signal) server._life.closeOn(signal, () => server.close());
    return server;
  }

  /** How `listen` and `fromFd` make the endpoint and then the server on it. */
  static #starter<S, R>(
    codec: Codec<S, R>,
    handler: RequestHandler<S, R>,
    onError: ServerOptions<S>['onError'],
    largePayloads: EndpointOptions['largePayloads'],
    busyPoll: BusyPoll | undefined,
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
          busyPoll,
          onReceived: () => {
            if (server) server._pump();
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
    super(endpoint, codec, handler, file, UNIX_SENDERS, onError ?? defaultOnError(local));
    this.#local = local;
  }

  /** The address the server is bound to (the path given to `listen` for socket files). */
  getLocalName(): UnixAddress {
    this._life.checkOpen();
    return this.#local;
  }
}
