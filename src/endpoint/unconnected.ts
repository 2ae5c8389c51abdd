/**
 * What every unconnected endpoint shares, whatever its transport (Unix datagram, UDP):
 * sending to any address, receiving from anyone with the sender's address, iteration,
 * duplicate descriptors, `ref`/`unref` and close.
 * @packageDocumentation
 */
import type { Buffer } from 'node:buffer';

import { checkAncillary, SocketAncillary } from '../ancillary/ancillary.js';
import { checkNoAncillary, checkOptions, checkSignalType, checkTimeout, NO_OPTIONS } from '../checks.js';
import { AbortError, closedError, invalidArgType } from '../errors.js';
import type { IterOptions } from '../client/options.js';
import type { Endpoint } from '../lowlevel/endpoint.js';
import type { Destination } from '../lowlevel/peer-sends.js';
import { iteratePackets, PacketIterator, receivePacket } from '../lowlevel/iterator.js';
import type { Peer, RawDatagram } from '../lowlevel/receiver.js';
import { sendLimits, type SendLimits } from '../lowlevel/sender.js';
import type { SocketFile } from '../lowlevel/socket-file.js';
import type { NativeAddress, NativeDatagram } from '../native/binding.js';
import type { Codec } from '../protocol/codec.js';
import { SocketHandle } from '../handle.js';
import {
  ENDPOINT_OPTION_NAMES,
  type PacketTo,
  type ReceivedFrom,
  type RecvFromOptions,
  type SendManyToOptions,
  type SendToOptions,
} from './options.js';

/** @internal How an endpoint's addresses look to its users, and to the binding. */
export interface AddressForms<Addr extends object, Like> {
  /** The destination of an address a user gave, checked (throws the argument's error). */
  destination(address: Like, name: string): Destination;
  /** A sender's public address. */
  decode(from: Peer): Addr;
  /** The sender an address object came from ({@link decode}'s), if it is one: its destination. */
  sender(address: object): Destination | undefined;
  /** The address of a datagram whose sender has none (an unbound Unix socket). */
  readonly none: Addr;
  /** Whether packets may carry descriptors and credentials (Unix: yes; UDP: no). */
  readonly ancillary: boolean;
}

/**
 * A socket that is not connected: receiving from any sender with its address, and sending
 * to any address. Sends to one address go out in call order; a receiver whose queue is
 * full holds back only the sends to it. The part `UnixDatagramEndpoint` and `UdpEndpoint`
 * share.
 *
 * @typeParam SentPacket - what `sendPacketTo` takes
 * @typeParam ReceivedPacket - what receiving yields
 * @typeParam Addr - a sender's address
 * @typeParam Like - an address as `sendPacketTo` takes it
 * @typeParam A - @internal the binding's form of its addresses
 */
export abstract class UnconnectedEndpoint<
  SentPacket,
  ReceivedPacket,
  Addr extends object,
  Like,
  A extends NativeAddress,
