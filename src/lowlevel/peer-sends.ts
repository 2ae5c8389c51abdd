/**
 * @internal Sends of an unconnected socket, one queue per receiver: datagrams to one address
 * go out in call order, and a receiver whose queue is full holds back only the sends to it
 * (as each goroutine's `WriteToUnix` in Go, or each `send_to` future in tokio, waits alone).
 * A queue exists only while sends to its receiver wait.
 * @packageDocumentation
 */
import type { Buffer } from 'node:buffer';

import {
  WOULD_BLOCK,
  SEND_MANY_MAX,
  send,
  sendMany,
  type NativeAddress,
  type NativeDatagram,
  type NativeSendAncillary,
} from '../native/binding.js';
import { SealedSend } from './sealed.js';
import { Sender, type SendLimits } from './sender.js';

/** A receiver: its `sun_path` bytes, and the same as a string key. */
export interface Destination {
  /** The receiver as the binding takes it: `sun_path` bytes, or `"host:port"` (UDP). */
  readonly raw: NativeAddress;
  readonly key: string;
}

/** What a send that went out at once returns: one settled promise, shared. */
const RESOLVED: Promise<void> = Promise.resolve();

/** The per-receiver send queues of one socket. */
export class PeerSends {
  readonly #fd: number;
  /** `largePayloads: 'memfd'`: a datagram refused as too big goes as a sealed memfd. */
  readonly #sealing: boolean;
  readonly #queues = new Map<string, Sender>();
  #ref = true;

  /**
   * @param fd - the socket's descriptor, open while this is used
   * @param sealing - whether too-big datagrams go as sealed memfds (`sealed.ts`)
   */
  constructor(fd: number, sealing = false) {
    this.#fd = fd;
    this.#sealing = sealing;
  }

  /** Whether sends to any receiver wait (which keeps the process alive). */
  get pending(): boolean {
    return this.#queues.size > 0;
  }

  /**
   * Send one datagram to `dest`: at once if nothing to it waits ahead, else (or when its
   * queue is full) once there is room, until `limits` withdraw it.
   * @returns a promise that resolves once the datagram is in the kernel
   */
  send(dest: Destination, data: NativeDatagram, ancillary: NativeSendAncillary | null, limits: SendLimits | undefined): Promise<void> {
    const fd = this.#fd;
    const sealed =
      this.#sealing && ancillary === null
        ? new SealedSend(
            data,
            () => send(fd, data, dest.raw, null),
            (memfd, empty) => send(fd, empty, dest.raw, { fds: [memfd] }),
          )
        : undefined;
    const attempt = sealed?.attempt ?? ((): number => send(fd, data, dest.raw, ancillary));
    const queue = this.#queues.get(dest.key);
    if (queue !== undefined) return sealed ? sealed.releasing(queue.enqueue(attempt, limits)) : queue.enqueue(attempt, limits);
    let sent: number;
    try {
      sent = attempt();
    } catch (err) {
      sealed?.release();
      return Promise.reject(err);
    }
    if (sent !== WOULD_BLOCK) {
      sealed?.release();
      return RESOLVED;
    }
    const done = this.#queue(dest.key).enqueue(attempt, limits);
    return sealed ? sealed.releasing(done) : done;
  }

