// Byte parity of notify() with systemd's own senders: systemd-notify (Debian's systemd
// package) and libsystemd's sd_pid_notify_with_fds / sd_notify_barrier (peers/sd_notify.py,
// ctypes on libsystemd.so.0), each run under strace, for the same states, to the same python
// notification socket. Compared per datagram: the bytes, the descriptors, and the control
// messages the sender attached (strace's view: which SCM_* and, for credentials, whose pid:
// the sender's own or its parent's), and what the receiver got. The differences found are
// asserted as such, so they stay known: see the README's "systemd" section.
import path from 'node:path';
import fs from 'node:fs';
import test, { type ExecutionContext } from 'ava';

import { FIXTURES_DIR, PEERS_DIR, abstractName, tempDir, type PythonPeer } from './helpers.js';
import { cleanEnv, notifyReceiver, traceSends, type Notification } from './helpers/systemd.js';
import { MAIN } from './fixtures/cli-process.js';

interface Sender {
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
}

const libsystemd = (...args: string[]): Sender => ({
  label: 'libsystemd',
  command: 'python3',
  args: [path.join(PEERS_DIR, 'sd_notify.py'), ...args],
});
const unixgram = (...args: string[]): Sender => ({
  label: 'unixgram',
  command: process.execPath,
  args: ['--import', 'tsx', path.join(FIXTURES_DIR, 'notify-child.ts'), ...args],
});
const systemdNotify = (...args: string[]): Sender => ({ label: 'systemd-notify', command: 'systemd-notify', args });
const unixgramCli = (...args: string[]): Sender => ({
  label: 'unixgram notify',
  command: process.execPath,
  args: ['--import', 'tsx', MAIN, 'notify', ...args],
});

/** One datagram as sent (strace) and as received (the python socket), pids as roles. */
interface Seen {
  readonly payload: string;
  readonly sun_path: string;
  readonly namelen: number;
  readonly flags: string;
  /** What the sender attached: `SCM_RIGHTS ×n`, `SCM_CREDENTIALS <role> uid gid`. */
  readonly attached: string[];
  /** What arrived: the descriptors' targets and the credentials' role. */
  readonly received: { readonly fds: string[]; readonly creds: string };
}

/** Run each sender under strace in turn, with NOTIFY_SOCKET at `receiver`, and read what it sent. */
async function run(receiver: PythonPeer, address: string, senders: readonly Sender[]): Promise<Record<string, Seen[]>> {
  const out: Record<string, Seen[]> = {};
  for (const sender of senders) {
    const { sends, parent } = await traceSends(sender.command, [...sender.args], cleanEnv({ NOTIFY_SOCKET: address }));
    const role = (pid: number, self: number): string => (pid === parent ? 'parent' : pid === self ? 'self' : `pid ${pid}`);
    const seen: Seen[] = [];
    for (const send of sends) {
      const got = await receiver.nextJson<Notification>();
      if (got.hex !== send.payload.toString('hex'))
        throw new Error(`${sender.label}: received ${got.text}, strace saw ${send.payload.toString()}`);
      seen.push({
        payload: send.payload.toString(),
        sun_path: send.name.toString('hex'),
        namelen: send.namelen,
        flags: send.flags,
        attached: send.control.map((c) =>
          c.type === 'SCM_RIGHTS' ? `SCM_RIGHTS ×${c.fds}` : `SCM_CREDENTIALS ${role(c.pid, send.tid)} uid=${c.uid} gid=${c.gid}`,
        ),
        received: {
          fds: got.fds.map((f) => f.content ?? f.link.replace(/\d+/, 'N')),
          creds: got.creds ? role(got.creds.pid, send.tid) : 'none',
        },
      });
    }
    out[sender.label] = seen;
  }
  return out;
}

/** The fields two senders must agree on; `namelen` and `flags` are compared on their own. */
function essence(seen: readonly Seen[]): Array<Omit<Seen, 'namelen' | 'flags'>> {
  return seen.map(({ namelen: _namelen, flags: _flags, ...rest }) => rest);
}

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

async function receiverAt(t: ExecutionContext, abstract = false) {
  const address = abstract ? `@${abstractName('parity')}` : path.join(tempDir(t), 'notify.sock');
  return { address, receiver: await notifyReceiver(t, address) };
}

