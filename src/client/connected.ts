/**
 * What every connected client shares, whatever its transport (Unix datagram, Unix
 * seqpacket, UDP): sending and receiving packets through a protocol, iteration, duplicate
 * descriptors, `ref`/`unref` and close.
 * @packageDocumentation
 */
import type { Buffer } from 'node:buffer';

import { checkAncillary, type SocketAncillary } from '../ancillary/ancillary.js';
import { checkNoAncillary, checkOptions, checkSignalType, checkTimeout, NO_OPTIONS } from '../checks.js';
import { AbortError, closedError, invalidArgType } from '../errors.js';
import type { Endpoint } from '../lowlevel/endpoint.js';
import { iteratePackets, PacketIterator, receivePacket } from '../lowlevel/iterator.js';
import type { RawDatagram } from '../lowlevel/receiver.js';
import { sendLimits, type SendLimits } from '../lowlevel/sender.js';
import type { SocketFile } from '../lowlevel/socket-file.js';
import type { NativeAddress, NativeDatagram } from '../native/binding.js';
import type { Codec } from '../protocol/codec.js';
import { SocketHandle } from '../handle.js';
import { OPTION_NAMES, type IterOptions, type RecvOptions, type SendManyOptions, type SendOptions } from './options.js';

/**
 * A connected socket that sends and receives packets through a `DatagramProtocol`: the
 * part {@link UnixDatagramClient}, `UnixSeqpacketClient` and `UdpClient` share.
 *
 * Concurrency: concurrent `recvPacket` calls are served in call order, each datagram to
 * exactly one caller; concurrent `sendPacket` calls go out in call order. Receiving is
 * driven by Node's own event loop; nothing is read while nobody waits, so a slow consumer
 * leaves datagrams in the kernel queue and the sender waits (backpressure).
 *
 * @typeParam SentPacket - what this client sends
 * @typeParam ReceivedPacket - what it receives
 * @typeParam A - @internal the binding's form of its addresses
 */
export abstract class ConnectedClient<SentPacket, ReceivedPacket, A extends NativeAddress = NativeAddress> extends SocketHandle<A> {
  /** @internal How packets are encoded. */
  protected readonly _codec: Codec<SentPacket, ReceivedPacket>;

  /** Whether the socket carries descriptors and credentials (Unix: yes; UDP: no). */
  readonly #ancillary: boolean;

  /** @internal Made by a subclass's factories. */
  protected constructor(endpoint: Endpoint<A>, codec: Codec<SentPacket, ReceivedPacket>, file?: SocketFile, ancillary = true) {
    super(endpoint, file);
    this.#ancillary = ancillary;
    this._codec = codec;
  }

