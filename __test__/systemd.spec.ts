// Socket activation: listenFds() under the real systemd-socket-activate (Debian's systemd
// package), served with UnixDatagramServer / UnixDatagramEndpoint and reached by a python
// peer; and listenFds() against libsystemd's own sd_listen_fds_with_names (ctypes), case by
// case. The manager's side of sd_notify is in systemd-notify.spec.ts, byte parity with
// systemd-notify and libsystemd in systemd-parity.spec.ts.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';

import { DatagramProtocol, listenFds, StringSerializer, UnixDatagramEndpoint } from '../src/index.js';
import { FIXTURES_DIR, PEERS_DIR, REPO_ROOT, startPeer, tempDir } from './helpers.js';
import { activate, cleanEnv } from './helpers/systemd.js';

test('systemd-socket-activate --datagram: the server answers a python peer under its --fdname, and its close leaves the socket file', async (t) => {
  const sock = path.join(tempDir(t), 's.sock');
  const service = await activate(t, ['--datagram', '-l', sock, '--fdname=echo'], 'socket-activated.ts');
  // The first datagram is what makes systemd-socket-activate exec the service.
  const peer = await startPeer(t, 'activation_client.py', ['dgram', sock, 'hello', 'wide world', 'stop']);
  t.deepEqual(await service.nextJson(), {
    fds: [{ fd: 3, name: 'echo' }],
    cloexec: [true],
    env: { LISTEN_PID: null, LISTEN_FDS: null, LISTEN_FDNAMES: null },
    again: 0,
  });
  t.deepEqual(await service.nextJson(), { serving: 1, adopted: [true], twice: 'ERR_UNIXGRAM_ALREADY_ADOPTED' });
  t.deepEqual(await peer.nextJson(), { replies: ['echo:HELLO', 'echo:WIDE WORLD'] });
  t.deepEqual(await service.nextJson(), { closed: true });
  t.is((await service.waitExit()).code, 0, service.stderr);
  t.true(fs.lstatSync(sock).isSocket(), 'the server did not unlink the socket file systemd-socket-activate made');
});

test('two sockets, --fdname=first:second, each served by a UnixDatagramEndpoint under its own name', async (t) => {
  const dir = tempDir(t);
  const [first, second] = [path.join(dir, 'first.sock'), path.join(dir, 'second.sock')];
  const service = await activate(t, ['--datagram', '-l', first, '-l', second, '--fdname=first:second'], 'socket-activated.ts', [
    'endpoint',
  ]);
  const toSecond = await startPeer(t, 'activation_client.py', ['dgram', second, 'b']);
  t.like(await service.nextJson(), {
    fds: [
      { fd: 3, name: 'first' },
      { fd: 4, name: 'second' },
    ],
    cloexec: [true, true],
  });
  t.like(await service.nextJson(), { serving: 2 });
  t.deepEqual(await toSecond.nextJson(), { replies: ['second:B'] });
  const toFirst = await startPeer(t, 'activation_client.py', ['dgram', first, 'a', 'stop']);
  t.deepEqual(await toFirst.nextJson(), { replies: ['first:A'] });
  t.deepEqual(await service.nextJson(), { closed: true });
  t.is((await service.waitExit()).code, 0, service.stderr);
  t.true(fs.lstatSync(first).isSocket() && fs.lstatSync(second).isSocket());
});

test('without --fdname (no LISTEN_FDNAMES) the socket is named "unknown", as libsystemd names it', async (t) => {
  const sock = path.join(tempDir(t), 'u.sock');
  const service = await activate(t, ['--datagram', '-l', sock], 'socket-activated.ts');
  const peer = await startPeer(t, 'activation_client.py', ['dgram', sock, 'x', 'stop']);
  t.like(await service.nextJson(), { fds: [{ fd: 3, name: 'unknown' }] });
  t.deepEqual(await peer.nextJson(), { replies: ['unknown:X'] });
});

test('a stream socket (systemd-socket-activate without --datagram) is refused, naming its fd and name, and left open', async (t) => {
  const sock = path.join(tempDir(t), 'web.sock');
  const service = await activate(t, ['-l', sock, '--fdname=web'], 'socket-activated.ts');
  const peer = await startPeer(t, 'activation_client.py', ['stream', sock]); // a connection starts it
  t.like(await service.nextJson(), { fds: [{ fd: 3, name: 'web' }] });
  t.deepEqual(await service.nextJson(), {
    error: {
      code: 'ERR_UNIXGRAM_NOT_UNIX_DGRAM',
      message: 'socket-activated fd 3 named "web": getsockopt ERR_UNIXGRAM_NOT_UNIX_DGRAM: fd 3 is a Stream socket, not AF_UNIX/SOCK_DGRAM',
      syscall: 'getsockopt',
    },
    stillOpen: [true],
  });
  t.is((await service.waitExit()).code, 3);
  t.deepEqual(await peer.nextJson(), { closed: true });
});

