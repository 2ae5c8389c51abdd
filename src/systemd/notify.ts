/**
 * `sd_notify(3)`: telling the service manager about this service's state through
 * `$NOTIFY_SOCKET`, with descriptors for the fd store, and `BARRIER=1`, byte for byte as
 * libsystemd's `sd_pid_notify_with_fds` and `sd_pid_notify_barrier` send it.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import { closeSync } from 'node:fs';

import type { UnixAddress } from '../address.js';
import { MAX_FDS_PER_DATAGRAM, SCMRights, SocketAncillary, type Credentials } from '../ancillary/ancillary.js';
import { checkOptions, checkSignal, checkTimeout } from '../checks.js';
import { UnixDatagramEndpoint } from '../endpoint/endpoint.js';
import { invalidArgType, invalidArgValue, outOfRange, TimeoutError } from '../errors.js';
import { pipe } from '../native/binding.js';
import { DatagramProtocol } from '../protocol/protocol.js';
import { BytesSerializer } from '../protocol/serializers/bytes.js';
import { badEnvironment, pidOption, unsetEnvironment, unsetOption } from './environment.js';
import { untilClosed } from './pipe-closed.js';

/**
 * What to tell the service manager: the text itself (`'READY=1\nSTATUS=Serving'`), or its
 * assignments as an object, sent as `NAME=value` lines in the object's order
 * (`{ READY: 1, STATUS: 'Serving' }`). See `sd_notify(3)` for the names systemd knows:
 * `READY`, `RELOADING`, `STOPPING`, `STATUS`, `ERRNO`, `MAINPID`, `WATCHDOG`,
 * `WATCHDOG_USEC`, `EXTEND_TIMEOUT_USEC`, `FDSTORE`, `FDSTOREREMOVE`, `FDNAME`, `FDPOLL`,
 * `NOTIFYACCESS`, `BARRIER`, …
 */
export type NotifyState = string | Readonly<Record<string, string | number>>;

/** Options of {@link notify}. */
export interface NotifyOptions {
  /**
   * Descriptors to send with it (`SCM_RIGHTS`), at most 253: with `FDSTORE=1` (and
   * `FDNAME=`) the manager keeps them for the next start of the service, which gets them
   * back in `listenFds()`. They stay yours: close them once the promise settles. A manager
   * closes descriptors that come without `FDSTORE=1` (or `BARRIER=1`).
   */
  readonly fds?: Iterable<number>;
  /**
   * Send on behalf of this process (`sd_pid_notify`): its pid goes in `SCM_CREDENTIALS`, with
   * this process's uid and gid, so that the manager takes the message as that process's
   * (e.g. the main pid, under `NotifyAccess=main`). Faking another pid needs `CAP_SYS_ADMIN`;
   * without it the message is sent again with this process's own credentials, as libsystemd
   * does. Default: this process, with no credentials attached (the kernel adds them).
   */
  readonly pid?: number;
  /**
   * Remove `NOTIFY_SOCKET` from the environment (`sd_notify(1, …)`), even if sending fails:
   * later notifications then go nowhere. Default `false`.
   */
  readonly unsetEnvironment?: boolean;
  /**
   * Cancels the send while it waits for room in the manager's queue: it rejects with an
   * `AbortError` and nothing is sent.
   */
  readonly signal?: AbortSignal;
  /**
   * Seconds the send may wait for room in the manager's queue; then it rejects with a
   * `TimeoutError` and nothing is sent. Default: no limit (libsystemd blocks too).
   */
  readonly timeout?: number | null;
}

/** Options of {@link notifyBarrier}. */
export interface NotifyBarrierOptions {
  /**
   * Seconds to wait, in all, for the manager to take the barrier; then it rejects with a
   * `TimeoutError` (`'ETIMEDOUT'`). Default 5 (what `systemd-notify` waits); `null`: no limit.
   */
  readonly timeout?: number | null;
  /** Stops waiting: the promise rejects with an `AbortError`. */
  readonly signal?: AbortSignal;
  /** As {@link NotifyOptions.pid}. */
  readonly pid?: number;
  /** As {@link NotifyOptions.unsetEnvironment}. */
  readonly unsetEnvironment?: boolean;
}

const BYTES = new DatagramProtocol(new BytesSerializer());
const BARRIER = Buffer.from('BARRIER=1');
/** systemd-notify's barrier timeout, in seconds. */
const BARRIER_TIMEOUT = 5;

