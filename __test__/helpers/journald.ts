/**
 * A real systemd-journald as a test peer, private to one test, and the journald native
 * protocol's entry format.
 *
 * How journald runs here (root, systemd not PID 1, Debian's `systemd` package):
 *
 *     setpriv --pdeathsig TERM -- unshare --mount --propagation private -- \
 *       sh -ec 'mount --bind "$0" /run && exec /lib/systemd/systemd-journald' <tmp>/run
 *
 * - `unshare --mount` gives journald its own mount namespace, and the bind mount puts a fresh
 *   temp directory on its `/run`. journald creates everything it needs there itself:
 *   `/run/systemd/journal/{socket,dev-log,stdout,io.systemd.journal}` and, with
 *   `Storage=volatile`, its journal in `/run/log/journal/<machine-id>/`. Because it is a bind
 *   mount, the test process sees the same files at `<tmp>/run/...` with no `/proc/<pid>/root`
 *   detour, and the host's `/run` and `/var/log/journal` are never written. The namespace
 *   (and the mount) goes away with the process.
 * - The test's settings go in `<tmp>/run/systemd/journald.conf.d/`, which journald reads as
 *   `/run/systemd/journald.conf.d/` (see {@link JOURNALD_CONF}).
 * - `SYSTEMD_LOG_TARGET=console` sends journald's own messages ("Received file outside of
 *   allowed directories. Refusing.") to its stderr, which {@link Journald.log} returns;
 *   journald's own default (`LOG_TARGET_SAFE` in its `main()`) is the kernel log, the host's
 *   `dmesg`.
 * - `setpriv --pdeathsig TERM` (it survives the execs that follow) stops journald if the test
 *   process dies before `stop()`: the default-namespace journald never exits on its own.
 * - Not `systemd-journald NAME` (a journal namespace, `systemd-journald@.service`): it needs
 *   no mount namespace, but writes to the host's `/run/systemd/journal.NAME` and
 *   `/var/log/journal/<machine-id>.NAME` and exits after 30 s without clients. journald takes
 *   any argument as that name: `systemd-journald --version` starts an instance called
 *   `--version`.
 *
 * Ready means journald answers `io.systemd.Journal.Synchronize` on its varlink socket: its
 * event loop runs, every socket is bound and the journal is open. The same call is the
 * barrier {@link Journald.entries} uses: journald answers only after it has processed every
 * datagram already queued on its sockets, so an entry sent before `entries()` is in the
 * journal when `journalctl` reads it. journald at log level info prints nothing when it is
 * ready, and `NOTIFY_SOCKET` would need a datagram receiver in the test process, which is
 * our own code; so start-up probes the varlink socket (every 10 ms, for at most 10 s).
 *
 * Entries are read back with `journalctl --directory <tmp>/run/log/journal --all --output export`,
 * whose binary field form keeps every byte (`-o json` prints fields over 4096 bytes as null
 * without `--all`, and binary values as arrays of numbers).
 *
 * Needs root (a mount namespace and mounts), `systemd-journald` and `journalctl` (Debian:
 * `apt-get install systemd`), `unshare` and `setpriv` (util-linux). Without them
 * {@link startJournald} throws, so the tests that use it fail and say why: `.ci/run`
 * installs `systemd`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';

/** One journal entry from `journalctl -o export`: text fields as strings, binary ones as bytes. */
export type JournalEntry = Record<string, string | Buffer>;

