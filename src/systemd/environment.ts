/**
 * @internal The variables systemd's service manager passes to a service, read as libsystemd
 * reads them (`sd-daemon.c`): decimal numbers, a pid that must be this process's, and
 * unsetting them on request so that programs this process starts do not take them as
 * theirs.
 * @packageDocumentation
 */
import { codedError, ErrorCodes, invalidArgType, outOfRange, type SystemError } from '../errors.js';

/** The variables `sd_listen_fds` reads and unsets (`LISTEN_PIDFDID`: systemd 256 and later). */
export const LISTEN_VARIABLES = ['LISTEN_PID', 'LISTEN_PIDFDID', 'LISTEN_FDS', 'LISTEN_FDNAMES'] as const;
/** The variables `sd_watchdog_enabled` reads and unsets. */
export const WATCHDOG_VARIABLES = ['WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

/** The largest pid Linux has (`PID_MAX_LIMIT` is 2^22; `pid_t` holds up to 2^31 − 1). */
const PID_MAX = 0x7fffffff;

/**
 * The error for a variable whose value cannot be used.
 * @param variable - its name
 * @param value - what it holds
 * @param why - what is wrong, e.g. `'is not a number'`
 * @returns an error with `code` `'ERR_UNIXGRAM_BAD_ENVIRONMENT'`
 */
export function badEnvironment(variable: string, value: string, why: string): SystemError {
  return codedError(ErrorCodes.BAD_ENVIRONMENT, `${variable}=${JSON.stringify(value)} ${why}`);
}

/**
 * A decimal number systemd wrote (`LISTEN_FDS=2`, `WATCHDOG_USEC=30000000`), checked.
 * @param variable - the variable's name, for the error
 * @param value - its value
 * @param least - the smallest value taken
 * @returns the number (a safe integer)
 * @throws `ERR_UNIXGRAM_BAD_ENVIRONMENT` for anything but decimal digits, or a number below
 *   `least` or past `Number.MAX_SAFE_INTEGER`
 */
export function decimal(variable: string, value: string, least: number): number {
  if (!/^[0-9]+$/.test(value)) throw badEnvironment(variable, value, 'is not a decimal number');
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw badEnvironment(variable, value, `is past ${Number.MAX_SAFE_INTEGER}`);
  if (n < least) throw badEnvironment(variable, value, `is less than ${least}`);
  return n;
}

/**
 * A pid systemd wrote (`LISTEN_PID`, `WATCHDOG_PID`), checked as libsystemd's `parse_pid`.
 * @param variable - the variable's name, for the error
 * @param value - its value
 * @returns the pid
 * @throws `ERR_UNIXGRAM_BAD_ENVIRONMENT` for anything but a decimal number from 1 to 2^31 − 1
 */
export function pidOf(variable: string, value: string): number {
  const pid = decimal(variable, value, 1);
  if (pid > PID_MAX) throw badEnvironment(variable, value, `is not a pid (at most ${PID_MAX})`);
  return pid;
}

/**
 * Remove `names` from this process's environment (`unsetenv`, which `process.env` does on
 * `delete`): programs started from now on do not see them.
 * @param names - the variables
 */
export function unsetEnvironment(names: readonly string[]): void {
  for (const name of names) Reflect.deleteProperty(process.env, name);
}

/**
 * An `unsetEnvironment` option, checked.
 * @param value - what the caller passed
 * @param fallback - the default
 * @returns the flag
 * @throws `ERR_INVALID_ARG_TYPE` for anything but a boolean
 */
export function unsetOption(value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgType('options.unsetEnvironment', 'of type boolean', value);
  return value;
}

/**
 * A `pid` option, checked: the process a notification is sent on behalf of.
 * @param pid - what the caller passed
 * @returns the pid, or `undefined` for none (this process)
 * @throws `ERR_INVALID_ARG_TYPE` for a non-number, `ERR_OUT_OF_RANGE` for anything but an
 *   integer from 1 to 2^31 − 1
 */
export function pidOption(pid: unknown): number | undefined {
  if (pid === undefined) return undefined;
  if (typeof pid !== 'number') throw invalidArgType('options.pid', 'of type number', pid);
  if (!Number.isInteger(pid) || pid < 1 || pid > PID_MAX) throw outOfRange('options.pid', `an integer from 1 to ${PID_MAX}`, pid);
  return pid;
}
