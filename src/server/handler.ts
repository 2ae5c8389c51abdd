/**
 * Request handlers of `UnixDatagramServer`, and how they are run per sender: packets of one
 * sender in order, one handler run (or conversation) at a time.
 * @packageDocumentation
 */
import type { UnixAddress } from '../address.js';
import { TimeoutError, invalidArgType } from '../errors.js';
import type { RawDatagram } from '../lowlevel/receiver.js';
import type { Codec } from '../protocol/codec.js';
import type { UnixDatagramServerClient } from './client.js';

/** What a conversation handler may `yield` instead of nothing: how to wait for the next packet. */
export interface RecvParams {
  /**
   * Seconds to wait for this sender's next packet; when it passes, a {@link TimeoutError}
   * (`'ETIMEDOUT'`) is thrown into the generator at its `yield`. Default: no limit.
   */
  timeout?: number | null;
}

/**
 * An easynetwork-style request handler: an object whose `handle` is an async generator
 * method, run once per conversation with a sender. Each `yield` receives that sender's next
 * packet, so state lives in local variables (or on the object, shared by all senders). When
 * `handle` returns, the next packet of that sender starts a new run. Returning before the
 * first `yield` discards the packet that started it.
 *
 * @typeParam SentPacket - what the server sends
 * @typeParam ReceivedPacket - what it receives
 * @example
 * ```ts
 * const counter: ConversationHandler<number, string> = {
 *   async *handle(client) {
 *     let count = 0;
 *     for (;;) {
 *       const request = yield { timeout: 30 }; // seconds
 *       await client.sendPacket(++count);
 *     }
 *   },
 * };
 * ```
 */
export interface ConversationHandler<SentPacket, ReceivedPacket, Addr extends object = UnixAddress> {
  /**
   * One conversation with `client`: `const packet = yield` (or `yield { timeout }`) waits for
   * its next packet.
   * @param client - the sender, to answer it
   */
  handle(client: UnixDatagramServerClient<SentPacket, Addr>): AsyncGenerator<RecvParams | undefined | void, unknown, ReceivedPacket>;
}

/**
 * A plain request handler: called once per packet, awaited before the same sender's next
 * packet is handled.
 *
 * @typeParam SentPacket - what the server sends
 * @typeParam ReceivedPacket - what it receives
 * @example
 * ```ts
 * const echo: PacketHandler<unknown, unknown> = async (packet, client) => {
 *   await client.sendPacket(packet);
 * };
 * ```
 */
export type PacketHandler<SentPacket, ReceivedPacket, Addr extends object = UnixAddress> = (
  packet: ReceivedPacket,
  client: UnixDatagramServerClient<SentPacket, Addr>,
) => void | PromiseLike<unknown>;

/**
 * Either kind of request handler: a function is called per packet ({@link PacketHandler}),
 * an object's `handle` generator runs per conversation ({@link ConversationHandler}). Both
 * written inline in `UnixDatagramServer.listen(…)` get their parameter types from the
 * protocol, without annotations.
 */
export type RequestHandler<SentPacket, ReceivedPacket, Addr extends object = UnixAddress> =
  PacketHandler<SentPacket, ReceivedPacket, Addr> | ConversationHandler<SentPacket, ReceivedPacket, Addr>;

/** @internal Whether `handler` is a {@link ConversationHandler}. */
export function isConversationHandler<S, R, Addr extends object>(
  handler: RequestHandler<S, R, Addr>,
): handler is ConversationHandler<S, R, Addr> {
  return typeof handler === 'object';
}

/**
 * @internal A `handler` argument, checked: a function, or an object with a `handle` method.
 * An async generator function given directly is refused, with how to pass it: called per
 * packet, it would return a generator that never runs.
 * @throws `ERR_INVALID_ARG_TYPE`
 */
export function checkHandler(handler: unknown): void {
  if (typeof handler === 'function') {
    if (Object.prototype.toString.call(handler) !== '[object AsyncGeneratorFunction]') return;
    throw invalidArgType(
      'handler',
      'a function (packet, client) => … or an object { handle(client) }; put an async generator function in { handle }, e.g. { async *handle(client) { … } }',
      handler,
    );
  }
  if (typeof handler === 'object' && handler !== null && typeof (handler as { handle?: unknown }).handle === 'function') return;
  throw invalidArgType(
    'handler',
    'a function (packet, client) => … or an object { handle(client) } whose handle is an async generator method',
    handler,
  );
}

