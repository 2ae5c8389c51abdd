/**
 * @internal Socket files done safely: bind a path with its mode in place when it appears,
 * remove a stale socket file only when nothing answers on it, and unlink only our own inode.
 * @packageDocumentation
 */
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import { constants as osConstants } from 'node:os';

import { invalidArgType, invalidArgValue, outOfRange, type SystemError } from '../errors.js';
import { SUN_PATH_MAX } from '../native/binding.js';
import { Endpoint } from './endpoint.js';

/** How a probe socket is used: it only connects, and is closed at once. */
const PROBE = { addresses: false, text: false, keepAlive: 'waiting', connected: () => true } as const;

/** Options of {@link bindSocketFile}. */
export interface SocketFileOptions {
  /** Permission bits of the socket file, in place before anyone can connect. */
  mode?: number | undefined;
  /** Remove an existing socket file at the path if nothing answers on it. */
  removeStale?: boolean | undefined;
}

/** The socket file a server created: the path and the inode it bound. */
export interface SocketFile {
  /** The path given to `listen`. */
  readonly path: string;
  /** `st_dev` of the file we created. */
  readonly dev: bigint;
  /** `st_ino` of the file we created. */
  readonly ino: bigint;
}

/** An error in Node's `ErrnoException` shape, e.g. `bind EADDRINUSE /run/app.sock: why`. */
function systemError(code: string, syscall: string, address: string, why: string): SystemError {
  const err = new Error(`${syscall} ${code} ${address}: ${why}`) as SystemError;
  err.code = code;
  const errno = (osConstants.errno as Record<string, number | undefined>)[code];
  if (errno !== undefined) err.errno = -errno;
  err.syscall = syscall;
  err.address = address;
  return err;
}

/**
 * The lstat of `file`, or null if nothing is there. Another failure (`EACCES` on a parent
 * directory, `ENOTDIR`, …) is reported as the operation the user ran, `bind`, naming the path
 * and the lstat that failed.
 */