/** A running journald of one test. */
export interface Journald {
  /** journald's native socket (`/run/systemd/journal/socket` in its namespace), reachable from the test. */
  readonly socketPath: string;
  /** Its syslog socket (`/run/systemd/journal/dev-log`, what `/dev/log` links to). */
  readonly devLogPath: string;
  /** The directory `journalctl --directory` reads (`/run/log/journal` in its namespace). */
  readonly journalDirectory: string;
  /** journald's pid. */
  readonly pid: number;
  /** The systemd version, from `journalctl --version` (`252` on Debian 12). */
  readonly version: number;
  /** Returns once journald has written every datagram queued on its sockets before the call. */
  sync(): Promise<void>;
  /**
   * Every entry in the journal that matches, oldest first, after a {@link Journald.sync}.
   * `match` is journalctl's: `FIELD=VALUE`, several of them for entries matching all. A field
   * that occurs more than once in an entry keeps its last value.
   */
  entries(match?: string | readonly string[]): Promise<JournalEntry[]>;
  /** What journald has printed about itself so far (its stderr). */
  log(): string;
  /** Stops journald (SIGTERM, SIGKILL after 10 s) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** The settings every test journald gets, on top of the host's `/etc/systemd/journald.conf`. */
export const JOURNALD_CONF = `[Journal]
# The journal goes to /run/log/journal, never to the host's /var/log/journal.
Storage=volatile
# Neither the host's kernel log in nor anything out to syslog, kmsg, consoles or terminals.
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
# Empty: leave the kernel's audit setting alone (journald 252 otherwise turns auditing off).
Audit=
# No rate limit; room for entries of many megabytes whatever the temp file system's free space.
RateLimitIntervalSec=0
RuntimeMaxUse=256M
RuntimeMaxFileSize=64M
RuntimeKeepFree=0
`;

const JOURNALD_BINARIES = ['/usr/lib/systemd/systemd-journald', '/lib/systemd/systemd-journald'];
const START_GUARD_MS = 10_000;
const STOP_GUARD_MS = 10_000;
const CALL_GUARD_MS = 20_000;

/**
 * Starts a private systemd-journald (see the module comment for how) and waits until it is
 * ready. With `t`, it is stopped when the test ends.
 * @throws Error when journald cannot run here (not root, not installed), saying what is missing.
 */
export async function startJournald(t?: ExecutionContext): Promise<Journald> {
  const binary = checkRequirements();
  const version = await journalctlVersion();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unixgram-journald-'));
  // Readable by all: tests send from unprivileged uids too, and journald's sockets are 0666.
  fs.chmodSync(root, 0o755);
  const runDir = path.join(root, 'run');
  fs.mkdirSync(path.join(runDir, 'systemd', 'journald.conf.d'), { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(runDir, 'systemd', 'journald.conf.d', 'unixgram-test.conf'), JOURNALD_CONF);

  const env: NodeJS.ProcessEnv = { ...process.env, SYSTEMD_LOG_TARGET: 'console', SYSTEMD_LOG_LEVEL: 'info' };
  // journald would take these as sockets passed to it, or as a manager to notify.
  for (const name of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'NOTIFY_SOCKET', 'WATCHDOG_PID', 'WATCHDOG_USEC']) {
    delete env[name];
  }
  const child = spawn(
    'setpriv',
    [
      '--pdeathsig',
      'TERM',
      '--',
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-ec',
      'mount --bind "$0" /run && exec "$1"',
      runDir,
      binary,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env },
  );
  const journald = new RunningJournald(child, root, version);
  t?.teardown(() => journald.stop());
  try {
    await journald.ready();
  } catch (err) {
    await journald.stop();
    throw err;
  }
  return journald;
}

/**
 * A journald native-protocol entry as Buffer chunks, one per field, in the order given: `NAME=value\n`
 * when the value has no newline, else `NAME\n`, the value's length as a little-endian 64-bit
 * integer, the value, `\n`. Concatenated, it is a datagram's payload or a memfd's content
 * (sd_journal_sendv(3) builds the same bytes).
 * @throws TypeError for a field name journald would drop: 1–64 of `A-Z`, `0-9`, `_`, starting
 * with a letter (`_` starts the fields journald sets itself). RangeError for no fields.
 * @example
 * Buffer.concat(nativeEntry({ MESSAGE: 'hi', DATA: Buffer.from('a\nb') }));
 * // 'MESSAGE=hi\n' + 'DATA\n' + 03 00 00 00 00 00 00 00 + 'a\nb' + '\n'
 */
export function nativeEntry(fields: Readonly<Record<string, string | Uint8Array>>): Buffer[] {
  const chunks = Object.entries(fields).map(([name, value]) => {
    if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(name)) {
      throw new TypeError(`journald drops the field name ${JSON.stringify(name)}: 1-64 of A-Z, 0-9, _, starting with a letter`);
    }
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (!bytes.includes(0x0a)) return Buffer.concat([Buffer.from(`${name}=`), bytes, NEWLINE]);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(bytes.length));
    return Buffer.concat([Buffer.from(`${name}\n`), length, bytes, NEWLINE]);
  });
  if (chunks.length === 0) throw new RangeError('a journal entry needs at least one field');
  return chunks;
}

const NEWLINE = Buffer.from('\n');

/**
 * Parses `journalctl -o export` output: entries separated by an empty line, each field either
 * `NAME=text\n` or `NAME\n` + little-endian 64-bit length + bytes + `\n` (the form journalctl
 * uses for values that are not printable UTF-8 on one line).
 */
function parseExport(out: Buffer): JournalEntry[] {
  const entries: JournalEntry[] = [];
  let entry: JournalEntry = {};
  let fields = 0;
  let at = 0;
  while (at < out.length) {
    const eol = out.indexOf(0x0a, at);
    if (eol < 0) throw new Error(`journalctl export output ends inside a field at byte ${at}`);
    if (eol === at) {
      if (fields > 0) entries.push(entry);
      entry = {};
      fields = 0;
      at = eol + 1;
      continue;
    }
    const eq = out.subarray(at, eol).indexOf(0x3d);
    if (eq >= 0) {
      entry[out.toString('latin1', at, at + eq)] = out.toString('utf8', at + eq + 1, eol);
      at = eol + 1;
    } else {
      const name = out.toString('latin1', at, eol);
      const length = Number(out.readBigUInt64LE(eol + 1));
      const start = eol + 9;
      if (out[start + length] !== 0x0a)
        throw new Error(`journalctl export: binary field ${name} of ${length} bytes is not followed by \\n`);
      entry[name] = Buffer.from(out.subarray(start, start + length));
      at = start + length + 1;
    }
    fields += 1;
  }
  if (fields > 0) entries.push(entry);
  return entries;
}