test('READY=1 + STATUS= for the parent pid: systemd-notify --no-block, libsystemd and notify() send the same datagram', async (t) => {
  const { address, receiver } = await receiverAt(t);
  const state = 'READY=1\nSTATUS=x';
  const seen = await run(receiver, address, [
    systemdNotify('--no-block', '--ready', '--status=x'),
    libsystemd('notify', state, '--pid', 'parent'),
    unixgram('notify', state, '--pid', 'parent'),
    unixgramCli('--ready', '--status=x'),
  ]);
  const expected = [
    {
      payload: state,
      sun_path: Buffer.from(address).toString('hex'),
      // Sent on behalf of the parent (what systemd-notify does by default): credentials
      // attached, with the real uid and gid. Root may fake a pid; the receiver sees it.
      attached: [`SCM_CREDENTIALS parent uid=${uid} gid=${gid}`],
      received: { fds: [], creds: uid === 0 ? 'parent' : 'self' },
    },
  ];
  for (const label of ['systemd-notify', 'libsystemd', 'unixgram', 'unixgram notify']) t.deepEqual(essence(seen[label]!), expected, label);
  // Differences in how it is sent, not in what: libsystemd counts the path's NUL in
  // msg_namelen (both name the same socket), and blocks in sendmsg where unixgram sends
  // MSG_DONTWAIT and waits on the event loop while the queue is full.
  t.is(seen.libsystemd![0]!.namelen, 2 + Buffer.byteLength(address) + 1);
  t.is(seen.unixgram![0]!.namelen, 2 + Buffer.byteLength(address));
  t.is(seen['systemd-notify']![0]!.flags, 'MSG_NOSIGNAL');
  t.is(seen.libsystemd![0]!.flags, 'MSG_NOSIGNAL');
  t.is(seen.unixgram![0]!.flags, 'MSG_DONTWAIT|MSG_NOSIGNAL');
});

test('READY=1 from the sender itself, to an abstract name: no credentials attached by libsystemd or notify(), the kernel adds them', async (t) => {
  const { address, receiver } = await receiverAt(t, true);
  const seen = await run(receiver, address, [libsystemd('notify', 'READY=1'), unixgram('notify', 'READY=1')]);
  const expected = [
    {
      payload: 'READY=1',
      sun_path: Buffer.concat([Buffer.of(0), Buffer.from(address.slice(1))]).toString('hex'),
      attached: [],
      received: { fds: [], creds: 'self' },
    },
  ];
  t.deepEqual(essence(seen.libsystemd!), expected);
  t.deepEqual(essence(seen.unixgram!), expected);
  t.is(seen.unixgram![0]!.namelen, seen.libsystemd![0]!.namelen, 'an abstract name has the same length in both: no NUL counted');
});

test('FDSTORE=1 + FDNAME= with two fds: one SCM_RIGHTS of both, from libsystemd and notify() alike', async (t) => {
  const { address, receiver } = await receiverAt(t);
  const dir = tempDir(t);
  const files = ['one', 'two'].map((text) => {
    const file = path.join(dir, text);
    fs.writeFileSync(file, text);
    return file;
  });
  const state = 'FDSTORE=1\nFDNAME=pair';
  const fdArgs = files.flatMap((f) => ['--fd', f]);
  const seen = await run(receiver, address, [libsystemd('notify', state, ...fdArgs), unixgram('notify', state, ...fdArgs)]);
  const expected = [
    {
      payload: state,
      sun_path: Buffer.from(address).toString('hex'),
      attached: ['SCM_RIGHTS ×2'],
      received: { fds: ['one', 'two'], creds: 'self' },
    },
  ];
  t.deepEqual(essence(seen.libsystemd!), expected);
  t.deepEqual(essence(seen.unixgram!), expected);
});

test('BARRIER=1: sd_notify_barrier and notifyBarrier() send the same datagram with a pipe; systemd-notify sends it after the state', async (t) => {
  const { address, receiver } = await receiverAt(t);
  const seen = await run(receiver, address, [
    libsystemd('barrier'),
    unixgram('barrier'),
    systemdNotify('--ready'), // without --no-block: the state, then sd_notify_barrier
    unixgramCli('--ready', '--barrier'),
  ]);
  const barrier = {
    payload: 'BARRIER=1',
    sun_path: Buffer.from(address).toString('hex'),
    attached: ['SCM_RIGHTS ×1'],
    received: { fds: ['pipe:[N]'], creds: 'self' },
  };
  t.deepEqual(essence(seen.libsystemd!), [barrier]);
  t.deepEqual(essence(seen.unixgram!), [barrier]);
  const ready = {
    payload: 'READY=1',
    sun_path: barrier.sun_path,
    attached: [`SCM_CREDENTIALS parent uid=${uid} gid=${gid}`],
    received: { fds: [], creds: uid === 0 ? 'parent' : 'self' },
  };
  t.deepEqual(essence(seen['systemd-notify']!), [ready, barrier]);
  // systemd 252's systemd-notify sends its barrier as itself (sd_notify_barrier); systemd 254
  // and later, and `unixgram notify --barrier`, send it for the same pid as the state
  // (sd_pid_notify_barrier): credentials attached for the parent.
  t.deepEqual(essence(seen['unixgram notify']!), [
    ready,
    {
      ...barrier,
      attached: ['SCM_RIGHTS ×1', `SCM_CREDENTIALS parent uid=${uid} gid=${gid}`],
      received: { ...barrier.received, creds: ready.received.creds },
    },
  ]);
});
