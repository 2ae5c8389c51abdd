/**
 * @internal `unixgram notify`: `systemd-notify` on unixgram's `notify()`: assignments to the
 * service manager at `$NOTIFY_SOCKET`, descriptors for its fd store, and a barrier.
 * @packageDocumentation
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { notify, notifyBarrier } from '../index.js';
import { CliError, type Io } from './io.js';
import { NOTIFY_HELP, UsageError, asUsage, seconds } from './usage.js';

/**
 * Run `unixgram notify`.
 * @param args - the arguments after `notify`
 * @param io - output streams
 * @returns the exit code
 */
export async function notifyCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = asUsage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        ready: { type: 'boolean' },
        status: { type: 'string' },
        fd: { type: 'string', multiple: true },
        fdname: { type: 'string' },
        barrier: { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) {
    io.stdout.write(NOTIFY_HELP);
    return 0;
  }
  for (const assignment of positionals) {
    if (!/^[^=\n]+=/.test(assignment)) throw new UsageError(`'${assignment}' is not an assignment VARIABLE=VALUE (e.g. READY=1)`);
  }
  const fdArgs = values.fd ?? [];
  if (values.fdname !== undefined && fdArgs.length === 0) throw new UsageError('--fdname names the descriptors of --fd: give --fd too');
  const lines: string[] = [];
  if (values.ready) lines.push('READY=1');
  if (values.status !== undefined) lines.push(`STATUS=${values.status}`);
  if (fdArgs.length > 0 && !positionals.some((a) => a.startsWith('FDSTORE='))) lines.push('FDSTORE=1');
  if (values.fdname !== undefined) lines.push(`FDNAME=${values.fdname}`);
  lines.push(...positionals);
  if (lines.length === 0 && !values.barrier) {
    throw new UsageError('nothing to send: give assignments (READY=1, STATUS=…), --ready, --status, --fd, or --barrier');
  }
  const timeout = seconds('timeout', values.timeout);
  const pid = sourcePid();

  if (lines.length > 0) {
    const { fds, opened } = descriptors(fdArgs);
    try {
      const sent = await notify(lines.join('\n'), { fds, pid, timeout });
      if (!sent) throw notSet();
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  }
  if (values.barrier && !(await notifyBarrier({ pid, timeout: timeout ?? undefined }))) throw notSet();
  return 0;
}

function notSet(): CliError {
  return new CliError(
    'NOTIFY_SOCKET is not set: no service manager listens for notifications (run this from a Type=notify service, or set it)',
  );
}

/**
 * The pid the notification is sent for, as `systemd-notify` picks it: the process that ran
 * this command (its parent: the service), unless that is PID 1 or the manager itself
 * (`MANAGERPID`); then this process (`undefined`).
 */
function sourcePid(): number | undefined {
  const parent = process.ppid;
  if (parent <= 1 || String(parent) === process.env.MANAGERPID) return undefined;
  return parent;
}

/**
 * The descriptors of `--fd`: a number is one this process inherited (kept open: it is not
 * ours), anything else a file, opened read-only here (and closed by the caller).
 */
function descriptors(args: readonly string[]): { fds: number[]; opened: number[] } {
  const fds: number[] = [];
  const opened: number[] = [];
  try {
    for (const arg of args) {
      if (/^\d+$/.test(arg)) {
        const fd = Number(arg);
        if (!isOpen(fd)) throw new CliError(`--fd ${arg}: not an open descriptor of this process`);
        fds.push(fd);
      } else {
        const fd = openSync(arg, 'r');
        opened.push(fd);
        fds.push(fd);
      }
    }
  } catch (err) {
    for (const fd of opened) closeSync(fd);
    throw err;
  }
  return { fds, opened };
}

/** Whether `fd` is an open descriptor of this process. */
function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}