/** listenFds() and libsystemd's sd_listen_fds_with_names, each in a child given the same fds 3 and 4. */
async function runCases(t: import('ava').ExecutionContext, cases: ReadonlyArray<{ env: Record<string, string>; unset: boolean }>) {
  const endpoint = await UnixDatagramEndpoint.bind(null, new DatagramProtocol(new StringSerializer()));
  t.teardown(() => endpoint.close());
  const [socketFd, fileFd] = [endpoint.dupFd(), fs.openSync('/etc/hostname', 'r')];
  t.teardown(() => [socketFd, fileFd].forEach((fd) => fs.closeSync(fd)));
  const run = (command: string, args: string[]): Promise<Array<Record<string, unknown>>> =>
    new Promise((resolve, reject) => {
      const child = spawn(command, args, { cwd: REPO_ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe', socketFd, fileFd] });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0) reject(new Error(`${command} exited ${code}: ${err}`));
        else
          resolve(
            out
              .trim()
              .split('\n')
              .map((line) => JSON.parse(line) as Record<string, unknown>),
          );
      });
    });
  const json = JSON.stringify(cases);
  const [ours, theirs] = await Promise.all([
    run(process.execPath, ['--import', 'tsx', path.join(FIXTURES_DIR, 'listen-fds-cases.ts'), json]),
    run('python3', [path.join(PEERS_DIR, 'sd_listen_fds.py'), json]),
  ]);
  return { ours, theirs };
}

/** What libsystemd's negative errno is as a listenFds() error code. */
const AS_OURS: Readonly<Record<string, string>> = {
  EINVAL: 'ERR_UNIXGRAM_BAD_ENVIRONMENT',
  ERANGE: 'ERR_UNIXGRAM_BAD_ENVIRONMENT',
  EBADF: 'EBADF',
};

test('listenFds() gives what libsystemd sd_listen_fds_with_names gives, case by case: count, names, errors, what is unset', async (t) => {
  const self = { LISTEN_PID: 'SELF' };
  const cases: Array<{ env: Record<string, string>; unset: boolean }> = [
    // Not for us, or not set: nothing, and fds 3 and 4 untouched.
    { env: { LISTEN_PID: '1', LISTEN_FDS: '2' }, unset: true },
    { env: { LISTEN_FDS: '2' }, unset: true },
    { env: { ...self }, unset: true },
    // Values that cannot be used (before any descriptor is touched).
    { env: { LISTEN_PID: 'x', LISTEN_FDS: '1' }, unset: true },
    { env: { LISTEN_PID: '', LISTEN_FDS: '1' }, unset: true },
    { env: { LISTEN_PID: '0', LISTEN_FDS: '1' }, unset: true },
    { env: { ...self, LISTEN_FDS: '0' }, unset: true },
    { env: { ...self, LISTEN_FDS: '-1' }, unset: true },
    { env: { ...self, LISTEN_FDS: '' }, unset: true },
    { env: { ...self, LISTEN_FDS: 'two' }, unset: false },
    // Ours: fd 3 made close-on-exec; the environment kept when asked.
    { env: { ...self, LISTEN_FDS: '1' }, unset: false },
    { env: { ...self, LISTEN_FDS: '1', LISTEN_FDNAMES: 'only' }, unset: true },
    { env: { ...self, LISTEN_FDS: '1', LISTEN_FDNAMES: '' }, unset: true },
    { env: { ...self, LISTEN_FDS: '2', LISTEN_FDNAMES: 'a' }, unset: true },
    { env: { ...self, LISTEN_FDS: '2', LISTEN_FDNAMES: 'a:' }, unset: true },
    { env: { ...self, LISTEN_FDS: '2', LISTEN_FDNAMES: 'app.socket:x y' }, unset: true },
    { env: { ...self, LISTEN_FDS: '1', LISTEN_FDNAMES: 'a:b' }, unset: true },
    // More than are open: the first one that is not is EBADF.
    { env: { ...self, LISTEN_FDS: '100000' }, unset: true },
  ];
  const { ours, theirs } = await runCases(t, cases);
  t.is(ours.length, cases.length);
  for (const [i, theirsCase] of theirs.entries()) {
    const oursCase = ours[i]!;
    const expected = typeof theirsCase.result === 'string' ? AS_OURS[theirsCase.result] : theirsCase.result;
    const label = `case ${JSON.stringify(cases[i])}: libsystemd ${JSON.stringify(theirsCase)}, ours ${JSON.stringify(oursCase)}`;
    t.is(oursCase.result, expected, label);
    t.deepEqual(oursCase.names, theirsCase.names, label);
    t.deepEqual(oursCase.left, theirsCase.left, label);
    // Node itself makes inherited descriptors close-on-exec when it starts, so listenFds()'s
    // own F_SETFD (unixgram-core's fd::set_cloexec, tested there) shows no change here.
    t.deepEqual(oursCase.cloexec, [true, true], label);
  }
  // libsystemd flags exactly the descriptors LISTEN_FDS counts, once the values check out.
  t.deepEqual(
    theirs.map((c) => c.cloexec),
    cases.map((_, i) => (i < 10 ? [false, false] : i < 13 ? [true, false] : [true, true])),
  );
  t.is(ours[13]?.message, 'LISTEN_FDNAMES="a" has 1 name for LISTEN_FDS=2');
  t.is(ours[6]?.message, 'LISTEN_FDS="0" is less than 1');
  t.regex(String(ours[17]?.message), /^LISTEN_FDS=100000: fd \d+: fcntl EBADF/);
});

