/**
 * The unconnected endpoint: one socket that receives from anyone and sends to any address,
 * as Python's `sendto`/`recvfrom`, Go's `ListenUnixgram` and tokio's `send_to`/`recv_from`.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import { decodeAddress, encodeAddress, type AddressLike, type UnixAddress } from '../address.js';
import { checkFd, checkOptions, checkSignal } from '../checks.js';
import { codedError, ErrorCodes, invalidArgValue } from '../errors.js';
import { Endpoint, type EndpointOptions } from '../lowlevel/endpoint.js';
import { UnconnectedEndpoint, type AddressForms } from './unconnected.js';
import type { Destination } from '../lowlevel/peer-sends.js';
import { Peer } from '../lowlevel/receiver.js';
import { receiveOptionsOf, type ReceiveOptions } from '../receive-options.js';
import { largePayloadsOf } from '../large-payloads.js';
import { openBound } from '../lowlevel/open-bound.js';
import { checkRemoveStale, type SocketFile } from '../lowlevel/socket-file.js';
import { codecOf, type Codec } from '../protocol/codec.js';
import { checkProtocol, type DatagramProtocol } from '../protocol/protocol.js';
import { ENDPOINT_OPTION_NAMES, type BindAddress, type BindOptions, type EndpointFromFdOptions } from './options.js';

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
export class UnixDatagramEndpoint<SentPacket, ReceivedPacket> extends UnconnectedEndpoint<
  SentPacket,
  ReceivedPacket,
  UnixAddress,
  AddressLike,
  Buffer
> {
  #local: UnixAddress | undefined;

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
  // `override`: a class's static `bind` shadows Function.prototype.bind of its base.
  static override async bind<S, R>(
    address: BindAddress,
    protocol: DatagramProtocol<S, R>,
    options: BindOptions = {},
  ): Promise<UnixDatagramEndpoint<S, R>> {
    const raw = bindAddressOf(address);
    checkProtocol(protocol);
    checkOptions(options, ENDPOINT_OPTION_NAMES.bind);
    const signal = checkSignal(options.signal);
    checkRemoveStale(raw, options.removeStale);
    const large = largePayloadsOf(options);
    const receive = receiveOptionsOf(options);
    const codec = codecOf(protocol);
    const { endpoint, file } = openBound(() => Endpoint.create(endpointOptions(codec, large, receive)), raw, options);
    const result = new UnixDatagramEndpoint(endpoint, codec, file);
    if (file !== undefined) result.#local = { path: file.path };
    if (signal) result._life.closeOn(signal, () => result.close());
    return result;
  }

  /**
   * Take over an existing `AF_UNIX` `SOCK_DGRAM` socket (e.g. one systemd or a parent
   * process bound). The endpoint owns it from now on and closes it; it never unlinks a socket
   * file it did not create. The arguments are checked before the descriptor is touched, and
   * on every failure the descriptor is left open and yours.
   * @param fd - the descriptor
   * @param protocol - how packets are encoded
   * @param options - `largePayloads`, `maxPayloadSize`, `passPidfd`, `reuseReceiveBuffer`, `busyPoll`
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
    const receive = receiveOptionsOf(options);
    const codec = codecOf(protocol);
    const endpoint = Endpoint.adopt(fd, endpointOptions(codec, large, receive), (e) => {
      if (options.passPidfd) e.passPidfd();
    });
    return new UnixDatagramEndpoint(endpoint, codec, undefined);
  }

  private constructor(endpoint: Endpoint, codec: Codec<SentPacket, ReceivedPacket>, file: SocketFile | undefined) {
    super(endpoint, codec, file, UNIX_FORMS);
  }

  /**
   * The address the socket is bound to: the path given to `bind` for socket files, else
   * what the kernel reports (an autobound name appears at the first send with
   * `passCredentials`, as the kernel autobinds then).
   * @returns the local address
   * @throws `ERR_UNIXGRAM_CLOSED`
   */
  getLocalName(): UnixAddress {
    this._life.checkOpen();
    return this.#local ?? decodeAddress(this._endpoint.localAddress());
  }
}

const UNNAMED_ADDRESS: UnixAddress = Object.freeze({ unnamed: true });

/** Unix addresses: paths and abstract names; an unbound sender is `{ unnamed: true }`. */
const UNIX_FORMS: AddressForms<UnixAddress, AddressLike> = {
  destination: (address, name) => destinationOf(encodeAddress(address, name)),
  decode: (from) => from.address,
  sender: (address) => Peer.ofAddress(address),
  none: UNNAMED_ADDRESS,
  ancillary: true,
};

/** How an endpoint uses its socket. */
function endpointOptions(
  codec: Codec<unknown, unknown>,
  largePayloads: EndpointOptions['largePayloads'],
  receive: ReceiveOptions,
): EndpointOptions {
  return { addresses: true, text: codec.receivesText, keepAlive: 'waiting', connected: () => false, largePayloads, ...receive };
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