/** @internal What a slot needs from its server. */
export interface SlotHost<S, R, Addr extends object = UnixAddress> {
  readonly codec: Codec<S, R>;
  readonly handler: RequestHandler<S, R, Addr>;
  report(err: unknown, client: UnixDatagramServerClient<S, Addr> | undefined): void;
  closed(): boolean;
  /** A packet left the slot's queue (the server may resume reading). */
  shifted(slot: ClientSlot<S, R, Addr>): void;
  /** The slot's handler finished its run (the slot may be idle now). */
  settled(slot: ClientSlot<S, R, Addr>): void;
}

const CLOSED = Symbol('closed');
const TIMED_OUT = Symbol('timed out');
/** What parsing a datagram gives when it fails: no packet (a decoded packet may be any value, `undefined` too). */
const UNPARSED = Symbol('unparsed');
type Next = RawDatagram | typeof CLOSED | typeof TIMED_OUT;

/** @internal One sender's queue of packets and its running handler. */
export class ClientSlot<S, R, Addr extends object = UnixAddress> {
  readonly client: UnixDatagramServerClient<S, Addr>;
  readonly #host: SlotHost<S, R, Addr>;
  readonly #once: boolean;
  #queue: RawDatagram[] = [];
  #waiter: ((next: Next) => void) | undefined;
  #running: Promise<void> | undefined;
  #driving = false;
  /** The sender will send no more (its connection ended): a conversation ends once the queue is empty. */
  #ended = false;

  /**
   * @param once - an unbound sender: its conversation is the one packet (later packets of
   *   unbound senders cannot be told apart)
   */
  constructor(host: SlotHost<S, R, Addr>, client: UnixDatagramServerClient<S, Addr>, once: boolean) {
    this.#host = host;
    this.client = client;
    this.#once = once;
  }

  /** Whether this is an unbound sender's slot, for its one packet. */
  get once(): boolean {
    return this.#once;
  }

  /** Packets waiting for the handler. */
  get queued(): number {
    return this.#queue.length;
  }

  /** The running handler, if any. */
  get running(): Promise<void> | undefined {
    return this.#running;
  }

  /**
   * Whether nothing runs or waits: the slot can be forgotten (replies still waiting stay in
   * the endpoint's queue for that address, in order).
   */
  get idle(): boolean {
    return this.#running === undefined && this.#queue.length === 0;
  }

