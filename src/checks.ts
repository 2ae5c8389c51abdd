/**
 * @internal The checks every call runs on its arguments before any syscall: options objects
 * (and their keys), timeouts, abort signals. Each throws (or returns) a coded error in
 * Node's shape.
 * @packageDocumentation
 */
import { AbortError, invalidArgType, invalidArgValue, outOfRange } from './errors.js';

/**
 * What is wrong with an `options` argument, or `undefined`: not an object
 * (`ERR_INVALID_ARG_TYPE`), or a key the call does not know (`ERR_INVALID_ARG_VALUE`, naming
 * it and the known ones: a misspelt `timout` must not be silently ignored). For methods that
 * reject rather than throw.
 * @param options - what the caller passed (`undefined`: none)
 * @param known - the option names the call takes
 * @returns the error, or `undefined` if the options are fine
 */
export function badOptions(options: unknown, known: readonly string[]): TypeError | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) return invalidArgType('options', 'an object', options);
  for (const key in options) {
    if (!known.includes(key)) {
      const list = known.length > 0 ? `the known options are ${known.join(', ')}` : 'it takes no options';
      return invalidArgValue(`options.${key}`, `is not an option of this call (${list})`, (options as Record<string, unknown>)[key]);
    }
  }
  return undefined;
}

/**
 * Throw {@link badOptions}'s error, if any.
 * @param options - what the caller passed
 * @param known - the option names the call takes
 */
export function checkOptions(options: unknown, known: readonly string[]): void {
  const err = badOptions(options, known);
  if (err) throw err;
}

/**
 * A `timeout` option, checked.
 * @param timeout - seconds, or `undefined` / `null` for no limit
 * @returns the seconds, or null for no limit
 * @throws TypeError for a non-number, RangeError for NaN or a negative number
 */
export function checkTimeout(timeout: unknown): number | null {
  if (timeout === undefined || timeout === null) return null;
  if (typeof timeout !== 'number') throw invalidArgType('options.timeout', 'a number of seconds', timeout);
  if (Number.isNaN(timeout) || timeout < 0) throw outOfRange('options.timeout', '>= 0 (seconds)', timeout);
  return timeout;
}

/**
 * A `signal` option, checked: an `AbortSignal` or nothing.
 * @param signal - what the caller passed
 * @returns the signal, or `undefined`
 * @throws `ERR_INVALID_ARG_TYPE` for anything but an `AbortSignal`
 */
export function checkSignalType(signal: unknown): AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', signal);
  return signal;
}

/**
 * A `signal` option, checked, for a call that must not start once it is aborted.
 * @param signal - what the caller passed
 * @returns the signal, or `undefined`
 * @throws `ERR_INVALID_ARG_TYPE` for anything but an `AbortSignal`; its {@link AbortError} if it is already aborted
 */
export function checkSignal(signal: unknown): AbortSignal | undefined {
  const checked = checkSignalType(signal);
  if (checked?.aborted) throw new AbortError(checked.reason);
  return checked;
}

/** The options of a call given none (shared: no object per call). */
export const NO_OPTIONS = Object.freeze({});

/**
 * A descriptor argument, checked (before it is touched).
 * @param fd - what the caller passed
 * @throws `ERR_INVALID_ARG_TYPE` for a non-number, `ERR_OUT_OF_RANGE` for anything but an integer >= 0
 */
export function checkFd(fd: unknown): asserts fd is number {
  if (typeof fd !== 'number') throw invalidArgType('fd', 'of type number', fd);
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw outOfRange('fd', 'an integer >= 0', fd);
}

/**
 * @internal Refuse ancillary data on a socket that cannot carry it (UDP): `ERR_INVALID_ARG_VALUE`
 * before anything is sent.
 */
export function checkNoAncillary(ancillary: unknown, name: string): void {
  if (ancillary !== undefined && ancillary !== null) {
    throw invalidArgValue(name, 'cannot be sent over UDP: it carries no descriptors or credentials', ancillary);
  }
}
