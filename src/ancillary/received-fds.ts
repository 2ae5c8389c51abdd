/**
 * @internal The descriptors one datagram carried (its `SCM_RIGHTS` ones and its sender's
 * pidfd), owned until someone steals or closes them: the interface, and its one
 * implementation, a range of its batch's fd set.
 * @packageDocumentation
 */
import { closedError, outOfRange } from '../errors.js';
import { closeFdRange } from '../native/binding.js';

/**
 * The descriptors one datagram carried, owned until someone steals or closes them (what is
 * left is closed when garbage-collected): the `SCM_RIGHTS` ones, by index, and the sender's
 * pidfd (`SCM_PIDFD`), if it came.
 */
export interface ReceivedFds {
  /** How many arrived (stolen and closed ones included, so indices stay put). */
  readonly length: number;
  /**
   * The descriptor at `index`, still owned here.
   * @param index - 0 ≤ index < length
   * @returns the descriptor number, or -1 once stolen or closed
   * @throws RangeError (`ERR_OUT_OF_RANGE`) if `index` is out of range
   */
  get(index: number): number;
  /**
   * Hand the descriptor at `index` to the caller, who must close it.
   * @param index - 0 ≤ index < length
   * @returns the descriptor number
   * @throws RangeError (`ERR_OUT_OF_RANGE`) if `index` is out of range, or it was stolen or closed
   */
  steal(index: number): number;
  /** Close every descriptor not stolen, the pidfd included. Idempotent. */
  close(): void;
  /** Whether the sender's pidfd came with the datagram (`SCM_PIDFD`). */
  readonly hasPidfd: boolean;
  /** @returns the pidfd, still owned here, or -1 if none came or it was stolen or closed */
  pidfd(): number;
  /**
   * Hand the pidfd to the caller, who must close it.
   * @returns the descriptor number
   * @throws `ERR_UNIXGRAM_CLOSED` if none came, or it was stolen or closed
   */
  stealPidfd(): number;
  /** Close the pidfd if it is still held. Idempotent. */
  closePidfd(): void;
}

/** An entry of the fd set that left it (stolen or closed). */
const GONE = -1;

/**
 * The descriptors one datagram carried: `count` consecutive entries, from `start`, of its
 * batch's fd set, an `Int32Array` whose memory belongs to the binding, and, when its
 * sender's pidfd came, the entry right after them (the binding's `batch.rs`: `ENTRY_PIDFD`).
 * An entry `>= 0` is owned by the set; stealing one reads it and writes `-1` (no native
 * call); closing the range is one native call, which closes what is still `>= 0` and marks
 * it `-1`. What is left is closed when the set's memory is garbage-collected (see the
 * binding's `batch/fdset.rs`).
 *
 * @example
 * ```ts
 * const fds = new FdRange(set, 3, 2, true); // entries 3 and 4 of the batch's set, pidfd in 5
 * const mine = fds.steal(0); // set entry 3, now the caller's to close
 * fds.close(); // closes set entries 4 and 5, if still held
 * ```
 */
export class FdRange implements ReceivedFds {
  /** How many `SCM_RIGHTS` descriptors arrived with the datagram (stolen and closed ones included). */
  readonly length: number;
  /** Whether the entry after them is the sender's pidfd. */
  readonly hasPidfd: boolean;
  readonly #set: Int32Array;
  readonly #start: number;

  /**
   * @param set - the batch's descriptors
   * @param start - index in `set` of the datagram's first descriptor
   * @param count - how many `SCM_RIGHTS` descriptors the datagram carried
   * @param pidfd - whether its sender's pidfd follows them in `set`
   */
  constructor(set: Int32Array, start: number, count: number, pidfd = false) {
    this.#set = set;
    this.#start = start;
    this.length = count;
    this.hasPidfd = pidfd;
  }

  /**
   * The descriptor at `index`, still owned here.
   * @param index - 0 ≤ index < length
   * @returns the descriptor number, or -1 once stolen or closed
   * @throws RangeError (`ERR_OUT_OF_RANGE`) if `index` is not in the range
   */
  get(index: number): number {
    this.#check(index);
    return this.#set[this.#start + index] as number;
  }

  /**
   * Hand the descriptor at `index` to the caller, who must close it.
   * @param index - 0 ≤ index < length
   * @returns the descriptor number
   * @throws RangeError (`ERR_OUT_OF_RANGE`) if `index` is not in the range, or its
   * descriptor was stolen or closed
   */
  steal(index: number): number {
    this.#check(index);
    const at = this.#start + index;
    const fd = this.#set[at] as number;
    if (fd < 0) {
      throw Object.assign(new RangeError(`no descriptor at index ${index}: ${this.length} arrived, and stolen or closed ones are gone`), {
        code: 'ERR_OUT_OF_RANGE',
      });
    }
    this.#set[at] = GONE;
    return fd;
  }

  /** Close every descriptor of the range not stolen, the pidfd included. Idempotent. */
  close(): void {
    // No native call when everything was stolen (the common case of a receiver that takes its fds).
    const set = this.#set;
    const count = this.length + (this.hasPidfd ? 1 : 0);
    for (let at = this.#start, end = this.#start + count; at < end; at++) {
      if ((set[at] as number) >= 0) return closeFdRange(set, this.#start, count);
    }
  }

  /** @returns the pidfd, still owned here, or -1 if none came or it was stolen or closed */
  pidfd(): number {
    return this.hasPidfd ? (this.#set[this.#start + this.length] as number) : GONE;
  }

  /**
   * Hand the pidfd to the caller, who must close it.
   * @returns the descriptor number
   * @throws `ERR_UNIXGRAM_CLOSED` if none came, or it was stolen or closed
   */
  stealPidfd(): number {
    const fd = this.pidfd();
    if (fd < 0) throw pidfdGone(this.hasPidfd);
    this.#set[this.#start + this.length] = GONE;
    return fd;
  }

  /** Close the pidfd if it is still held. Idempotent. */
  closePidfd(): void {
    if (this.pidfd() >= 0) closeFdRange(this.#set, this.#start + this.length, 1);
  }

  #check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw outOfRange('index', `an integer >= 0 and < ${this.length} (the descriptors received)`, index);
    }
  }
}

/**
 * The error for a pidfd that is not held (any more).
 * @param came - whether one came with the datagram
 * @returns `ERR_UNIXGRAM_CLOSED`
 */
export function pidfdGone(came: boolean): Error {
  const err = closedError();
  err.message = came ? 'the pidfd was stolen or closed' : 'no pidfd came with the datagram';
  return err;
}
