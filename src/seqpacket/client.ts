/**
 * The Unix seqpacket client: a `SOCK_SEQPACKET` connection under the same API as the Unix
 * datagram client, with the end of the stream when the peer closes.
 * @packageDocumentation
 */
import type { Buffer } from 'node:buffer';

import { decodeAddress, encodeAddress, type AddressLike, type UnixAddress } from '../address.js';
import { checkFd, checkOptions, checkSignalType } from '../checks.js';
import { ConnectedClient } from '../client/connected.js';
import { AbortError } from '../errors.js';
import { Endpoint, type EndpointOptions } from '../lowlevel/endpoint.js';
import { KIND_UNIX_SEQPACKET } from '../native/binding.js';
import { codecOf, type Codec } from '../protocol/codec.js';
import { checkProtocol, type DatagramProtocol } from '../protocol/protocol.js';

/** Options of `UnixSeqpacketClient.connect`. */
export interface SeqpacketConnectOptions {
  /** Turn on `SO_PASSCRED`: each received packet carries its sender's credentials. */
  passCredentials?: boolean;
  /**
   * Closes the client when it aborts. Already aborted: `connect` rejects with an
   * `AbortError` and creates nothing.
   */
  signal?: AbortSignal;
}

/** Options of `UnixSeqpacketClient.socketpair` and `fromFd`. */
export interface SeqpacketPairOptions {
  /** Turn on `SO_PASSCRED` (on both ends of a pair). */
  passCredentials?: boolean;
}

const CONNECT_OPTION_NAMES = ['passCredentials', 'signal'] as const;
const PAIR_OPTION_NAMES = ['passCredentials'] as const;

/**
 * A connected Unix `SOCK_SEQPACKET` socket (Go's `unixpacket`): a connection that keeps
 * message boundaries, with the calls of {@link UnixDatagramClient} (packets, descriptors
 * and credentials in `SocketAncillary`, timeouts, signals, iteration). When the peer
 * closes, the packets it sent before are still received, then receiving ends:
 * `iterReceivedPackets()` finishes and `recvPacket()` rejects with
 * `ERR_UNIXGRAM_PEER_CLOSED`; sends then fail with `EPIPE`. A full peer makes sends wait,
 * never drop.
 *
 * A packet cannot be empty: the peer reads a zero-length packet as the end of the stream
 * (so does Go), so sending one is `EINVAL`.
 *
 * @typeParam SentPacket - what this client sends
 * @typeParam ReceivedPacket - what it receives
 * @example
 * ```ts
 * const client = await UnixSeqpacketClient.connect('/run/app.seq', new DatagramProtocol(new JSONSerializer()));
 * await client.sendPacket({ hello: 1 });
 * for await (const reply of client) console.log(reply); // until the server closes the connection
 * ```
 */
export class UnixSeqpacketClient<SentPacket, ReceivedPacket> extends ConnectedClient<SentPacket, ReceivedPacket, Buffer> {
  readonly #peer: UnixAddress;

  /**
   * Connect to a listening seqpacket socket. Every argument is checked before any socket is
   * created.
   * @param address - a path, `'\0name'`, or a {@link UnixAddress}
   * @param protocol - how packets are encoded
   * @param options - credentials, a signal that closes the client
   * @returns the connected client
   * @throws `'ENOENT'`, `'ECONNREFUSED'` (nobody listening), `'EPROTOTYPE'` (a datagram or
   * stream socket is bound there), `'EAGAIN'` (the listener's backlog is full), … with
   * `syscall` and `address`; `'ERR_INVALID_ARG_TYPE'` / `'ERR_INVALID_ARG_VALUE'` for bad
   * arguments; an `AbortError` if the signal is already aborted
   */
  static async connect<S, R>(
    address: AddressLike,
    protocol: DatagramProtocol<S, R>,
    options: SeqpacketConnectOptions = {},
  ): Promise<UnixSeqpacketClient<S, R>> {
    const remote = encodeAddress(address);
    checkProtocol(protocol);
    checkOptions(options, CONNECT_OPTION_NAMES);
    const signal = checkSignalType(options.signal);
    if (signal?.aborted) throw new AbortError(signal.reason);
    const codec = codecOf(protocol);
    const endpoint = Endpoint.create(endpointOptions(codec), KIND_UNIX_SEQPACKET);
    try {
      if (options.passCredentials) endpoint.passCredentials();
      endpoint.connect(remote);
    } catch (err) {
      endpoint.close();
      throw err;
    }
    const client = new UnixSeqpacketClient(endpoint, codec, decodeAddress(remote));
    if (signal) client._life.closeOn(signal, () => client.close());
    return client;
  }

