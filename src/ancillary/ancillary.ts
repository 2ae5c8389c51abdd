/**
 * Control messages: file descriptors (`SCM_RIGHTS`), credentials (`SCM_CREDENTIALS`) and the
 * sender's pidfd (`SCM_PIDFD`, received only).
 * @packageDocumentation
 */
import { checkFd, checkOptions } from '../checks.js';
import { invalidArgType, outOfRange } from '../errors.js';
import * as binding from '../native/binding.js';
import type { NativeSendAncillary } from '../native/binding.js';
import { Pidfd, SCMPidfd } from './pidfd.js';
import type { ReceivedFds } from './received-fds.js';

/** Process credentials: what `SCM_CREDENTIALS` carries and `SO_PEERCRED` reports. */
export interface Credentials {
  /** Process id, as seen from the receiver's pid namespace (0 if it cannot be mapped). */
  readonly pid: number;
  /** User id (65534 if it cannot be mapped). */
  readonly uid: number;
  /** Group id (65534 if it cannot be mapped). */
  readonly gid: number;
}

/** An `SCM_RIGHTS` message: file descriptors. */
export class SCMRights {
  /** The descriptors, still owned by the {@link SocketAncillary} they came from. */
  readonly fds: readonly number[];

  /**
   * @param fds - descriptor numbers
   * @throws `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for anything but an iterable of descriptor numbers
   */
  constructor(fds: Iterable<number>) {
    this.fds = Object.freeze(checkFds(fds));
  }
}

/** An `SCM_CREDENTIALS` message. */
export class SCMCredentials {
  /** The credentials carried (one per datagram received). */
  readonly credentials: readonly Credentials[];

  /**
   * @param credentials - the credentials
   * @throws `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for anything but an iterable of `{ pid, uid, gid }`
   */
  constructor(credentials: Iterable<Credentials>) {
    if (!isIterable(credentials)) throw invalidArgType('credentials', 'an iterable of { pid, uid, gid }', credentials);
    this.credentials = Object.freeze(
      [...credentials].map((c, i) => {
        if (typeof c !== 'object' || c === null) throw invalidArgType(`credentials[${i}]`, 'an object { pid, uid, gid }', c);
        return Object.freeze({
          pid: checkId(`credentials[${i}].pid`, c.pid),
          uid: checkId(`credentials[${i}].uid`, c.uid),
          gid: checkId(`credentials[${i}].gid`, c.gid),
        });
      }),
    );
  }
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

/** Descriptor numbers, checked: an iterable of integers from 0 to 2^31 − 1. */
function checkFds(fds: unknown): number[] {
  if (!isIterable(fds)) throw invalidArgType('fds', 'an iterable of file descriptor numbers', fds);
  const list = [...fds];
  for (const fd of list) checkFd(fd);
  return list as number[];
}

/** A pid, uid or gid, checked: an integer from 0 to 2^32 − 1. */
function checkId(name: string, v: unknown): number {
  if (typeof v !== 'number') throw invalidArgType(name, 'of type number', v);
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw outOfRange(name, 'an integer >= 0', v);
  return v;
}

/** The empty list every {@link SocketAncillary} list starts as (frozen: it is shared). */
const NONE: readonly never[] = Object.freeze([]);

/**
 * `list` with `item` at its end: a new one-item list in place of {@link NONE}, else `list`
 * itself, grown (a list is only ever {@link NONE} or the object's own).
 */
function append<T>(list: readonly T[], item: T): readonly T[] {
  if (list === NONE) return [item];
  (list as T[]).push(item);
  return list;
}

/** Most descriptors one datagram can carry on Linux (`SCM_MAX_FD`, 253), as the binding says. */
export const MAX_FDS_PER_DATAGRAM: number = binding.MAX_FDS_PER_DATAGRAM;

/**
 * Control data to send with a datagram, or that arrived with one.
 *
 * Sending: `addFds()` and `addCredentials()`; the caller keeps owning the descriptors it
 * adds (the kernel duplicates them). A send takes what the object holds when it is called:
 * changing the object afterwards does not change a send still waiting for room, but keep
 * the descriptors open until that send has resolved.
 *
 * Receiving: pass the object as `recvPacket({ ancillary })`; received descriptors are then
 * owned by it: `steal(i)` hands one over, `close()` closes the rest, and whatever is left
 * is closed when the object is garbage-collected. The sender's pidfd (with `passPidfd`) is
 * owned the same way, through {@link SocketAncillary.pidfd}.
 *
 * @example
 * ```ts
 * const ancillary = new SocketAncillary();
 * const packet = await client.recvPacket({ ancillary });
 * for (const message of ancillary.messages()) {
 *   if (message instanceof SCMRights) console.log('fds', message.fds);
 * }
 * ancillary.close();
 * ```
 */
export class SocketAncillary {
  // Every list starts as the one shared empty list: the object a received datagram comes
  // with allocates only the lists it fills (one, for a datagram with descriptors).
  #sendFds: readonly number[] = NONE;
  #sendCredentials: Credentials | undefined;
  #received: readonly ReceivedFds[] = NONE;
  #receivedCredentials: readonly Credentials[] = NONE;
  #pidfds: readonly Pidfd[] = NONE;

