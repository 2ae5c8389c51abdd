/**
 * The per-sender object a server's request handler talks to.
 * @packageDocumentation
 */

import type { UnixAddress } from '../address.js';
import { checkAncillary, SocketAncillary, type Credentials } from '../ancillary/ancillary.js';
import type { ReceivedFds } from '../ancillary/received-fds.js';
import { badOptions, checkNoAncillary } from '../checks.js';
import { closedError, codedError, ErrorCodes } from '../errors.js';
import type { Endpoint } from '../lowlevel/endpoint.js';
import type { Destination } from '../lowlevel/peer-sends.js';
import { sendLimits, type SendLimits } from '../lowlevel/sender.js';
import type { NativeAddress, NativeDatagram } from '../native/binding.js';
import type { Codec } from '../protocol/codec.js';

/** The option names of {@link UnixDatagramServerClient.sendPacket} (an unknown one is refused). */
const SEND_OPTION_NAMES = ['ancillary', 'signal', 'timeout'] as const;

/** Options of `UnixDatagramServerClient.sendPacket`. */
export interface ServerSendOptions {
  /** Descriptors and/or credentials to send with the reply. */
  ancillary?: SocketAncillary;
  /**
   * Cancels a reply that waits for room in this sender's queue: it rejects with an
   * `AbortError` and is never sent.
   */
  signal?: AbortSignal;
  /**
   * Seconds a reply may wait for room in this sender's queue; then it rejects with a
   * `TimeoutError` (`'ETIMEDOUT'`) and is never sent. Default: no limit.
   */
  timeout?: number | null;
}

/** @internal What a server client needs from its server. */
export interface ServerClientLink<SentPacket, Addr extends object = UnixAddress> {
  readonly endpoint: Endpoint<NativeAddress>;
  readonly codec: Codec<SentPacket, unknown>;
  /**
   * The sender (`raw` empty: unnamed); replies to it go out in order and wait on its queue
   * only. `null`: the endpoint is a connection to the sender (seqpacket), replies go to it.
   */
  readonly dest: Destination | null;
  /** A printable form of an address. */
  readonly format: (address: Addr) => string;
  /** Whether replies may carry descriptors and credentials (Unix: yes; UDP: no). */
  readonly ancillary: boolean;
}

/**
 * One sender of datagrams to a {@link UnixDatagramServer}, as its request handler sees it.
 * The same object is used for every packet of a sender while its handler runs or its
 * packets wait, so it can serve as a key (`Set`, `Map`) for per-conversation state.
 *
 * @typeParam SentPacket - what the server sends back
 * @example
 * ```ts
 * const handler = async (request: string, client: UnixDatagramServerClient<string>) => {
 *   if (client.canReply) await client.sendPacket(request.toUpperCase());
 * };
 * ```
 */
export class UnixDatagramServerClient<SentPacket, Addr extends object = UnixAddress> {
  /**
   * Where the datagrams come from (`{ unnamed: true }` for an unbound sender; `{ address,
   * family, port }` on a UDP server; `{ unnamed: true }` for a seqpacket connection, whose
   * peer is usually unbound).
   */
  readonly address: Addr;
  readonly #link: ServerClientLink<SentPacket, Addr>;
  #ancillary: SocketAncillary | undefined;
  #fds: ReceivedFds | undefined;
  #credentials: Credentials | undefined;

  /** @internal Created by the server, one per sender address. */
  constructor(link: ServerClientLink<SentPacket, Addr>, address: Addr) {
    this.#link = link;
    this.address = address;
  }

  /**
   * Whether replies can reach this sender: `false` for an unbound sender (no address to
   * send to; `sendPacket` rejects with `ERR_UNIXGRAM_UNNAMED_PEER`).
   */
  get canReply(): boolean {
    const { dest } = this.#link;
    return dest === null || dest.raw.length > 0;
  }

  /**
   * Descriptors and credentials that came with the packet being handled. Descriptors you
   * do not `steal()` are closed when the handler's step for that packet ends (a plain
   * handler returns, a generator handler yields again).
   */
  get ancillary(): SocketAncillary {
    if (this.#ancillary === undefined) {
      // Made on first use: most handlers never look, and most packets carry nothing.
      this.#ancillary = new SocketAncillary();
      this.#ancillary._receive(this.#fds, this.#credentials);
    }
    return this.#ancillary;
  }

  /** The sender's credentials for the packet being handled (with `passCredentials`). */
  get credentials(): Credentials | undefined {
    return this.#credentials;
  }

  /**
   * Send a packet to this sender. Resolves once queued in the kernel; while this sender's
   * queue is full it waits (other senders are not held up), never drops.
   * @param packet - the reply
   * @param options - ancillary data to send with it
   * @throws `ERR_UNIXGRAM_UNNAMED_PEER` (an unbound sender), `ECONNREFUSED` (it is gone),
   * `EMSGSIZE`, `ERR_UNIXGRAM_CLOSED` (the server closed)
   */
  sendPacket(packet: SentPacket, options?: ServerSendOptions): Promise<void> {
    const link = this.#link;
    if (link.endpoint.closed) return Promise.reject(closedError());
    const invalid = badOptions(options, SEND_OPTION_NAMES);
    if (invalid) return Promise.reject(invalid);
    if (!this.canReply) {
      return Promise.reject(
        codedError(
          ErrorCodes.UNNAMED_PEER,
          'cannot reply: the sender is not bound to an address (an unbound socket); it can send but not be answered',
        ),
      );
    }
    let data: NativeDatagram;
    let ancillary: SocketAncillary | undefined;
    let limits: SendLimits | undefined;
    try {
      if (options !== undefined) {
        limits = sendLimits(options);
        if (!link.ancillary) checkNoAncillary(options.ancillary, 'options.ancillary');
        ancillary = checkAncillary(options.ancillary);
      }
      data = link.codec.encode(packet);
    } catch (err) {
      return Promise.reject(err);
    }
    const extra = ancillary?._toSend() ?? null;
    return link.dest === null ? link.endpoint.send(data, null, extra, limits) : link.endpoint.sendTo(link.dest, data, extra, limits);
  }

  /** A printable form, e.g. for logs: the sender's address. */
  toString(): string {
    return this.#link.format(this.address);
  }

  /** @internal Set the packet being handled: its descriptors (closed by `_end` unless stolen) and credentials. */
  _begin(fds: ReceivedFds | undefined, credentials: Credentials | undefined): void {
    this.#fds = fds;
    this.#credentials = credentials;
  }

  /** @internal The step for the current packet is over: close descriptors not stolen. */
  _end(): void {
    if (this.#ancillary) this.#ancillary.close();
    else this.#fds?.close();
    this.#ancillary = undefined;
    this.#fds = undefined;
    this.#credentials = undefined;
  }
}