> extends SocketHandle<A> {
  /** @internal How packets are encoded. */
  protected readonly _codec: Codec<SentPacket, ReceivedPacket>;
  readonly #forms: AddressForms<Addr, Like>;
  /** The last address string sent to, and its destination (a loop to one address encodes once). */
  #lastText: string | undefined;
  #lastDest: Destination | undefined;

  /** @internal Made by a subclass's factories. */
  protected constructor(
    endpoint: Endpoint<A>,
    codec: Codec<SentPacket, ReceivedPacket>,
    file: SocketFile | undefined,
    forms: AddressForms<Addr, Like>,
  ) {
    super(endpoint, file);
    this._codec = codec;
    this.#forms = forms;
  }

  /**
   * Send one packet to `address`. Resolves once the datagram is queued in the kernel. While
   * that receiver's queue is full it waits (retrying on a timer from 1 ms up to 50 ms: Linux
   * wakes no unconnected sender), until `options.signal` aborts or `options.timeout` seconds
   * pass: then it rejects and the datagram is never sent. Sends to other receivers are not
   * held up.
   * @param packet - what to send
   * @param address - a path, `'\0name'`, or a {@link UnixAddress} (e.g. where a datagram came from)
   * @param options - ancillary data to send with it; `signal`, `timeout` (seconds) for the wait
   * @throws `'ENOENT'` / `'ECONNREFUSED'` (nobody there), `'EACCES'`, `'EMSGSIZE'`,
   * `'ERR_UNIXGRAM_UNNAMED_PEER'` (an unnamed address), `'ERR_UNIXGRAM_CLOSED'`,
   * {@link AbortError}, {@link TimeoutError}
   */
  sendPacketTo(packet: SentPacket, address: Like, options?: SendToOptions): Promise<void> {
    let data: NativeDatagram;
    let dest: Destination;
    let ancillary: SocketAncillary | undefined;
    let limits: SendLimits | undefined;
    try {
      dest = this.#destination(address, 'address');
      if (options !== undefined) {
        checkOptions(options, ENDPOINT_OPTION_NAMES.sendTo);
        limits = sendLimits(options);
        if (!this.#forms.ancillary) checkNoAncillary(options.ancillary, 'options.ancillary');
        ancillary = checkAncillary(options.ancillary, 'options.ancillary');
      }
      data = this._codec.encode(packet);
    } catch (err) {
      return Promise.reject(err);
    }
    return this._endpoint.sendTo(dest, data, ancillary?._toSend() ?? null, limits);
  }

  /**
   * Send many packets, each to its own address, with as few syscalls as possible: one
   * `sendmmsg` (a destination per datagram) while every receiver has room; then each
   * receiver's rest waits for room in its queue, in call order, while the others go on.
   * Every packet is serialized and checked before the first is sent. A datagram that fails
   * (its receiver is gone) ends the sends to that address; the others are still sent, and
   * the call then rejects with the first error.
   * @param packets - `{ packet, address, ancillary? }` items
   * @param options - `signal`, `timeout` (seconds) for the waits
   * @returns a promise that resolves once all are in the kernel
   * @throws as {@link sendPacketTo}; the error's `sent` says how many datagrams went out
   */
  sendPacketsTo(packets: Iterable<PacketTo<SentPacket, Like>>, options?: SendManyToOptions): Promise<void> {
    const datas: Array<Buffer | Buffer[]> = [];
    const dests: Destination[] = [];
    let extras: Array<ReturnType<SocketAncillary['_toSend']>> | null = null;
    let limits: SendLimits | undefined;
    try {
      checkOptions(options, ENDPOINT_OPTION_NAMES.sendManyTo);
      if (options !== undefined) limits = sendLimits(options);
      if (packets === null || typeof packets !== 'object' || typeof packets[Symbol.iterator] !== 'function') {
        throw invalidArgType('packets', 'an iterable of { packet, address, ancillary? }', packets);
      }
      const codec = this._codec;
      let i = 0;
      for (const item of packets) {
        if (typeof item !== 'object' || item === null)
          throw invalidArgType(`packets[${i}]`, 'an object { packet, address, ancillary? }', item);
        dests.push(this.#destination(item.address, `packets[${i}].address`));
        datas.push(codec.encodeBytes(item.packet));
        if (!this.#forms.ancillary) checkNoAncillary(item.ancillary, `packets[${i}].ancillary`);
        const ancillary = checkAncillary(item.ancillary, `packets[${i}].ancillary`);
        if (ancillary !== undefined) {
          extras ??= datas.map(() => null);
          extras[i] = ancillary._toSend();
        } else if (extras) extras.push(null);
        i++;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (datas.length === 0) return Promise.resolve();
    const { done, sent } = this._endpoint.sendManyTo(datas, dests, extras, limits);
    return done.catch((err: unknown) => {
      if (typeof err === 'object' && err !== null) (err as { sent?: number }).sent = sent();
      throw err;
    });
  }

  /**
   * Receive the next datagram and its sender.
   * @param options - timeout (seconds), abort signal
   * @returns `{ packet, address, ancillary }`
   * @throws {@link TimeoutError} (`'ETIMEDOUT'`), {@link AbortError} (`'ABORT_ERR'`),
   * `DatagramProtocolParseError` (the endpoint keeps working), `'ERR_UNIXGRAM_TRUNCATED'`,
   * `'ERR_UNIXGRAM_CLOSED'`
   */
  recvPacketFrom(options: RecvFromOptions = NO_OPTIONS): Promise<ReceivedFrom<ReceivedPacket, Addr>> {
    let timeout: number | null;
    let signal: AbortSignal | undefined;
    try {
      if (options !== NO_OPTIONS) checkOptions(options, ENDPOINT_OPTION_NAMES.recvFrom);
      timeout = checkTimeout(options.timeout);
      signal = checkSignalType(options.signal);
      this._life.checkOpen();
      if (signal?.aborted) throw new AbortError(signal.reason);
    } catch (err) {
      return Promise.reject(err);
    }
    return receivePacket(this._endpoint, timeout, signal, (raw) => this.#unpack(raw));
  }

  /**
   * Yield datagrams and their senders as they arrive: everything already queued (timeout 0,
   * the default) or arriving within `timeout` seconds of waiting in all, then end; `null`:
   * until the endpoint is closed. A datagram that fails to parse rejects `next()` and ends
   * the iteration (the endpoint keeps working: iterate again); so does `options.signal`.
   * @param options - the waiting budget (seconds), a signal that ends it
   * @returns an async iterator of `{ packet, address, ancillary }`
   */
  iterReceivedPacketsFrom(options: IterOptions = {}): AsyncIterableIterator<ReceivedFrom<ReceivedPacket, Addr>, undefined, undefined> {
    checkOptions(options, ENDPOINT_OPTION_NAMES.iter);
    const budget = checkTimeout(options.timeout === undefined ? 0 : options.timeout);
    const signal = checkSignalType(options.signal);
    if (this.closed) return PacketIterator.failed(closedError());
    return iteratePackets(this._endpoint, budget, signal, (raw) => this.#unpack(raw));
  }

  /**
   * `for await (const { packet, address } of endpoint)`: every datagram, as they arrive,
   * until the endpoint is closed (`iterReceivedPacketsFrom({ timeout: null })`).
   * @returns an async iterator of `{ packet, address, ancillary }`
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<ReceivedFrom<ReceivedPacket, Addr>, undefined, undefined> {
    return this.iterReceivedPacketsFrom({ timeout: null });
  }

  /** The destination for `address`, checked (the forms' errors). */
  #destination(address: Like, name: string): Destination {
    if (typeof address === 'string') {
      if (address === this.#lastText) return this.#lastDest as Destination;
      const dest = this.#forms.destination(address, name);
      this.#lastText = address;
      this.#lastDest = dest;
      return dest;
    }
    return this.#forms.sender(address as object) ?? this.#forms.destination(address, name);
  }

  /** `{ packet, address, ancillary }` for `raw`; its descriptors are closed if it fails. */
  #unpack(raw: RawDatagram): ReceivedFrom<ReceivedPacket, Addr> {
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
    const address = raw.from === undefined ? this.#forms.none : this.#forms.decode(raw.from);
    let ancillary: SocketAncillary | undefined;
    if (raw.fds !== undefined || raw.credentials !== undefined) {
      ancillary = new SocketAncillary();
      ancillary._receive(raw.fds, raw.credentials);
    }
    return { packet, address, ancillary };
  }
}