  /**
   * Add descriptors to send. They stay yours: close them when you no longer need them.
   * @param fds - open descriptors
   * @throws TypeError / RangeError for something that is not a descriptor number, or past 253 in all
   */
  addFds(fds: Iterable<number>): void {
    const list = checkFds(fds);
    if (this.#sendFds.length + list.length > MAX_FDS_PER_DATAGRAM) {
      throw outOfRange('fds.length', `at most ${MAX_FDS_PER_DATAGRAM} descriptors per datagram`, this.#sendFds.length + list.length);
    }
    this.#sendFds = [...this.#sendFds, ...list];
  }

  /**
   * Send credentials. The kernel checks them: an unprivileged process can only send its own.
   * @param credentials - defaults to this process's pid, uid and gid
   * @throws `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for something that is not `{ pid?, uid?, gid? }` of integers
   */
  addCredentials(credentials: Partial<Credentials> = {}): void {
    if (typeof credentials !== 'object' || credentials === null)
      throw invalidArgType('credentials', 'an object { pid?, uid?, gid? }', credentials);
    checkOptions(credentials, ['pid', 'uid', 'gid']);
    const own = binding.currentCredentials();
    const pick = (name: keyof Credentials): number => checkId(`credentials.${name}`, credentials[name] ?? own[name]);
    this.#sendCredentials = { pid: pick('pid'), uid: pick('uid'), gid: pick('gid') };
  }

  /** Every message held: received ones, then ones added for sending. */
  *messages(): IterableIterator<SCMRights | SCMCredentials | SCMPidfd> {
    const fds = [...this.iterFds()];
    if (fds.length > 0) yield new SCMRights(fds);
    if (this.#receivedCredentials.length > 0) yield new SCMCredentials(this.#receivedCredentials);
    if (this.#pidfds.length > 0) yield new SCMPidfd(this.#pidfds);
    if (this.#sendFds.length > 0) yield new SCMRights(this.#sendFds);
    if (this.#sendCredentials) yield new SCMCredentials([this.#sendCredentials]);
  }

  /** The received descriptors still held (not stolen, not closed). */
  *iterFds(): IterableIterator<number> {
    for (const set of this.#received) {
      for (let i = 0; i < set.length; i++) {
        const fd = set.get(i);
        if (fd >= 0) yield fd;
      }
    }
  }

  /** How many descriptors were received (stolen and closed ones included, so indices stay put). */
  get fdCount(): number {
    let n = 0;
    for (const set of this.#received) n += set.length;
    return n;
  }

  /** The credentials received, one per datagram (needs `passCredentials`). */
  get credentials(): readonly Credentials[] {
    return this.#receivedCredentials;
  }

  /**
   * The sender's pidfd (`SCM_PIDFD`) that came with the datagram received into this object
   * (the first one, if several were), or `undefined`. Needs `passPidfd` on the receiving
   * socket before the datagram was sent (Linux >= 6.5). Before Linux 6.16 a datagram whose
   * sender was already reaped when it was read comes without one (the kernel cannot make
   * it); 6.16 and later give one that reports the exit.
   */
  get pidfd(): Pidfd | undefined {
    return this.#pidfds[0];
  }

  /** The senders' pidfds, one per datagram received with one (see {@link SocketAncillary.pidfd}). */
  get pidfds(): readonly Pidfd[] {
    return this.#pidfds;
  }

  /**
   * Take ownership of the received descriptor at `index`: you must close it.
   * @param index - 0 ≤ index < fdCount
   * @returns the descriptor number
   * @throws RangeError (`ERR_OUT_OF_RANGE`) if there is none there, or it was stolen or closed
   */
  steal(index: number): number {
    if (!Number.isInteger(index) || index < 0) throw outOfRange('index', 'an integer >= 0', index);
    let i = index;
    for (const set of this.#received) {
      if (i < set.length) return set.steal(i); // a RangeError (ERR_OUT_OF_RANGE) if stolen or closed
      i -= set.length;
    }
    throw outOfRange('index', `less than ${this.fdCount} (the descriptors received)`, index);
  }

  /** Close every received descriptor not stolen, pidfds included. Idempotent. */
  close(): void {
    for (const set of this.#received) set.close();
  }

  /** `using ancillary = new SocketAncillary()` closes what was not stolen at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Close received descriptors and forget everything, received and to send. */
  clear(): void {
    this.close();
    this.#received = NONE;
    this.#receivedCredentials = NONE;
    this.#pidfds = NONE;
    this.#sendFds = NONE;
    this.#sendCredentials = undefined;
  }

  /**
   * @internal What to send: descriptors and credentials, as the binding takes them, or null
   * if nothing. A copy: a send that waits for room must carry what was added when it was
   * called, not what is added to this object afterwards (e.g. for the next packet).
   */
  _toSend(): NativeSendAncillary | null {
    if (this.#sendFds.length === 0 && !this.#sendCredentials) return null;
    const out: NativeSendAncillary = {};
    if (this.#sendFds.length > 0) out.fds = [...this.#sendFds];
    if (this.#sendCredentials) out.credentials = { ...this.#sendCredentials };
    return out;
  }

  /** @internal Take over what arrived with a datagram: its descriptors (its pidfd among them) and credentials. */
  _receive(fds: ReceivedFds | undefined, credentials: Credentials | undefined): void {
    if (fds) {
      this.#received = append(this.#received, fds);
      if (fds.hasPidfd) this.#pidfds = append(this.#pidfds, new Pidfd(fds));
    }
    if (credentials) this.#receivedCredentials = append(this.#receivedCredentials, credentials);
  }
}

/**
 * @internal An `ancillary` argument, checked.
 * @param ancillary - what the caller passed
 * @param name - the argument's name, for the error
 * @returns the {@link SocketAncillary}, or `undefined` for none
 * @throws `ERR_INVALID_ARG_TYPE` for anything else
 */
export function checkAncillary(ancillary: unknown, name = 'options.ancillary'): SocketAncillary | undefined {
  if (ancillary !== undefined && !(ancillary instanceof SocketAncillary)) throw invalidArgType(name, 'a SocketAncillary', ancillary);
  return ancillary;
}