  /**
   * Send one packet. Resolves once the datagram is queued in the kernel. While the peer's
   * queue is full it waits (never drops, never spins, never blocks the loop), until
   * `options.signal` aborts or `options.timeout` seconds pass: then it rejects and the
   * datagram is never sent. A datagram bigger than `SO_SNDBUF` allows raises it first.
   * @param packet - what to send
   * @param options - ancillary data to send with it; `signal`, `timeout` (seconds) for the wait
   * @throws `'ECONNREFUSED'` (the peer is gone), `'ENOTCONN'` (gone earlier: `reconnect()`),
   * `'EMSGSIZE'` (bigger than the system allows, limit in the message), `'ERR_UNIXGRAM_CLOSED'`,
   * {@link AbortError} (`'ABORT_ERR'`), {@link TimeoutError} (`'ETIMEDOUT'`)
   */
  sendPacket(packet: SentPacket, options?: SendOptions): Promise<void> {
    let data: NativeDatagram;
    let ancillary: SocketAncillary | undefined;
    let limits: SendLimits | undefined;
    try {
      if (options !== undefined) {
        checkOptions(options, OPTION_NAMES.send);
        limits = sendLimits(options);
        if (!this.#ancillary) checkNoAncillary(options.ancillary, 'options.ancillary');
        ancillary = checkAncillary(options.ancillary);
      }
      // A text serializer's text goes straight into the send: no Buffer per packet.
      data = this._codec.encode(packet);
    } catch (err) {
      return Promise.reject(err);
    }
    return this._endpoint.send(data, null, ancillary?._toSend() ?? null, limits);
  }

  /**
   * Send many packets with as few syscalls as possible (`sendmmsg`, up to 1024 datagrams
   * each), in order, each with its own optional ancillary data. Resolves once all are
   * queued in the kernel; while the peer's queue is full it waits, as {@link sendPacket}.
   * Every packet is serialized and checked before the first is sent.
   * @param packets - what to send
   * @param options - `ancillary[i]` goes with the i-th packet; `signal`, `timeout` (seconds) for the waits
   * @throws as {@link sendPacket}; the error's `sent` says how many packets went out before
   * it (the rest are never sent)
   */
  sendPackets(packets: Iterable<SentPacket>, options?: SendManyOptions): Promise<void> {
    let datas: Array<Buffer | Buffer[]>;
    let extras: ReturnType<SocketAncillary['_toSend']>[] | null = null;
    let limits: SendLimits | undefined;
    try {
      checkOptions(options, OPTION_NAMES.sendMany);
      if (options !== undefined) limits = sendLimits(options);
      if (packets === null || typeof packets[Symbol.iterator] !== 'function') {
        throw invalidArgType('packets', 'an iterable of packets', packets);
      }
      const codec = this._codec;
      datas = Array.from(packets, (packet) => codec.encodeBytes(packet));
      const list = options?.ancillary;
      if (!this.#ancillary) checkNoAncillary(list, 'options.ancillary');
      if (list !== undefined) {
        extras = datas.map((_, i) => checkAncillary(list[i] ?? undefined, `options.ancillary[${i}]`)?._toSend() ?? null);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const { done, sent } = this._endpoint.sendMany(datas, extras, limits);
    return done.catch((err: unknown) => {
      throw withSent(err, sent());
    });
  }

  /**
   * Receive the next packet.
   * @param options - timeout (seconds), abort signal, ancillary data sink
   * @returns the parsed packet
   * @throws {@link TimeoutError} (`'ETIMEDOUT'`), {@link AbortError} (`'ABORT_ERR'`),
   * `DatagramProtocolParseError` (the client keeps working), `'ERR_UNIXGRAM_TRUNCATED'`,
   * `'ERR_UNIXGRAM_CLOSED'`
   */
  recvPacket(options: RecvOptions = NO_OPTIONS): Promise<ReceivedPacket> {
    let timeout: number | null;
    let signal: AbortSignal | undefined;
    let ancillary: SocketAncillary | undefined;
    try {
      if (options !== NO_OPTIONS) checkOptions(options, OPTION_NAMES.recv);
      timeout = checkTimeout(options.timeout);
      signal = checkSignalType(options.signal);
      ancillary = checkAncillary(options.ancillary);
      this._life.checkOpen();
      if (signal?.aborted) throw new AbortError(signal.reason);
    } catch (err) {
      return Promise.reject(err);
    }
    return receivePacket(this._endpoint, timeout, signal, (raw) => this._unpack(raw, ancillary));
  }

  /**
   * Yield packets as they arrive, easynetwork-style: everything already queued (timeout 0,
   * the default) or arriving within `timeout` seconds of waiting in all, then end. Ends too
   * when the client is closed during the iteration; starting one on a closed client throws
   * `ERR_UNIXGRAM_CLOSED` from its first `next()`. Parse errors reject `next()` and end the
   * iteration; so does `options.signal` aborting (with an `AbortError`, no datagram taken).
   * @param options - the waiting budget (seconds), a signal that ends it
   * @returns an async iterator of packets
   * @example
   * ```ts
   * for await (const packet of client.iterReceivedPackets({ timeout: 1 })) console.log(packet);
   * ```
   */
  iterReceivedPackets(options: IterOptions = {}): AsyncIterableIterator<ReceivedPacket, undefined, undefined> {
    checkOptions(options, OPTION_NAMES.iter);
    const budget = checkTimeout(options.timeout === undefined ? 0 : options.timeout);
    const signal = checkSignalType(options.signal);
    if (this.closed) return PacketIterator.failed(closedError());
    return iteratePackets(this._endpoint, budget, signal, (raw) => this._unpack(raw, undefined));
  }

  /**
   * `for await (const packet of client)`: every packet, as they arrive, until the client is
   * closed (`iterReceivedPackets({ timeout: null })`).
   * @returns an async iterator of packets
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<ReceivedPacket, undefined, undefined> {
    return this.iterReceivedPackets({ timeout: null });
  }

  /**
   * The packet in `raw`; its descriptors go to `ancillary`, or are closed (also when it
   * carries an error or fails to parse).
   */
  /** @internal */
  protected _unpack(raw: RawDatagram, ancillary: SocketAncillary | undefined): ReceivedPacket {
    if (raw.error) {
      raw.fds?.close();
      throw raw.error;
    }
    let packet: ReceivedPacket;
    try {
      packet = this._codec.decode(raw.data);
    } catch (err) {
      raw.fds?.close();
      throw err;
    }
    if (ancillary) ancillary._receive(raw.fds, raw.credentials);
    else raw.fds?.close();
    return packet;
  }
}

/** `err` with `sent`: how many packets of a `sendPackets` call went out before it. */
function withSent(err: unknown, sent: number): unknown {
  if (typeof err === 'object' && err !== null) (err as { sent?: number }).sent = sent;
  return err;
}