/**
 * Send `state` to the service manager at `$NOTIFY_SOCKET` (`sd_notify(3)`), from a new
 * unbound socket: a path, or `@name` for an abstract name, as systemd writes it. Resolves
 * `false` when `NOTIFY_SOCKET` is not set (not run by a manager that listens; `sd_notify`
 * returns 0), `true` once the datagram is queued at the manager. Like `sd_notify` it does not
 * wait for the manager to act on it: {@link notifyBarrier} does.
 *
 * The datagram holds `state` as UTF-8, nothing added (no trailing newline or NUL), the
 * descriptors (`SCM_RIGHTS`) and, only when sending for another pid or when the real and
 * effective uid or gid differ, `SCM_CREDENTIALS` with the pid and the real uid and gid, as
 * libsystemd sends them. Every argument is checked before `NOTIFY_SOCKET` is read.
 * @param state - the assignments, as text or as an object
 * @param options - descriptors, the pid to send for, `unsetEnvironment`, `signal`, `timeout`
 * @returns whether it was sent
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` (an empty state, a NUL, a newline
 *   in an object's value, a name with `=`) / `ERR_OUT_OF_RANGE`;
 *   `ERR_UNIXGRAM_BAD_ENVIRONMENT` if `NOTIFY_SOCKET` is neither an absolute path nor
 *   `@name`; the send's errno (`ENOENT`, `ECONNREFUSED`: no manager there; `EACCES`,
 *   `EMSGSIZE`), `AbortError`, `TimeoutError`
 * @example
 * ```ts
 * await notify({ READY: 1, STATUS: 'Serving on /run/app.sock' });
 * await notify('RELOADING=1\nMONOTONIC_USEC=' + process.hrtime.bigint() / 1000n);
 * ```
 */
export async function notify(state: NotifyState, options: NotifyOptions = {}): Promise<boolean> {
  const payload = encodeState(state);
  checkOptions(options, ['fds', 'pid', 'unsetEnvironment', 'signal', 'timeout']);
  const fds = options.fds === undefined ? [] : fdsOption(options.fds);
  const pid = pidOption(options.pid);
  const unset = unsetOption(options.unsetEnvironment, false);
  const limits = { signal: checkSignal(options.signal), timeout: checkTimeout(options.timeout) };
  const address = takeNotifySocket(unset);
  if (address === undefined) return false;
  await sendNotification(address, payload, fds, pid, limits);
  return true;
}

/**
 * Wait until the service manager has processed every notification sent before
 * (`sd_notify_barrier(3)`): send `BARRIER=1` with the write end of a new pipe, close ours,
 * and wait for the manager to close its copy (end of file on the read end), without
 * blocking the event loop. For instance before exiting right after `notify('READY=1')`, so
 * the manager does not find the process gone before the message is read.
 * @param options - `timeout` (seconds, default 5), `signal`, `pid`, `unsetEnvironment`
 * @returns `false` when `NOTIFY_SOCKET` is not set, else `true` once the manager has taken
 *   the barrier
 * @throws `TimeoutError` (`'ETIMEDOUT'`) when the manager holds the pipe for `timeout`
 *   seconds; `AbortError`; as {@link notify} for the send and the arguments
 */
export async function notifyBarrier(options: NotifyBarrierOptions = {}): Promise<boolean> {
  checkOptions(options, ['timeout', 'signal', 'pid', 'unsetEnvironment']);
  const timeout = options.timeout === undefined ? BARRIER_TIMEOUT : checkTimeout(options.timeout);
  const signal = checkSignal(options.signal);
  const pid = pidOption(options.pid);
  const address = takeNotifySocket(unsetOption(options.unsetEnvironment, false));
  if (address === undefined) return false;
  const started = Date.now();
  const [readFd, writeFd] = pipe();
  try {
    await sendNotification(address, BARRIER, [writeFd], pid, { signal, timeout });
  } catch (err) {
    closeSync(readFd);
    throw err;
  } finally {
    closeSync(writeFd);
  }
  const left = timeout === null ? null : Math.max(0, timeout - (Date.now() - started) / 1000);
  const timedOut = (): TimeoutError =>
    new TimeoutError(
      timeout ?? 0,
      `BARRIER=1: the service manager at ${formatNotifySocket(address)} did not close the barrier's pipe within ${timeout} s: it has not processed the notifications sent before`,
    );
  await untilClosed(readFd, left, signal, timedOut);
  return true;
}

/**
 * @internal `$NOTIFY_SOCKET` as an address, or `undefined` when it is not set; unset first
 * if asked (libsystemd unsets it whatever happens next).
 * @param unset - remove it from the environment
 * @returns the address
 * @throws `ERR_UNIXGRAM_BAD_ENVIRONMENT` for anything but an absolute path or `@name`
 */
