/**
 * systemd's own programs as test peers, without systemd as PID 1 (Debian's `systemd` and
 * `libsystemd0` packages; `.ci/run` installs them, and `strace`):
 *
 * - `systemd-socket-activate` (socket activation): it binds the sockets it is given with
 *   `-l`, waits for the first datagram or connection on any, then execs the program with
 *   `LISTEN_PID` (its own pid, so the program's), `LISTEN_FDS` and `LISTEN_FDNAMES` (from
 *   `--fdname=a:b`) set and the sockets from fd 3 on. It prints "Listening on PATH as N." on
 *   stderr once bound: {@link activate} waits for that, not for time. It never unlinks the
 *   socket files.
 * - The notification socket of a service manager is `peers/notify_receiver.py` (python's
 *   `socket`, `SO_PASSCRED` on): what systemd's manager would receive, shown byte for byte.
 * - `systemd-notify` and libsystemd (`peers/sd_notify.py`, ctypes) are the senders unixgram's
 *   `notify()` is compared with; {@link traceSends} runs one under `strace` to see each
 *   `sendmsg` exactly as it was made: the address, the bytes, and which control messages
 *   (`SCM_RIGHTS`, `SCM_CREDENTIALS` and its pid) the sender attached, which a receiver cannot
 *   tell apart from the credentials the kernel adds by itself.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';

import { FIXTURES_DIR, LineProcess, REPO_ROOT, startPeer, type PythonPeer } from '../helpers.js';

/** Throws, saying what to install, when `program` is not on the PATH. */
export function requireProgram(program: string, debianPackage: string): void {
  if (spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status !== 0) {
    throw new Error(`${program} is not installed: apt-get install ${debianPackage} (.ci/run does)`);
  }
}

/** The environment of a child, without any service manager variables of our own. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'MANAGERPID']) {
    delete env[name];
  }
  return { ...env, ...extra };
}

/**
 * `systemd-socket-activate <options> -- node --import tsx fixtures/<fixture> <args>`, once
 * it has printed "Listening on" for each `-l`. Killed at teardown.
 */
export async function activate(t: ExecutionContext, options: string[], fixture: string, args: string[] = []): Promise<LineProcess> {
  requireProgram('systemd-socket-activate', 'systemd');
  const proc = new LineProcess('systemd-socket-activate', 'systemd-socket-activate', [
    ...options,
    '--',
    process.execPath,
    '--import',
    'tsx',
    path.join(FIXTURES_DIR, fixture),
    ...args,
  ]);
  t.teardown(() => proc.kill());
  const sockets = options.filter((o) => o === '-l' || o.startsWith('--listen')).length;
  const stderr = proc.child.stderr!;
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if ((proc.stderr.match(/^Listening on .* as \d+\.$/gm) ?? []).length >= sockets) done(resolve);
      else if (proc.exited) done(() => reject(new Error(`systemd-socket-activate exited: ${proc.stderr}`)));
    };
    const timer = setTimeout(() => done(() => reject(new Error(`systemd-socket-activate did not listen: ${proc.stderr}`))), 20_000);
    const done = (then: () => void): void => {
      clearTimeout(timer);
      stderr.off('data', onData);
      proc.child.off('exit', check);
      then();
    };
    const onData = (): void => void setImmediate(check); // after LineProcess's own listener
    stderr.on('data', onData);
    proc.child.on('exit', check);
    check();
  });
  return proc;
}

/** One datagram as `peers/notify_receiver.py` prints it. */
export interface Notification {
  readonly text: string;
  readonly hex: string;
  readonly fds: ReadonlyArray<{ readonly link: string; readonly content: string | null }>;
  readonly creds: { readonly pid: number; readonly uid: number; readonly gid: number } | null;
}

/** A service manager's notification socket at `address` (a path or `@name`). Killed at teardown. */
export function notifyReceiver(t: ExecutionContext, address: string, hold = false): Promise<PythonPeer> {
  return startPeer(t, 'notify_receiver.py', hold ? [address, 'hold'] : [address]);
}

