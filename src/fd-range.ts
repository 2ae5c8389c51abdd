/**
 * @internal One datagram's descriptors: a range of the batch's native `FdSet`.
 * @packageDocumentation
 */
import { outOfRange } from './errors.js';
import type { FdSet } from './native.js';
import type { ReceivedFds } from './receiver.js';

/**
 * The descriptors one datagram carried: `count` consecutive entries, from `start`, of the
 * `FdSet` that holds every descriptor of its batch. The set owns them until they are stolen
 * or closed here; what is left is closed when the set is garbage-collected. `length` costs
 * no native call, and closing a range whose descriptors were all stolen costs none either.
 *
 * @example
 * ```ts
 * const fds = new FdRange(set, 3, 2); // entries 3 and 4 of the batch's set
 * const mine = fds.steal(0); // set entry 3, now the caller's to close
 * fds.close(); // closes set entry 4, if still held
 * ```
 */
export class FdRange implements ReceivedFds {
  /** How many descriptors arrived with the datagram (stolen and closed ones included). */
  readonly length: number;
  readonly #set: FdSet;
  readonly #start: number;
  /** Descriptors handed over by `steal`: once all are, `close` has nothing to do. */
  #stolen = 0;
  #closed = false;

  /**
   * @param set - the batch's descriptors
   * @param start - index in `set` of the datagram's first descriptor
   * @param count - how many descriptors the datagram carried
   */
  constructor(set: FdSet, start: number, count: number) {
    this.#set = set;
    this.#start = start;
    this.length = count;
  }

  /**
   * The descriptor at `index`, still owned here.
   * @param index - 0 ≤ index < length
   * @returns the descriptor number, or -1 once stolen or closed
   * @throws RangeError (`ERR_OUT_OF_RANGE`) if `index` is not in the range
   */
  get(index: number): number {
    this.#check(index);
    return this.#set.get(this.#start + index);
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
    const fd = this.#set.steal(this.#start + index);
    if (fd < 0) {
      throw Object.assign(new RangeError(`no descriptor at index ${index}: ${this.length} arrived, and stolen or closed ones are gone`), {
        code: 'ERR_OUT_OF_RANGE',
      });
    }
    this.#stolen++;
    return fd;
  }

  /** Close every descriptor of the range not stolen. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#stolen < this.length) this.#set.closeRange(this.#start, this.length);
  }

  #check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw outOfRange('index', `an integer >= 0 and < ${this.length} (the descriptors received)`, index);
    }
  }
}
