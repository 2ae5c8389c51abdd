/**
 * What the datagram servers share, whatever their transport (Unix datagram, UDP): one
 * bound socket, a request handler per sender address, replies that wait on their own peer
 * only, backpressure per sender, and close.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';

import type { Endpoint } from '../lowlevel/endpoint.js';
import { Lifetime } from '../lowlevel/lifetime.js';
import type { Peer, RawDatagram } from '../lowlevel/receiver.js';
import type { SocketFile } from '../lowlevel/socket-file.js';
import type { NativeAddress } from '../native/binding.js';
import type { Codec } from '../protocol/codec.js';
import { UnixDatagramServerClient } from './client.js';
import { ClientSlot, type RequestHandler, type SlotHost } from './handler.js';
import type { ServeOptions } from './options.js';
import { serveForever } from './serve.js';

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

/** @internal How a server's senders look to its handlers. */
export interface SenderForms<Addr extends object> {
  /** A sender's public address. */
  decode(from: Peer): Addr;
  /** The address of a sender that has none (an unbound Unix socket). */
  readonly none: Addr;
  /** A printable form, for `client.toString()`. */
  readonly format: (address: Addr) => string;
  /** Whether replies may carry descriptors and credentials (Unix: yes; UDP: no). */
  readonly ancillary: boolean;
}

/** @internal What a server reports its errors to. */
export type ErrorHook<S, Addr extends object> = (error: unknown, client: UnixDatagramServerClient<S, Addr> | undefined) => void;

/**
 * A server on one datagram socket: each sender address gets its own handler run, so
 * handlers of different senders run concurrently while packets of one sender are handled
 * in order. The part `UnixDatagramServer` and `UdpServer` share.
 *
 * @typeParam SentPacket - what the server sends (replies)
 * @typeParam ReceivedPacket - what it receives (requests)
 * @typeParam Addr - a sender's address
 * @typeParam A - @internal the binding's form of its addresses
 */
export abstract class DatagramServer<SentPacket, ReceivedPacket, Addr extends object, A extends NativeAddress> {
  /** @internal The socket. */
  protected readonly _endpoint: Endpoint<A>;
  /** @internal The endpoint, the socket file `listen` created and the signal. */
  protected readonly _life: Lifetime;
  readonly #host: SlotHost<SentPacket, ReceivedPacket, Addr>;
  readonly #forms: SenderForms<Addr>;
  /** Slots of bound senders, by address key. */
  readonly #slots = new Map<string, ClientSlot<SentPacket, ReceivedPacket, Addr>>();
  /** Slots of unbound senders (one per packet) still running. */
  readonly #anonymous = new Set<ClientSlot<SentPacket, ReceivedPacket, Addr>>();
  readonly #onError: ErrorHook<SentPacket, Addr>;
  #release: (() => void) | undefined;
  #full = new Set<ClientSlot<SentPacket, ReceivedPacket, Addr>>();
  #pumping = false;
  #closing: Promise<void> | undefined;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  /** @internal Made by a subclass's factories, once its socket is bound. */
  protected constructor(
    endpoint: Endpoint<A>,
    codec: Codec<SentPacket, ReceivedPacket>,
    handler: RequestHandler<SentPacket, ReceivedPacket, Addr>,
    file: SocketFile | undefined,
    forms: SenderForms<Addr>,
    onError: ErrorHook<SentPacket, Addr>,
  ) {
    this._endpoint = endpoint;
    this._life = new Lifetime(endpoint, file);
    this.#forms = forms;
    this.#onError = onError;
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
    this.#host = {
      codec,
      handler,
      report: (err, client) => this.#report(err, client),
      closed: () => this.closed,
      shifted: (slot) => {
        // (No set lookup per packet while no sender's queue is full, the usual case.)
        if (this.#full.size > 0 && this.#full.has(slot) && slot.queued < MAX_QUEUED_PER_CLIENT) {
          this.#full.delete(slot);
          this._pump();
        }
      },
      settled: (slot) => this.#forgetIfIdle(slot),
    };
    this.#release = endpoint.receiver.hold();
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this._endpoint.closed;
  }

  /**
   * Wait while the server serves (it started at `listen`).
   * @param options - `signal`: closes the server when it aborts; the promise then rejects
   *   with an `AbortError` once the close has finished
   * @returns a promise that resolves once {@link close} has finished
   */
  serveForever(options?: ServeOptions): Promise<void> {
    return serveForever(options, this, this.#done);
  }

  /** Let the process exit while the server waits for datagrams. @returns this */
  unref(): this {
    this._endpoint.setRef(false);
    return this;
  }

  /** Undo {@link unref}: the listening server keeps the process alive (the default). @returns this */
  ref(): this {
    this._endpoint.setRef(true);
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
    this._life.end();
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
  /** @internal Hand what the receiver holds to the senders' slots. */
  _pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    const receiver = this._endpoint.receiver;
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

  #newSlot(from: Peer | undefined, once: boolean): ClientSlot<SentPacket, ReceivedPacket, Addr> {
    const forms = this.#forms;
    const client = new UnixDatagramServerClient<SentPacket, Addr>(
      { endpoint: this._endpoint, codec: this.#host.codec, dest: from ?? UNNAMED, format: forms.format, ancillary: forms.ancillary },
      from === undefined ? forms.none : forms.decode(from),
    );
    return new ClientSlot(this.#host, client, once);
  }

  /**
   * A slot's run ended. An unbound sender's slot is done; a bound sender's stays while it
   * may send again (its next packet then costs no new slot), until idle slots are swept.
   */
  #forgetIfIdle(slot: ClientSlot<SentPacket, ReceivedPacket, Addr>): void {
    if (slot.once && slot.idle && !this.closed) this.#anonymous.delete(slot);
  }

  /** Forget the idle slots of bound senders: called when there are many. */
  #sweep(): void {
    for (const [key, slot] of this.#slots) if (slot.idle) this.#slots.delete(key);
  }

  #report(err: unknown, client: UnixDatagramServerClient<SentPacket, Addr> | undefined): void {
    try {
      this.#onError(err, client);
    } catch (hookError) {
      console.error('unixgram server: the onError hook threw', hookError, 'while reporting', err);
    }
  }
}