function lstatOrNull(file: string): fs.BigIntStats | null {
  try {
    return fs.lstatSync(file, { bigint: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return null;
    throw systemError(e.code ?? 'EIO', 'bind', file, `cannot look at the path (lstat: ${e.message})`);
  }
}

/** What kind of file `st` is, for error messages. */
function describeKind(st: fs.BigIntStats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a regular file';
  if (st.isFIFO()) return 'a FIFO';
  return 'not a socket';
}

/**
 * Whether a datagram probe gets `ECONNREFUSED` from the socket file at `file`: no socket is
 * bound to it any more. Any other outcome (connected, `EPROTOTYPE`, `EACCES`, …) says why not.
 */
function probeDead(file: string, kind: number): { dead: true } | { dead: false; why: string } {
  // A probe of the socket's own kind: a live socket of another type refuses it (EPROTOTYPE).
  const probe = Endpoint.create(PROBE, kind);
  try {
    probe.connect(Buffer.from(file, 'utf8'));
    return { dead: false, why: 'a server is listening on it (a probe connected)' };
  } catch (err) {
    const code = (err as SystemError).code;
    if (code === 'ECONNREFUSED') return { dead: true };
    if (code === 'EPROTOTYPE') return { dead: false, why: 'a live socket of another type is bound to it' };
    return { dead: false, why: `a probe could not tell whether it is in use (connect ${code})` };
  } finally {
    probe.close();
  }
}

/**
 * Make room for a socket at `file`, or throw `EADDRINUSE` saying why not. Only a socket
 * file that refuses a probe connection is removed (and only if it is still the same inode
 * after the probe); symlinks, directories, regular files and live sockets are never touched.
 */
function clearPath(file: string, removeStale: boolean, kind: number): void {
  const st = lstatOrNull(file);
  if (st === null) return;
  if (!st.isSocket()) throw systemError('EADDRINUSE', 'bind', file, `the path exists and is ${describeKind(st)}; it is never removed`);
  if (!removeStale)
    throw systemError('EADDRINUSE', 'bind', file, 'a socket file exists (pass removeStale: true to remove it if nothing answers on it)');
  const probe = probeDead(file, kind);
  if (!probe.dead) throw systemError('EADDRINUSE', 'bind', file, `${probe.why}; it is left in place`);
  const again = lstatOrNull(file);
  if (again === null) return;
  if (again.ino !== st.ino || again.dev !== st.dev)
    throw systemError('EADDRINUSE', 'bind', file, 'the file was replaced while it was probed; it is left in place');
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function checkMode(mode: unknown): number | undefined {
  if (mode === undefined) return undefined;
  if (typeof mode !== 'number') throw invalidArgType('options.mode', 'a number (permission bits, e.g. 0o600)', mode);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw outOfRange('options.mode', 'an integer from 0 to 0o7777', mode);
  return mode;
}

/**
 * Bind `sock` to the filesystem path `file`, safely (see the module docs).
 * @param sock - an unbound socket
 * @param file - the socket path
 * @param options - mode and stale-file policy
 * @returns what to unlink on close
 * @throws `EADDRINUSE` (with the reason), `ENAMETOOLONG`, `EACCES`, `ENOENT`, …
 */
export function bindSocketFile(sock: Endpoint, file: string, options: SocketFileOptions): SocketFile {
  const mode = checkMode(options.mode);
  const raw = Buffer.from(file, 'utf8');
  if (raw.length > SUN_PATH_MAX) sock.bind(raw); // the core's ENAMETOOLONG, never a cut name
  clearPath(file, options.removeStale === true, sock.kind);
  // With a mode, the core binds so that the file never has more permissions than `mode`
  // (Linux: the socket inode's mode is set before bind, so the file appears with it). The
  // path itself is bound: the kernel records it as the socket's name, which peers see as the
  // source of replies.
  sock.bind(raw, mode);
  const st = lstatOrNull(file);
  if (st === null) throw systemError('ENOENT', 'bind', file, 'the socket file vanished right after bind');
  return { path: file, dev: st.dev, ino: st.ino };
}

/** Whether `raw` (`sun_path` bytes, or null to stay unnamed) is a path: a socket file. */
function isPath(raw: Buffer | null): raw is Buffer {
  return raw !== null && raw.length > 0 && raw[0] !== 0;
}

/**
 * The socket-file path `raw` names, with `mode` checked against it before any socket exists:
 * valid permission bits, and only for a socket file.
 * @param raw - `sun_path` bytes (empty: autobind; a leading NUL: an abstract name), or null
 * @param mode - the option as given
 * @returns the path, or undefined for an abstract, autobound or unnamed socket
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for bad bits; `ERR_INVALID_ARG_VALUE`
 * for a mode without a file
 */
export function socketFilePath(raw: Buffer | null, mode: unknown): string | undefined {
  if (isPath(raw)) {
    checkMode(mode);
    return raw.toString('utf8');
  }
  if (mode !== undefined) {
    throw invalidArgValue('options.mode', 'applies to socket files only (an abstract or unnamed socket has no permissions)', mode);
  }
  return undefined;
}

/**
 * A bind's `removeStale` (the endpoint's and the bound client's), checked: it applies to
 * socket files only. (The servers take it for any address and ignore it without a file.)
 * @param raw - `sun_path` bytes, or null to stay unnamed
 * @param removeStale - the option as given
 * @throws `ERR_INVALID_ARG_VALUE` for `removeStale: true` without a path
 */
export function checkRemoveStale(raw: Buffer | null, removeStale: unknown): void {
  if (!isPath(raw) && removeStale !== undefined && removeStale !== false) {
    throw invalidArgValue('options.removeStale', 'applies to socket files only', removeStale);
  }
}

/**
 * Unlink the socket file if it is still the inode we created (a newer server may have
 * replaced it, or someone put something else there).
 * @param file - what {@link bindSocketFile} returned
 * @returns whether it was removed
 */
export function unlinkSocketFile(file: SocketFile): boolean {
  let st: fs.BigIntStats | null;
  try {
    st = lstatOrNull(file.path);
  } catch {
    return false;
  }
  if (st === null || st.ino !== file.ino || st.dev !== file.dev) return false;
  try {
    fs.unlinkSync(file.path);
    return true;
  } catch {
    return false;
  }
}