  /**
   * Two clients connected to each other (`socketpair(AF_UNIX, SOCK_SEQPACKET)`), e.g. to
   * hand one to a child process.
   * @param protocol - how packets are encoded, for both ends
   * @param options - `passCredentials`, for both ends
   * @returns both ends
   */
  static socketpair<S, R>(
    protocol: DatagramProtocol<S, R>,
    options: SeqpacketPairOptions = {},
  ): [UnixSeqpacketClient<S, R>, UnixSeqpacketClient<S, R>] {
    checkProtocol(protocol);
    checkOptions(options, PAIR_OPTION_NAMES);
    const codec = codecOf(protocol);
    const [a, b] = Endpoint.pair(endpointOptions(codec), KIND_UNIX_SEQPACKET);
    try {
      if (options.passCredentials) for (const end of [a, b]) end.passCredentials();
    } catch (err) {
      a.close();
      b.close();
      throw err;
    }
    return [new UnixSeqpacketClient(a, codec, UNNAMED), new UnixSeqpacketClient(b, codec, UNNAMED)];
  }

  /**
   * Take over a connected `AF_UNIX` `SOCK_SEQPACKET` socket, e.g. one a parent process
   * passed. The arguments are checked before the descriptor is touched, and on every
   * failure it is left open and yours.
   * @param fd - the descriptor
   * @param protocol - how packets are encoded
   * @param options - `passCredentials`
   * @returns the client
   * @throws `ERR_UNIXGRAM_NOT_UNIX_DGRAM` (not a seqpacket socket); `ERR_INVALID_ARG_TYPE` /
   * `ERR_OUT_OF_RANGE` for bad arguments
   */
  static fromFd<S, R>(fd: number, protocol: DatagramProtocol<S, R>, options: SeqpacketPairOptions = {}): UnixSeqpacketClient<S, R> {
    checkFd(fd);
    checkProtocol(protocol);
    checkOptions(options, PAIR_OPTION_NAMES);
    const codec = codecOf(protocol);
    const endpoint = Endpoint.adopt(
      fd,
      endpointOptions(codec),
      (e) => {
        if (options.passCredentials) e.passCredentials();
      },
      [KIND_UNIX_SEQPACKET],
    );
    let peer: UnixAddress = UNNAMED;
    try {
      peer = decodeAddress(endpoint.peerAddress());
    } catch {
      // not connected (yet): sends say ENOTCONN
    }
    return new UnixSeqpacketClient(endpoint, codec, peer);
  }

  private constructor(endpoint: Endpoint, codec: Codec<SentPacket, ReceivedPacket>, peer: UnixAddress) {
    super(endpoint, codec);
    this.#peer = peer;
  }

  /** The address connected to (`{ unnamed: true }` for a socketpair). */
  getPeerName(): UnixAddress {
    this._life.checkOpen();
    return this.#peer;
  }

  /** The address this socket is bound to (usually `{ unnamed: true }`: a client need not bind). */
  getLocalName(): UnixAddress {
    this._life.checkOpen();
    return decodeAddress(this._endpoint.localAddress());
  }

  /** Whether the peer closed the connection and every packet it sent has been received. */
  get ended(): boolean {
    return this._endpoint.receiver.ended;
  }
}

const UNNAMED: UnixAddress = Object.freeze({ unnamed: true });

/** How a seqpacket client uses its endpoint: a connection, so the kernel wakes waiting sends. */
function endpointOptions(codec: Codec<unknown, unknown>): EndpointOptions {
  return { addresses: false, text: codec.receivesText, keepAlive: 'waiting', connected: () => true };
}