class RunningJournald implements Journald {
  readonly socketPath: string;
  readonly devLogPath: string;
  readonly journalDirectory: string;
  private readonly varlinkPath: string;
  private stderr = '';
  private exitInfo: string | undefined;
  private readonly closed: Promise<void>;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly root: string,
    readonly version: number,
  ) {
    const run = path.join(root, 'run');
    this.socketPath = path.join(run, 'systemd', 'journal', 'socket');
    this.devLogPath = path.join(run, 'systemd', 'journal', 'dev-log');
    this.varlinkPath = path.join(run, 'systemd', 'journal', 'io.systemd.journal');
    this.journalDirectory = path.join(run, 'log', 'journal');
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.closed = new Promise((resolve) => {
      child.on('error', (err) => {
        this.exitInfo ??= `could not be started: ${err.message}`;
        resolve();
      });
      child.on('close', (code, signal) => {
        this.exitInfo ??= signal ? `was killed by ${signal}` : `exited with code ${code}`;
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  log(): string {
    return this.stderr;
  }

  /** Waits until journald answers on its varlink socket, or fails with what it printed. */
  async ready(): Promise<void> {
    const deadline = Date.now() + START_GUARD_MS;
    for (;;) {
      if (this.exitInfo) throw new Error(`systemd-journald ${this.exitInfo} before it was ready; it said:\n${this.stderr}`);
      try {
        await varlinkCall(this.varlinkPath, 'io.systemd.Journal.Synchronize', CALL_GUARD_MS);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw err;
      }
      if (Date.now() > deadline) throw new Error(`systemd-journald was not ready within ${START_GUARD_MS} ms; it said:\n${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async sync(): Promise<void> {
    if (this.exitInfo) throw new Error(`systemd-journald ${this.exitInfo}; it said:\n${this.stderr}`);
    await varlinkCall(this.varlinkPath, 'io.systemd.Journal.Synchronize', CALL_GUARD_MS);
  }

  async entries(match: string | readonly string[] = []): Promise<JournalEntry[]> {
    await this.sync();
    const matches = typeof match === 'string' ? [match] : match;
    const out = await run('journalctl', [
      '--directory',
      this.journalDirectory,
      '--all',
      '--output',
      'export',
      '--no-pager',
      '--',
      ...matches,
    ]);
    return parseExport(out);
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      if (!this.exitInfo) {
        this.child.kill('SIGTERM');
        const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GUARD_MS);
        await this.closed;
        clearTimeout(timer);
      }
      fs.rmSync(this.root, { recursive: true, force: true });
    })();
    return this.stopped;
  }
}

/** The path of systemd-journald, or an Error saying what this machine lacks. */
function checkRequirements(): string {
  const missing = (what: string) =>
    new Error(
      `a journald test needs ${what}: it runs systemd-journald as root in a private mount namespace (see __test__/helpers/journald.ts)`,
    );
  if (process.platform !== 'linux') throw missing('Linux');
  if (process.getuid?.() !== 0) throw missing('root (unshare --mount and mount --bind)');
  const binary = JOURNALD_BINARIES.find((file) => fs.existsSync(file));
  if (!binary) throw missing(`systemd-journald (${JOURNALD_BINARIES.join(' or ')}; Debian: apt-get install systemd)`);
  return binary;
}

async function journalctlVersion(): Promise<number> {
  let out: Buffer;
  try {
    out = await run('journalctl', ['--version']);
  } catch (err) {
    throw new Error(`a journald test needs journalctl (Debian: apt-get install systemd): ${(err as Error).message}`);
  }
  const match = /^systemd (\d+)/.exec(out.toString('utf8'));
  if (!match) throw new Error(`journalctl --version printed ${JSON.stringify(out.toString('utf8'))}`);
  return Number(match[1]);
}

/** Runs a program to its end and returns its stdout; rejects with its stderr when it fails. */
function run(command: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${command} ${args.join(' ')} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}: ${err}`));
    });
  });
}

/**
 * One varlink call (JSON and a NUL byte each way, over a stream socket) and its reply's
 * parameters. Connection errors keep their `.code` (ENOENT while journald starts).
 */
function varlinkCall(socketPath: string, method: string, guardMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(socketPath);
    let reply = Buffer.alloc(0);
    const timer = setTimeout(() => conn.destroy(new Error(`varlink ${method} on ${socketPath}: no reply within ${guardMs} ms`)), guardMs);
    conn.on('connect', () => conn.write(`${JSON.stringify({ method, parameters: {} })}\0`));
    conn.on('data', (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      const end = reply.indexOf(0);
      if (end < 0) return;
      clearTimeout(timer);
      conn.destroy();
      const message = JSON.parse(reply.toString('utf8', 0, end)) as { error?: string; parameters?: Record<string, unknown> };
      if (message.error) reject(new Error(`varlink ${method}: ${message.error} ${JSON.stringify(message.parameters ?? {})}`));
      else resolve(message.parameters ?? {});
    });
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    conn.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`varlink ${method} on ${socketPath}: closed before a reply`)); // a no-op once settled
    });
  });
}