  /**
   * Send `datas[i]` to `dests[i]`, each with `extras[i]`: with one `sendmmsg` (a destination
   * per datagram) while no receiver of theirs has sends waiting and none is full; the rest
   * then go, per receiver in call order, through that receiver's queue. A failed datagram
   * ends the sends to its receiver (its later datagrams are not sent); the others go on.
   * @returns a promise that resolves once all are in the kernel, or rejects with the first
   * error once every other datagram is sent or failed; and how many are in the kernel
   */
  sendMany(
    datas: Array<Buffer | Buffer[]>,
    dests: Destination[],
    extras: Array<NativeSendAncillary | null> | null,
    limits: SendLimits | undefined,
  ): { done: Promise<void>; sent: () => number } {
    const fd = this.#fd;
    let sent = 0;
    let offset = 0;
    // Sealing: one send per datagram, so that each one refused as too big can go sealed
    // (in call order per receiver all the same).
    if (this.#sealing) return this.#sendEach(datas, dests, extras, limits);
    if (!dests.some((d) => this.#queues.has(d.key))) {
      const raws = dests.map((d) => d.raw);
      try {
        while (offset < datas.length) {
          const asked = Math.min(datas.length - offset, SEND_MANY_MAX);
          const n = sendMany(fd, datas, offset, offset + asked, raws, extras);
          if (n === WOULD_BLOCK) break;
          offset += n;
          sent += n;
          if (n < asked) break; // the receiver of datagram `offset` is full
        }
      } catch (err) {
        // Datagram `offset` failed: the others to its receiver stay unsent.
        const failed = dests[offset] as Destination;
        const rest = this.#rest(datas, dests, extras, offset + 1, limits, failed.key, (n) => (sent += n));
        const fail = (): Promise<void> => Promise.reject(err);
        return { done: rest.then(fail, fail), sent: () => sent };
      }
    }
    if (offset === datas.length) return { done: RESOLVED, sent: () => sent };
    const done = this.#rest(datas, dests, extras, offset, limits, undefined, (n) => (sent += n));
    return { done, sent: () => sent };
  }

  /** `sendMany` one datagram at a time, each through {@link PeerSends.send}. */
  #sendEach(
    datas: Array<Buffer | Buffer[]>,
    dests: Destination[],
    extras: Array<NativeSendAncillary | null> | null,
    limits: SendLimits | undefined,
  ): { done: Promise<void>; sent: () => number } {
    let sent = 0;
    const runs = datas.map((data, i) =>
      this.send(dests[i] as Destination, data, extras?.[i] ?? null, limits).then(() => {
        sent++;
      }),
    );
    const done = Promise.allSettled(runs).then((results) => {
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
    return { done, sent: () => sent };
  }

  /** Whether retry timers hold the process open. */
  setRef(on: boolean): void {
    this.#ref = on;
    for (const queue of this.#queues.values()) queue.setRef(on);
  }

  /** Reject every waiting send with `err`. */
  close(err: Error): void {
    const queues = [...this.#queues.values()];
    this.#queues.clear();
    for (const queue of queues) queue.close(err);
  }

  /**
   * `datas[from..]` by receiver (skipping `skip`), each receiver's in call order through its
   * queue; resolves when all settled, or rejects with the first error.
   */
  #rest(
    datas: Array<Buffer | Buffer[]>,
    dests: Destination[],
    extras: Array<NativeSendAncillary | null> | null,
    from: number,
    limits: SendLimits | undefined,
    skip: string | undefined,
    count: (n: number) => void,
  ): Promise<void> {
    const groups = new Map<string, number[]>();
    for (let i = from; i < datas.length; i++) {
      const key = (dests[i] as Destination).key;
      if (key === skip) continue;
      let group = groups.get(key);
      if (group === undefined) groups.set(key, (group = []));
      group.push(i);
    }
    const fd = this.#fd;
    const runs: Promise<void>[] = [];
    for (const [key, indices] of groups) {
      const raw = (dests[indices[0] as number] as Destination).raw;
      const groupDatas = indices.map((i) => datas[i] as Buffer);
      const groupExtras = extras && indices.map((i) => extras[i] ?? null);
      let at = 0;
      const attempt = (): number => {
        while (at < groupDatas.length) {
          const asked = Math.min(groupDatas.length - at, SEND_MANY_MAX);
          const n = sendMany(fd, groupDatas, at, at + asked, raw, groupExtras);
          if (n === WOULD_BLOCK) return WOULD_BLOCK;
          at += n;
          count(n);
          if (n < asked) return WOULD_BLOCK; // the receiver's queue filled up
        }
        return groupDatas.length;
      };
      const queue = this.#queues.get(key);
      runs.push(queue !== undefined ? queue.enqueue(attempt, limits) : this.#sendOrQueue(key, attempt, limits));
    }
    return Promise.allSettled(runs).then((results) => {
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
  }

  #sendOrQueue(key: string, attempt: () => number, limits: SendLimits | undefined): Promise<void> {
    let result: number;
    try {
      result = attempt();
    } catch (err) {
      return Promise.reject(err);
    }
    if (result !== WOULD_BLOCK) return RESOLVED;
    return this.#queue(key).enqueue(attempt, limits);
  }

  /** A new queue for `key`: retried on a timer (Linux wakes no unconnected sender), dropped once empty. */
  #queue(key: string): Sender {
    const queue: Sender = new Sender(
      () => false,
      () => {
        if (!queue.pending && this.#queues.get(key) === queue) this.#queues.delete(key);
      },
    );
    queue.setRef(this.#ref);
    this.#queues.set(key, queue);
    return queue;
  }
}