/** One `sendmsg` call as strace shows it. */
export interface TracedSend {
  /** The thread (with `-f`) that made it: a process's pid for its main thread. */
  readonly tid: number;
  /** `sun_path` of `msg_name`, as bytes (a leading NUL for an abstract name). */
  readonly name: Buffer;
  /** `msg_namelen`. */
  readonly namelen: number;
  /** The bytes of the iovecs. */
  readonly payload: Buffer;
  /** The control messages: `SCM_RIGHTS` with how many fds, `SCM_CREDENTIALS` with its data. */
  readonly control: ReadonlyArray<
    | { readonly type: 'SCM_RIGHTS'; readonly fds: number }
    | { readonly type: 'SCM_CREDENTIALS'; readonly pid: number; readonly uid: number; readonly gid: number }
  >;
  /** The flags argument, e.g. `MSG_NOSIGNAL`. */
  readonly flags: string;
}

/**
 * Run `command` under `strace -f -e trace=sendmsg` and return its `sendmsg` calls to an
 * `AF_UNIX` address, the pid of strace (the command's parent) and what the command printed.
 */
export async function traceSends(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ sends: TracedSend[]; parent: number; stdout: string }> {
  requireProgram('strace', 'strace');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unixgram-strace-'));
  try {
    const out = path.join(dir, 'trace');
    const script = 'echo $$ > "$0.pid"; exec strace -f -qq -e trace=sendmsg -e signal=none -xx -s 65536 -o "$0" "$@"';
    const { stdout } = await promisify(execFile)('sh', ['-c', script, out, command, ...args], {
      cwd: REPO_ROOT,
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    const parent = Number(fs.readFileSync(`${out}.pid`, 'utf8'));
    const sends = fs
      .readFileSync(out, 'utf8')
      .split('\n')
      .filter((line) => /^\d+ +sendmsg\(\d+, \{msg_name=\{sa_family=AF_UNIX/.test(line))
      .map(parseSend);
    return { sends, parent, stdout };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `\x41\x42` (strace -xx) as bytes. */
function unescape(text: string): Buffer {
  return Buffer.from(text.replace(/\\x/g, ''), 'hex');
}

function parseSend(line: string): TracedSend {
  const field = (re: RegExp): string => {
    const match = re.exec(line);
    if (!match) throw new Error(`strace line without ${re}: ${line}`);
    return match[1] ?? '';
  };
  const control: TracedSend['control'][number][] = [];
  for (const [, type, data] of line.matchAll(/cmsg_type=(SCM_RIGHTS|SCM_CREDENTIALS), cmsg_data=(\[[^\]]*\]|\{[^}]*\})/g)) {
    if (type === 'SCM_RIGHTS') control.push({ type, fds: (data ?? '').slice(1, -1).split(',').filter(Boolean).length });
    else {
      const [pid, uid, gid] = ['pid', 'uid', 'gid'].map((k) => Number(new RegExp(`${k}=(\\d+)`).exec(data ?? '')?.[1]));
      control.push({ type: 'SCM_CREDENTIALS', pid: pid!, uid: uid!, gid: gid! });
    }
  }
  return {
    tid: Number(field(/^(\d+)/)),
    name: Buffer.concat([
      line.includes('sun_path=@"') ? Buffer.of(0) : Buffer.alloc(0),
      unescape(field(/sun_path=@?"((?:\\x[0-9a-f]{2})*)"/)),
    ]),
    namelen: Number(field(/msg_namelen=(\d+)/)),
    payload: Buffer.concat([...line.matchAll(/iov_base="((?:\\x[0-9a-f]{2})*)"/g)].map((m) => unescape(m[1] ?? ''))),
    control,
    flags: field(/\}, ([A-Z_|0-9]+)\) = /),
  };
}
