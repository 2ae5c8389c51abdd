// Shared test helpers: temp dirs, real peer processes (python3 scripts in peers/, node fixtures in fixtures/),
// fd accounting through /proc/self, and cleanup registered with t.teardown.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';

export const TEST_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.dirname(TEST_DIR);
export const PEERS_DIR = path.join(TEST_DIR, 'peers');
export const FIXTURES_DIR = path.join(TEST_DIR, 'fixtures');

/** How long a peer may take to print a line before the test fails (a failure guard, not synchronisation). */
const LINE_GUARD_MS = 20_000;

/** A fresh directory under os.tmpdir(), removed (with every socket file in it) when the test ends. */
export function tempDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unixgram-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let nameCounter = 0;
/** A unique abstract socket name (without the leading NUL), non-ASCII on purpose to exercise UTF-8. */
export function abstractName(tag = 'x'): string {
  nameCounter += 1;
  return `unixgram-test-${tag}-${process.pid}-${nameCounter}-${Math.random().toString(16).slice(2, 8)}-é`;
}

/** Where tsx, the test loader, caches compiled modules: it opens them whenever it compiles one. */
const TEST_LOADER_CACHE = path.join(os.tmpdir(), 'tsx-');

/**
 * The descriptors open in this process: number → what it refers to (`socket:[inode]`, a path,
 * `anon_inode:[pidfd]`…), so a number closed and reused for something else reads as new.
 */
export function openFds(): Map<number, string> {
  const fds = new Map<number, string>();
  for (const name of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${name}`);
      if (!target.startsWith(TEST_LOADER_CACHE)) fds.set(Number(name), target);
    } catch {
      // the directory's own descriptor, closed once listed
    }
  }
  return fds;
}

/**
 * The descriptors open now that were not open, as the same thing, in `before`: what an
 * operation left open. A descriptor closed meanwhile (e.g. by a finalizer of an earlier test)
 * does not count, and one reused for something new does.
 */
export function newFds(before: Map<number, string>): number[] {
  return [...openFds()].filter(([fd, target]) => before.get(fd) !== target).map(([fd]) => fd);
}

/** The open flags of one of our fds, from /proc/self/fdinfo (octal field; includes O_CLOEXEC). */
export function fdFlags(fd: number): number {
  const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  const match = /^flags:\s+([0-7]+)$/m.exec(info);
  if (!match) throw new Error(`no flags line in fdinfo of ${fd}: ${info}`);
  return parseInt(match[1]!, 8);
}
export const O_CLOEXEC = 0o2000000;

/** Whether an fd number is currently open in this process. */
export function fdIsOpen(fd: number): boolean {
  try {
    fs.fstatSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EBADF') return false;
    throw err;
  }
}

/** Bytes i % 251, the same pattern the python peers use. */
export function pattern(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = i % 251;
  return out;
}

/** Creates named pipes in `dir`, opens each O_RDWR (never blocks on Linux) and writes its content. */
export function makeFifos(t: ExecutionContext, dir: string, contents: string[]): number[] {
  const paths = contents.map((_, i) => path.join(dir, `fifo-${i}`));
  if (paths.length > 0) execFileSync('mkfifo', paths);
  return contents.map((content, i) => {
    const fd = fs.openSync(paths[i]!, fs.constants.O_RDWR);
    t.teardown(() => closeQuietly(fd));
    fs.writeSync(fd, content);
    return fd;
  });
}

export function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed by the test
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A child process whose stdout is read line by line. `nextLine()` waits for the next line and rejects,
 * with the child's stderr in the message, when the child exits first or the guard time runs out.
 */
export class LineProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  private stdoutBuffer = '';
  private stderrText = '';
  private readIndex = 0;
  private waiters: Array<() => void> = [];
  private exitInfo: ExitInfo | undefined;
  /** Resolves when the child has exited and its stdio is closed (so its pipes no longer count as our fds). */
  readonly closed: Promise<ExitInfo>;

  constructor(
    readonly label: string,
    command: string,
    args: string[],
    options: { stdio3?: number; env?: NodeJS.ProcessEnv } = {},
  ) {
    const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe'];
    if (options.stdio3 !== undefined) stdio.push(options.stdio3);
    this.child = spawn(command, args, { cwd: REPO_ROOT, stdio, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...options.env } });
    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      this.stdoutBuffer += chunk;
      let newline;
      while ((newline = this.stdoutBuffer.indexOf('\n')) >= 0) {
        this.lines.push(this.stdoutBuffer.slice(0, newline));
        this.stdoutBuffer = this.stdoutBuffer.slice(newline + 1);
      }
      this.wake();
    });
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderrText += chunk;
    });
    this.closed = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        if (this.stdoutBuffer) this.lines.push(this.stdoutBuffer);
        this.stdoutBuffer = '';
        this.exitInfo = { code, signal };
        this.wake();
        resolve(this.exitInfo);
      });
    });
  }

  get stderr(): string {
    return this.stderrText;
  }

  get exited(): boolean {
    return this.exitInfo !== undefined;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The next unread stdout line. */
  async nextLine(guardMs = LINE_GUARD_MS): Promise<string> {
    const deadline = Date.now() + guardMs;
    for (;;) {
      if (this.readIndex < this.lines.length) return this.lines[this.readIndex++]!;
      if (this.exitInfo) {
        throw new Error(`${this.label} exited (${JSON.stringify(this.exitInfo)}) before printing a line; stderr:\n${this.stderrText}`);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`${this.label} printed no line within ${guardMs} ms; stderr:\n${this.stderrText}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next stdout line parsed as JSON. */
  async nextJson<T = Record<string, any>>(guardMs = LINE_GUARD_MS): Promise<T> {
    const line = await this.nextLine(guardMs);
    try {
      return JSON.parse(line) as T;
    } catch {
      throw new Error(`${this.label} printed a non-JSON line: ${line}\nstderr:\n${this.stderrText}`);
    }
  }

  /** Waits for the child to exit by itself (rejects with stderr when the guard time runs out). */
  async waitExit(guardMs = LINE_GUARD_MS): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`${this.label} did not exit within ${guardMs} ms; stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderrText}`),
          ),
        guardMs,
      );
    });
    try {
      return await Promise.race([this.closed, guard]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the child and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    if (!this.exitInfo) this.child.kill(signal);
    return this.closed;
  }
}