export function takeNotifySocket(unset: boolean): UnixAddress | undefined {
  const value = process.env.NOTIFY_SOCKET;
  if (unset) unsetEnvironment(['NOTIFY_SOCKET']);
  if (value === undefined) return undefined;
  if (value.length > 1 && value.startsWith('@')) return { abstract: value.slice(1) };
  if (value.length > 1 && value.startsWith('/')) return { path: value };
  throw badEnvironment(
    'NOTIFY_SOCKET',
    value,
    "is neither an absolute path nor '@' and an abstract name (AF_VSOCK addresses, 'vsock:CID:PORT', are not supported)",
  );
}

/** The address as systemd writes it in `NOTIFY_SOCKET`. */
function formatNotifySocket(address: UnixAddress): string {
  return 'abstract' in address ? `@${address.abstract}` : 'path' in address ? address.path : '(unnamed)';
}

/**
 * @internal Send one notification, as libsystemd's `pid_notify_with_fds_internal`: from a
 * new unbound socket; with `SCM_CREDENTIALS` only for another pid or differing real and
 * effective ids, and, if the kernel refuses those, once more without them.
 * @param address - the manager's socket
 * @param payload - the datagram
 * @param fds - descriptors to pass (they stay the caller's)
 * @param pid - the process to send for, or `undefined` for this one
 * @param limits - how long the send may wait for room; `unref`: the wait does not keep the
 *   process alive
 */
export async function sendNotification(
  address: UnixAddress,
  payload: Buffer,
  fds: readonly number[],
  pid: number | undefined,
  limits: { readonly signal: AbortSignal | undefined; readonly timeout: number | null; readonly unref?: boolean },
): Promise<void> {
  const endpoint = await UnixDatagramEndpoint.bind(null, BYTES);
  if (limits.unref) endpoint.unref();
  try {
    const send = (credentials: Credentials | undefined): Promise<void> => {
      const ancillary = new SocketAncillary();
      if (fds.length > 0) ancillary.addFds(fds);
      if (credentials) ancillary.addCredentials(credentials);
      return endpoint.sendPacketTo(payload, address, { ancillary, signal: limits.signal, timeout: limits.timeout });
    };
    const credentials = credentialsFor(pid);
    if (credentials) {
      try {
        return await send(credentials);
      } catch (err) {
        if (typeof (err as { errno?: unknown } | null)?.errno !== 'number') throw err;
      }
    }
    await send(undefined);
  } finally {
    await endpoint.close();
  }
}

/** The credentials libsystemd attaches for `pid`, or `undefined` when it attaches none. */
function credentialsFor(pid: number | undefined): Credentials | undefined {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const attach = (pid !== undefined && pid !== process.pid) || uid !== (process.geteuid?.() ?? uid) || gid !== (process.getegid?.() ?? gid);
  return attach ? { pid: pid ?? process.pid, uid, gid } : undefined;
}

/** An `fds` option, checked: descriptor numbers, at most 253. */
function fdsOption(fds: unknown): readonly number[] {
  const { fds: list } = new SCMRights(fds as Iterable<number>);
  if (list.length > MAX_FDS_PER_DATAGRAM) throw outOfRange('options.fds.length', `at most ${MAX_FDS_PER_DATAGRAM}`, list.length);
  return list;
}

/**
 * @internal The datagram for `state`, checked.
 * @param state - the text, or its assignments
 * @returns its UTF-8 bytes
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE`
 */
export function encodeState(state: unknown): Buffer {
  let text: string;
  if (typeof state === 'string') text = state;
  else if (typeof state === 'object' && state !== null && !Array.isArray(state)) {
    const lines: string[] = [];
    for (const [name, value] of Object.entries(state)) {
      if (name === '' || /[=\n\0]/.test(name)) {
        throw invalidArgValue(`state.${name}`, "is not a variable name (one without '=', a newline or NUL)", value);
      }
      if (typeof value === 'number') {
        if (!Number.isSafeInteger(value)) throw invalidArgValue(`state.${name}`, 'must be an integer (or a string)', value);
        lines.push(`${name}=${value}`);
      } else if (typeof value === 'string') {
        if (value.includes('\n')) {
          throw invalidArgValue(`state.${name}`, 'must not contain a newline (systemd reads each line as an assignment of its own)', value);
        }
        lines.push(`${name}=${value}`);
      } else throw invalidArgType(`state.${name}`, 'a string or a number', value);
    }
    text = lines.join('\n');
  } else throw invalidArgType('state', "a string such as 'READY=1' or an object such as { READY: 1 }", state);
  if (text === '') throw invalidArgValue('state', 'must not be empty: it says nothing', state);
  if (text.includes('\0')) throw invalidArgValue('state', 'must not contain NUL (systemd drops such a message)', state);
  return Buffer.from(text, 'utf8');
}