  /** A packet from this sender: hand it to a waiting conversation or queue it, and run. */
  push(raw: RawDatagram): void {
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter(raw);
      return;
    }
    this.#queue.push(raw);
    this.#start();
  }

  #start(): void {
    // While `#drive` runs (a handler pushed a packet of this sender), its loop takes it.
    if (this.#running !== undefined || this.#driving || this.#queue.length === 0 || this.#host.closed()) return;
    const handler = this.#host.handler;
    if (isConversationHandler(handler)) {
      this.#running = this.#converseAll(handler).finally(() => this.#settle());
      return;
    }
    this.#drive(handler);
  }

  /** The run ended: start again if packets came meanwhile, else tell the server. */
  #settle(): void {
    this.#running = undefined;
    this.#start();
    if (this.#running === undefined) this.#host.settled(this);
  }

  /**
   * The sender will send no more (a seqpacket peer closed its connection): the packets
   * queued are still handled, then a conversation waiting for the next one ends (its
   * generator is `return()`ed).
   */
  end(): void {
    this.#ended = true;
    if (this.#queue.length === 0) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.(CLOSED);
    }
  }

  /** The server closed (and its endpoint failed the replies waiting): end a waiting conversation, close what is queued. */
  close(): void {
    for (const raw of this.#queue) raw.fds?.close();
    this.#queue = [];
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.(CLOSED);
  }

  async #converseAll(handler: ConversationHandler<S, R, Addr>): Promise<void> {
    // Let the caller (the server's read loop) finish its batch first.
    await Promise.resolve();
    while (this.#queue.length > 0 && !this.#host.closed()) await this.#converse(handler);
  }

  /**
   * Handle the queued packets in order, at once: one after the other while each handler
   * call returns no promise (or one that settles, then the rest follow it). No promise,
   * generator or object is made per packet beyond what the handler itself makes.
   */
  #drive(handler: PacketHandler<S, R, Addr>): void {
    this.#driving = true;
    try {
      while (!this.#host.closed()) {
        const raw = this.#take();
        if (raw === undefined) break;
        const pending = this.#handle(handler, raw);
        if (pending !== undefined) {
          this.#running = pending.then(() => this.#settle());
          return;
        }
      }
    } finally {
      this.#driving = false;
    }
    this.#host.settled(this);
  }

  /** Run `handler` for `raw`: undefined if it finished, else a promise that settles when it does (never rejects). */
  #handle(handler: PacketHandler<S, R, Addr>, raw: RawDatagram): Promise<void> | undefined {
    const packet = this.#parse(raw);
    if (packet === UNPARSED) return undefined;
    const client = this.client;
    client._begin(raw.fds, raw.credentials);
    let result: unknown;
    try {
      result = handler(packet, client);
    } catch (err) {
      client._end();
      this.#host.report(err, client);
      return undefined;
    }
    if (typeof result !== 'object' || result === null || typeof (result as PromiseLike<unknown>).then !== 'function') {
      client._end();
      return undefined;
    }
    return Promise.resolve(result as PromiseLike<unknown>).then(
      () => client._end(),
      (err: unknown) => {
        client._end();
        this.#host.report(err, client);
      },
    );
  }

  async #converse(handler: ConversationHandler<S, R, Addr>): Promise<void> {
    const host = this.#host;
    const first = this.#take() as RawDatagram;
    const packet = this.#parse(first); // garbage starts no conversation
    if (packet === UNPARSED) return;
    let gen: AsyncGenerator<RecvParams | undefined | void, unknown, R>;
    let step: IteratorResult<RecvParams | undefined | void, unknown>;
    try {
      gen = handler.handle(this.client);
      step = await gen.next();
    } catch (err) {
      first.fds?.close(); // failed before its first yield: the packet goes with it
      host.report(err, this.client);
      return;
    }
    if (step.done) {
      first.fds?.close(); // refused before its first yield: the packet is discarded
      return;
    }
    let current: { raw: RawDatagram; value: R } | undefined = { raw: first, value: packet };
    try {
      while (!step.done) {
        if (current === undefined) {
          if (this.#once) {
            await gen.return(undefined); // an unbound sender's next packet may be anyone's
            return;
          }
          const timeout = step.value?.timeout ?? null;
          // A packet already queued is taken at once: no promise to await for it.
          const next = this.#take() ?? (await this.#next(timeout));
          if (next === CLOSED) {
            await gen.return(undefined);
            return;
          }
          if (next === TIMED_OUT) {
            step = await gen.throw(new TimeoutError(timeout ?? 0));
            continue;
          }
          const parsed = this.#parse(next);
          if (parsed === UNPARSED) continue;
          current = { raw: next, value: parsed };
        }
        this.client._begin(current.raw.fds, current.raw.credentials);
        try {
          step = await gen.next(current.value);
        } finally {
          current = undefined;
          this.client._end();
        }
      }
    } catch (err) {
      host.report(err, this.client);
    }
  }

  #next(timeout: number | null): Promise<Next> {
    const queued = this.#take();
    if (queued) return Promise.resolve(queued);
    if (this.#host.closed() || this.#ended) return Promise.resolve(CLOSED);
    return new Promise<Next>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.#waiter = (next) => {
        if (timer) clearTimeout(timer);
        resolve(next);
      };
      if (timeout !== null) {
        timer = setTimeout(() => {
          this.#waiter = undefined;
          resolve(TIMED_OUT);
        }, timeout * 1000);
        timer.unref(); // the server's own socket keeps the process alive while it serves
      }
    });
  }

  #take(): RawDatagram | undefined {
    const raw = this.#queue.shift();
    if (raw) this.#host.shifted(this);
    return raw;
  }

  /** The packet of `raw`, or {@link UNPARSED} (reported, its descriptors closed). */
  #parse(raw: RawDatagram): R | typeof UNPARSED {
    try {
      return this.#host.codec.decode(raw.data);
    } catch (err) {
      raw.fds?.close();
      this.#host.report(err, this.client);
      return UNPARSED;
    }
  }
}