export interface PythonPeer extends LineProcess {
  /** The parsed `{"ready": true, ...}` line. */
  ready: Record<string, any>;
}

/** Starts `peers/<script>` with python3 and waits for its ready line. Killed at teardown. */
export async function startPeer(t: ExecutionContext, script: string, args: string[]): Promise<PythonPeer> {
  const proc = new LineProcess(`python peer ${script}`, 'python3', [path.join(PEERS_DIR, script), ...args]) as PythonPeer;
  t.teardown(() => proc.kill());
  const ready = await proc.nextJson();
  if (ready.ready !== true) throw new Error(`${script} printed ${JSON.stringify(ready)} instead of a ready line`);
  proc.ready = ready;
  return proc;
}

/** Runs `fixtures/<name>` with `node --import tsx` (plus extra node flags). Killed at teardown. */
export function startNodeFixture(
  t: ExecutionContext,
  name: string,
  args: string[] = [],
  options: { nodeFlags?: string[]; stdio3?: number; env?: NodeJS.ProcessEnv } = {},
): LineProcess {
  const proc = new LineProcess(
    `node fixture ${name}`,
    process.execPath,
    [...(options.nodeFlags ?? []), '--import', 'tsx', path.join(FIXTURES_DIR, name), ...args],
    { stdio3: options.stdio3, env: options.env },
  );
  t.teardown(() => proc.kill());
  return proc;
}

/** Peer argv form of an abstract name. */
export function atName(name: string): string {
  return `@${name}`;
}

/** Hex of a UTF-8 string (the python peers report abstract names as hex). */
export function hex(text: string | Uint8Array): string {
  return Buffer.from(text as any).toString('hex');
}

/** Closes a client (or each of a pair) at teardown. Returns its argument. */
export function autoClose<T extends { close(): Promise<void> } | Array<{ close(): Promise<void> }>>(t: ExecutionContext, clients: T): T {
  const list = Array.isArray(clients) ? clients : [clients];
  t.teardown(async () => {
    await Promise.all(list.map((c) => c.close()));
  });
  return clients;
}

/** Yields to the event loop (setImmediate) until `progress()` has not changed for `stableTurns` turns. */
export async function untilStalled(progress: () => number, stableTurns = 50, maxTurns = 1_000_000): Promise<void> {
  let last = progress();
  let stable = 0;
  for (let turn = 0; turn < maxTurns && stable < stableTurns; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    const now = progress();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
}
