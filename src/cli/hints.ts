/**
 * @internal What an error from connecting or binding usually means, added to its message:
 * nothing there, nothing bound, or which permission is missing (the file's mode and owner
 * against who we are).
 * @packageDocumentation
 */
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import path from 'node:path';

import type { UnixAddress } from '../index.js';

/**
 * A connect error (from `send`) with its usual meaning appended in brackets.
 * @param err - what `UnixDatagramClient.connect` threw
 * @param address - where it tried to connect
 * @returns the same error, its message extended
 */
export function connectHint(err: unknown, address: UnixAddress): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const hint =
    code === 'ENOENT'
      ? 'nothing at that path: is the listener running?'
      : code === 'ECONNREFUSED'
        ? 'no socket is bound there'
        : code === 'EACCES' && 'path' in address
          ? accessHint(address.path, 'sending needs write permission on it')
          : undefined;
  return withHint(err, hint);
}

/**
 * A bind error (from `listen`) with its usual meaning appended in brackets.
 * @param err - what `UnixDatagramServer.listen` threw
 * @param address - where it tried to bind
 * @returns the same error, its message extended
 */
export function bindHint(err: unknown, address: UnixAddress): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'EACCES' || !('path' in address)) return err;
  const dir = path.dirname(path.resolve(address.path));
  const blocked = unsearchable(dir, 'creating a socket file');
  if (blocked) return withHint(err, blocked);
  const st = statOrUndefined(dir);
  return withHint(
    err,
    st && `the directory ${dir} is ${describe(st)}; ${whoAmI()}: creating a socket file needs write permission on the directory`,
  );
}

function withHint(err: unknown, hint: string | undefined): unknown {
  if (hint && err instanceof Error) err.message = `${err.message} (${hint})`;
  return err;
}

/** Why `file` cannot be written: a directory on the way we may not search, or the file's own mode. */
function accessHint(file: string, need: string): string | undefined {
  const blocked = unsearchable(path.dirname(path.resolve(file)), 'reaching the socket');
  if (blocked) return blocked;
  const st = statOrUndefined(file);
  return st && `the socket file is ${describe(st)}; ${whoAmI()}: ${need}`;
}

/** The first directory from `/` down to `dir` that we may not search (x), described for `purpose`; else undefined. */
function unsearchable(dir: string, purpose: string): string | undefined {
  const parts = dir.split(path.sep).filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const d = path.sep + parts.slice(0, i).join(path.sep);
    try {
      accessSync(d, constants.X_OK);
    } catch {
      const st = statOrUndefined(d);
      return `the directory ${d} is ${st ? describe(st) : 'not searchable'}; ${whoAmI()}: ${purpose} needs search (x) permission on every directory on the way`;
    }
  }
  return undefined;
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/** `mode 0600, owned by uid 1000 gid 1000`. */
function describe(st: Stats): string {
  return `mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, owned by uid ${st.uid} gid ${st.gid}`;
}

/** `you are uid 65534 gid 65534` (the effective ids, which the kernel checks). */
function whoAmI(): string {
  return `you are uid ${process.geteuid?.() ?? '?'} gid ${process.getegid?.() ?? '?'}`;
}