test('known difference: libsystemd reads numbers with strtol (" 1", "+1", "0x1"); listenFds() takes decimal digits only, as systemd writes them', async (t) => {
  const self = 'SELF';
  const cases = [' 1', '+1', '0x1'].map((n) => ({ env: { LISTEN_PID: self, LISTEN_FDS: n }, unset: true }));
  cases.push({ env: { LISTEN_PID: `+${self}`, LISTEN_FDS: '1' }, unset: true });
  const { ours, theirs } = await runCases(t, cases);
  for (const [i, theirsCase] of theirs.entries()) {
    t.is(theirsCase.result, 1, JSON.stringify(cases[i]));
    t.is(ours[i]?.result, 'ERR_UNIXGRAM_BAD_ENVIRONMENT', JSON.stringify(cases[i]));
    t.regex(String(ours[i]?.message), /is not a decimal number$/);
  }
});

test('listenFds() checks its options before reading the environment', (t) => {
  t.throws(() => listenFds({ unsetEnvironment: 'yes' as unknown as boolean }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => listenFds({ unset: true } as unknown as object), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /options\.unset.*the known options are unsetEnvironment/,
  });
  t.deepEqual(listenFds({ unsetEnvironment: false }), [], 'the test process was passed nothing');
});

test('systemd-socket-activate --datagram on 127.0.0.1:port: listenFds() serves UDP with udpServer(), answering a python peer', async (t) => {
  const port = await freeUdpPort();
  const service = await activate(t, ['--datagram', '-l', `127.0.0.1:${port}`, '--fdname=stats'], 'socket-activated.ts', ['udp']);
  const peer = await startPeer(t, 'activation_client.py', ['udp', `127.0.0.1:${port}`, 'hello', 'again', 'stop']);
  t.like(await service.nextJson(), { fds: [{ fd: 3, name: 'stats' }] });
  t.deepEqual(await service.nextJson(), { serving: 1, adopted: [true], twice: 'ERR_UNIXGRAM_ALREADY_ADOPTED' });
  t.deepEqual(await peer.nextJson(), { replies: ['stats:HELLO', 'stats:AGAIN'] });
  t.deepEqual(await service.nextJson(), { closed: true });
  t.is((await service.waitExit()).code, 0, service.stderr);
});

test('systemd-socket-activate --seqpacket: listenFds() serves connections with seqpacketServer(), answering a python peer', async (t) => {
  const sock = path.join(tempDir(t), 'seq.sock');
  const service = await activate(t, ['--seqpacket', '-l', sock, '--fdname=control'], 'socket-activated.ts', ['seqpacket']);
  const peer = await startPeer(t, 'activation_client.py', ['seqpacket', sock, 'status', 'reload', 'stop']);
  t.like(await service.nextJson(), { fds: [{ fd: 3, name: 'control' }] });
  t.deepEqual(await service.nextJson(), { serving: 1, adopted: [true], twice: 'ERR_UNIXGRAM_ALREADY_ADOPTED' });
  t.deepEqual(await peer.nextJson(), { replies: ['control:STATUS', 'control:RELOAD'] });
  t.deepEqual(await service.nextJson(), { closed: true });
  t.is((await service.waitExit()).code, 0, service.stderr);
});

test('udpServer() on a Unix datagram socket is refused, naming the fd, and the descriptor stays open', async (t) => {
  const sock = path.join(tempDir(t), 'wrong.sock');
  const service = await activate(t, ['--datagram', '-l', sock, '--fdname=wrong'], 'socket-activated.ts', ['udp']);
  await startPeer(t, 'activation_client.py', ['dgram', sock, 'stop']);
  t.like(await service.nextJson(), { fds: [{ fd: 3, name: 'wrong' }] });
  t.like(await service.nextJson(), {
    error: { code: 'ERR_UNIXGRAM_NOT_UNIX_DGRAM', syscall: 'getsockopt' },
    stillOpen: [true],
  });
});

/** A UDP port nobody uses now on 127.0.0.1 (bound, read, closed). */
async function freeUdpPort(): Promise<number> {
  const dgram = await import('node:dgram');
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
