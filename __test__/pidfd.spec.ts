// SCM_PIDFD and SO_PEERPIDFD: a sender's pidfd names its process for as long as it is open,
// where the pid of SCM_CREDENTIALS names whichever process has the number now. Real python3
// senders; the pid reuse is real too (a new process made to get the old number). Linux >= 6.5:
// on an older kernel every test but the first is skipped, and the first prints why.
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Buffer } from 'node:buffer';

import {
  BytesSerializer,
  DatagramProtocol,
  DatagramProtocolParseError,
  JSONSerializer,
  pidfdExited,
  pidfdPid,
  SocketAncillary,
  StringSerializer,
  UnixDatagramClient,
  UnixDatagramEndpoint,
  UnixDatagramServer,
  type Pidfd,
  type UnixDatagramServerClient,
} from '../src/index.js';
import { ENTRY_CREDENTIALS, ENTRY_EXTRA_MASK, ENTRY_FDS, ENTRY_FDS_SHIFT, ENTRY_PIDFD } from '../src/native/binding.js';
import { autoClose, newFds, openFds, fdIsOpen, startNodeFixture, startPeer, tempDir } from './helpers.js';

const json = () => new DatagramProtocol(new JSONSerializer());
const strings = () => new DatagramProtocol(new StringSerializer());

/** Why pidfds cannot be tested here (the kernel's own answer), or undefined when they can. */
function unsupportedReason(): string | undefined {
  const [a, b] = UnixDatagramClient.socketpair(strings());
  try {
    b.socket.setPassPidfd(true);
    return undefined;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_UNIXGRAM_UNSUPPORTED') throw err;
    return (err as Error).message;
  } finally {
    void a.close();
    void b.close();
  }
}
const unsupported = unsupportedReason();
const pidfdTest = unsupported === undefined ? test.serial : test.skip;

test.serial('pidfd support: present on this kernel, or refused with ERR_UNIXGRAM_UNSUPPORTED naming it', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(strings()));
  if (unsupported !== undefined) {
    t.log(`pidfd tests skipped: ${unsupported}`);
    t.regex(
      unsupported,
      /^setsockopt ERR_UNIXGRAM_UNSUPPORTED: the running kernel \(Linux .*\) does not support .* it needs Linux 6\.5 or later$/,
    );
    t.false(b.socket.getPassPidfd());
    b.socket.setPassPidfd(false); // off is fine: it is never on
    t.throws(() => a.socket.getPeerPidfd(), { code: 'ERR_UNIXGRAM_UNSUPPORTED' });
    return;
  }
  t.log(`kernel ${fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()} has SO_PASSPIDFD and SO_PEERPIDFD`);
  t.false(b.socket.getPassPidfd());
  b.socket.setPassPidfd(true);
  t.true(b.socket.getPassPidfd());
});

pidfdTest('the batch flag of a pidfd is its own bit, outside the extras and the fd count', (t) => {
  t.is(ENTRY_PIDFD & (ENTRY_EXTRA_MASK | ENTRY_FDS | ENTRY_CREDENTIALS), 0);
  t.true(ENTRY_PIDFD < 1 << ENTRY_FDS_SHIFT);
});

/** The pidfd that came in `ancillary`, failing the test if none did. */
function pidfdOf(t: ExecutionContext, ancillary: SocketAncillary | undefined): Pidfd {
  const pidfd = ancillary?.pidfd;
  if (!pidfd) {
    t.fail('no pidfd came with the datagram');
    throw new Error('no pidfd');
  }
  return pidfd;
}

pidfdTest("a python sender's pidfd names its pid while it runs, reports its exit, and -1 once it is reaped", async (t) => {
  const sockPath = path.join(tempDir(t), 'rx.sock');
  const rx = autoClose(t, await UnixDatagramEndpoint.bind(sockPath, json(), { passPidfd: true }));
  t.true(rx.socket.getPassPidfd());
  const peer = await startPeer(t, 'pidfd_sender.py', [sockPath, 'stay']);

  const { packet, ancillary } = await rx.recvPacketFrom({ timeout: 20 });
  t.deepEqual(packet, { from: 'python', pid: peer.ready.pid });
  const pidfd = pidfdOf(t, ancillary);
  t.true(pidfd.fd >= 0);
  t.is(pidfd.pid, peer.ready.pid);
  t.false(pidfd.exited());
  t.regex(fs.readFileSync(`/proc/${pidfd.pid}/comm`, 'utf8'), /^python/);
  t.false(pidfd.exited(), 'still running after /proc was read: what was read is about the sender');
  t.deepEqual(
    [...ancillary!.messages()].map((m) => m.constructor.name),
    ['SCMPidfd'],
  );
  t.is(ancillary!.fdCount, 0, 'a pidfd is not one of the SCM_RIGHTS descriptors');

  await peer.kill('SIGTERM'); // exited and reaped (by node) once 'close' has fired
  t.true(pidfd.exited());
  t.is(pidfd.pid, -1);
  ancillary!.close();
  t.is(pidfd.fd, -1);
  t.throws(() => pidfd.pid, { code: 'ERR_UNIXGRAM_CLOSED', message: 'the pidfd was stolen or closed' });
  t.throws(() => pidfd.exited(), { code: 'ERR_UNIXGRAM_CLOSED' });
});

pidfdTest('after the sender exits and its pid is reused, SCM_CREDENTIALS names the new process; the pidfd says exited', async (t) => {
  const sockPath = path.join(tempDir(t), 'rx.sock');
  // Nothing is read while nobody waits: the datagram stays queued in the kernel meanwhile.
  const rx = autoClose(t, await UnixDatagramEndpoint.bind(sockPath, json(), { passPidfd: true, passCredentials: true }));
  const sender = await startPeer(t, 'pidfd_sender.py', [sockPath, 'exit']);
  const senderPid = sender.ready.pid as number;
  await sender.waitExit(); // exited, and reaped by node: its number is free

  const impostor = await startPeer(t, 'take_pid.py', [String(senderPid)]); // killed at teardown, and its child with it
  if (impostor.ready.pid === null) {
    t.log(`pid ${senderPid} could not be reused here (${impostor.ready.why}); checking what does not need it`);
  } else {
    t.log(`pid ${senderPid} now belongs to a new process (after ${impostor.ready.tries} fork(s))`);
  }
  const reused = impostor.ready.pid === senderPid;

  const { packet, ancillary } = await rx.recvPacketFrom({ timeout: 20 });
  t.deepEqual(packet, { from: 'python', pid: senderPid });
  const [creds] = ancillary!.credentials;
  // The kernel checked the credentials when they were sent; the number is read now.
  t.is(creds?.pid, senderPid);
  if (reused) {
    t.is(creds!.pid, impostor.ready.pid);
    t.is(fs.readFileSync(`/proc/${creds!.pid}/comm`, 'utf8').trim(), 'ug-impostor', 'the pid names another, live process');
  }
  const pidfd = ancillary!.pidfd;
  const release = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  if (pidfd === undefined) {
    // Linux 6.5–6.15 make no pidfd for a sender reaped before its datagram is read.
    const [major, minor] = release.split('.').map(Number) as [number, number];
    t.true(major === 6 && minor < 16, `no pidfd came, and Linux ${release} should make one (PIDFD_STALE, 6.16+)`);
    t.log(`Linux ${release}: no pidfd for a sender already reaped (6.16+ gives one that reports exit)`);
    return;
  }
  t.true(pidfd.exited(), 'the pidfd knows its process is gone');
  t.is(pidfd.pid, -1, 'and names no pid, where the credentials name the impostor');
  ancillary!.close();
});

pidfdTest('a pidfd nobody takes is closed (no ancillary, close()); a stolen one stays open', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json(), { passPidfd: true }));
  t.true(a.socket.getPassPidfd() && b.socket.getPassPidfd(), 'both ends of the pair');
  const baseline = openFds();

  await a.sendPacket('nobody asked');
  t.is(await b.recvPacket(), 'nobody asked');
  t.deepEqual(newFds(baseline), [], 'received without an ancillary: closed at once');

  await a.sendPacket('closed by close()');
  const closed = new SocketAncillary();
  await b.recvPacket({ ancillary: closed });
  const pidfd = pidfdOf(t, closed);
  const number = pidfd.fd;
  t.is(newFds(baseline).length, 1);
  closed.close();
  t.false(fdIsOpen(number));
  t.is(pidfd.fd, -1);
  t.deepEqual(newFds(baseline), []);
  closed.close(); // idempotent
  pidfd.close();

  await a.sendPacket('steal me');
  const kept = new SocketAncillary();
  t.is(await b.recvPacket({ ancillary: kept }), 'steal me');
  const stolen = pidfdOf(t, kept).steal();
  t.throws(() => kept.pidfd!.steal(), { code: 'ERR_UNIXGRAM_CLOSED', message: 'the pidfd was stolen or closed' });
  kept.close();
  t.true(fdIsOpen(stolen), 'a stolen pidfd outlives the ancillary');
  t.is(pidfdPid(stolen), process.pid);
  t.false(pidfdExited(stolen));
  fs.closeSync(stolen);
  t.deepEqual(newFds(baseline), []);
});

pidfdTest("a datagram that fails to parse closes its sender's pidfd", async (t) => {
  const sockPath = path.join(tempDir(t), 'rx.sock');
  const rx = autoClose(t, await UnixDatagramEndpoint.bind(sockPath, json(), { passPidfd: true }));
  await startPeer(t, 'pidfd_sender.py', [sockPath, 'stay', '{not json']);
  const baseline = openFds(); // the peer's pipes are open by now
  await t.throwsAsync(rx.recvPacketFrom({ timeout: 20 }), { instanceOf: DatagramProtocolParseError });
  t.deepEqual(newFds(baseline), []);
});

pidfdTest('SCM_RIGHTS descriptors and the pidfd of several datagrams in one batch keep to their own datagram', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(strings(), { passPidfd: true }));
  const dir = tempDir(t);
  const files = ['one', 'two', 'three'].map((name) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, name);
    return fs.openSync(file, 'r');
  });
  t.teardown(() => files.forEach((fd) => fs.closeSync(fd)));
  const baseline = openFds();
  // Queued before any receive, so one drain reads them all: [2 fds + pidfd], [pidfd], [1 fd + pidfd].
  const withFds = (fds: number[]) => {
    const out = new SocketAncillary();
    out.addFds(fds);
    return out;
  };
  await a.sendPacket('two fds', { ancillary: withFds([files[0]!, files[1]!]) });
  await a.sendPacket('none');
  await a.sendPacket('one fd', { ancillary: withFds([files[2]!]) });

  const got = [];
  for (let i = 0; i < 3; i++) {
    const ancillary = new SocketAncillary();
    const text = await b.recvPacket({ ancillary });
    const contents = [...ancillary.iterFds()].map((fd) => fs.readFileSync(`/proc/self/fd/${fd}`, 'utf8'));
    got.push({ text, contents, fdCount: ancillary.fdCount, pid: ancillary.pidfd?.pid });
    ancillary.close();
  }
  t.deepEqual(got, [
    { text: 'two fds', contents: ['one', 'two'], fdCount: 2, pid: process.pid },
    { text: 'none', contents: [], fdCount: 0, pid: process.pid },
    { text: 'one fd', contents: ['three'], fdCount: 1, pid: process.pid },
  ]);
  t.deepEqual(newFds(baseline), []);
});

pidfdTest("a server handler sees the sender's pidfd as client.ancillary.pidfd, closed when the step ends", async (t) => {
  const sockPath = path.join(tempDir(t), 'srv.sock');
  const seen: Array<{ pid: number; pidfd: Pidfd }> = [];
  let kept = -1;
  let done!: () => void;
  const handled = new Promise<void>((resolve) => (done = resolve));
  const handler = async (packet: unknown, client: UnixDatagramServerClient<unknown>): Promise<void> => {
    const pidfd = pidfdOf(t, client.ancillary);
    seen.push({ pid: pidfd.pid, pidfd });
    if ((packet as { keep?: boolean }).keep) kept = pidfd.steal();
    if (seen.length === 2) setImmediate(done); // after the server closed what was not stolen
  };
  autoClose(t, await UnixDatagramServer.listen(sockPath, json(), handler, { passPidfd: true }));
  const first = await startPeer(t, 'pidfd_sender.py', [sockPath, 'stay']);
  const baseline = openFds();
  const second = await startPeer(t, 'pidfd_sender.py', [sockPath, 'stay', JSON.stringify({ keep: true })]);
  await handled;
  t.deepEqual(
    seen.map((s) => s.pid),
    [first.ready.pid, second.ready.pid],
  );
  t.is(seen[0]!.pidfd.fd, -1, 'closed when the handler returned');
  t.is(seen[1]!.pidfd.fd, -1, 'stolen');
  t.true(fdIsOpen(kept), 'a stolen one stays open');
  t.is(newFds(baseline).length, 2 + 1, "the second peer's stdout and stderr, and the stolen pidfd");
  t.is(pidfdPid(kept), second.ready.pid);
  await second.kill();
  t.true(pidfdExited(kept));
  fs.closeSync(kept);
});

pidfdTest('a sealed memfd payload keeps its sender pidfd', async (t) => {
  const large = { largePayloads: 'memfd', passPidfd: true } as const;
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(new DatagramProtocol(new BytesSerializer()), large));
  const big = Buffer.alloc(16 << 20, 7); // past what one datagram can carry
  const baseline = openFds();
  const sent = a.sendPacket(big);
  const ancillary = new SocketAncillary();
  const got = await b.recvPacket({ ancillary, timeout: 20 });
  await sent;
  t.true(got.equals(big));
  t.is(ancillary.fdCount, 0, 'the memfd became the payload');
  t.is(ancillary.pidfd?.pid, process.pid);
  ancillary.close();
  t.deepEqual(newFds(baseline), []);
});

pidfdTest("getPeerPidfd() names the process that made a socketpair: python's, handed to us; null when connected", async (t) => {
  const sockPath = path.join(tempDir(t), 'rx.sock');
  const rx = autoClose(t, await UnixDatagramEndpoint.bind(sockPath, json()));
  const peer = await startPeer(t, 'pair_peer.py', [sockPath]);
  const { packet, ancillary } = await rx.recvPacketFrom({ timeout: 20 });
  t.deepEqual(packet, { pid: peer.ready.pid });
  const client = autoClose(t, UnixDatagramClient.fromFd(ancillary!.steal(0), strings()));
  await client.sendPacket('ping');
  t.is(await client.recvPacket({ timeout: 20 }), 'ping', 'the python end answers');

  const pidfd = client.socket.getPeerPidfd();
  t.not(pidfd, null);
  t.is(pidfd!.pid, peer.ready.pid);
  t.is(client.socket.getPeerCredentials()?.pid, peer.ready.pid);
  t.false(pidfd!.exited());
  await peer.kill();
  t.true(pidfd!.exited());
  t.is(pidfd!.pid, -1);
  const number = pidfd!.fd;
  pidfd![Symbol.dispose]();
  t.false(fdIsOpen(number));

  const connected = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));
  t.is(connected.socket.getPeerPidfd(), null, 'a connect()ed datagram socket has no peer process');
});

pidfdTest('passPidfd on every way to make a socket, and in the option lists', async (t) => {
  const dir = tempDir(t);
  const endpoint = autoClose(t, await UnixDatagramEndpoint.bind(path.join(dir, 'ep.sock'), strings(), { passPidfd: true }));
  t.true(endpoint.socket.getPassPidfd());
  const client = autoClose(t, await UnixDatagramClient.connect(path.join(dir, 'ep.sock'), strings(), { passPidfd: true }));
  t.true(client.socket.getPassPidfd());
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(strings()));
  t.false(a.socket.getPassPidfd());
  const adopted = autoClose(t, UnixDatagramClient.fromFd(a.dupFd(), strings(), { passPidfd: true }));
  t.true(adopted.socket.getPassPidfd());
  t.true(a.socket.getPassPidfd(), 'the same socket, through another descriptor');
  autoClose(t, UnixDatagramEndpoint.fromFd(b.dupFd(), strings(), { passPidfd: true }));
  t.true(b.socket.getPassPidfd());
  const bound = autoClose(t, await UnixDatagramEndpoint.bind(path.join(dir, 'srv.sock'), strings()));
  autoClose(
    t,
    UnixDatagramServer.fromFd(bound.dupFd(), strings(), async () => {}, { passPidfd: true }),
  );
  t.true(bound.socket.getPassPidfd());
  t.throws(() => UnixDatagramClient.socketpair(strings(), { passPidfds: true } as never), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /the known options are largePayloads, maxPayloadSize, passPidfd/,
  });
});

pidfdTest('pidfdPid and pidfdExited check their argument and say EBADF for a descriptor that is not a pidfd', (t) => {
  t.throws(() => pidfdPid('3' as never), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => pidfdExited(-1), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => pidfdPid(1.5), { code: 'ERR_OUT_OF_RANGE' });
  const file = fs.openSync('/etc/hostname', 'r');
  try {
    for (const call of [pidfdPid, pidfdExited]) {
      const err = t.throws<Error & { code: string; errno: number; syscall: string }>(() => call(file));
      t.is(err.code, 'EBADF');
      t.is(err.errno, -9);
      t.is(err.syscall, 'read');
      t.is(err.message, `read EBADF: descriptor ${file} is not a pidfd (/proc/self/fdinfo/${file} has no Pid: line)`);
    }
  } finally {
    fs.closeSync(file);
  }
  const err = t.throws<Error & { code: string; errno: number; syscall: string }>(() => pidfdPid(file));
  t.deepEqual(
    [err.code, err.errno, err.syscall, err.message],
    ['EBADF', -9, 'fcntl', 'fcntl EBADF: Bad file number'],
    'a closed descriptor',
  );
});

pidfdTest('pidfds nobody closed (a dropped ancillary, a dropped getPeerPidfd()) are closed by GC; a stolen one is not', async (t) => {
  const child = startNodeFixture(t, 'pidfd-gc.ts', [], { nodeFlags: ['--expose-gc'] });
  t.deepEqual(await child.waitExit(), { code: 0, signal: null }, child.stderr);
  const { dropped, heldAsPidfd, leftOpen, stolenIsPidfd, stolenPid, pid } = JSON.parse(child.lines[0]!);
  t.true(dropped >= 2, `distinct pidfd numbers held by dropped objects: ${dropped}`);
  t.true(heldAsPidfd, 'each dropped object held a pidfd');
  t.deepEqual(leftOpen, [], 'GC closed every dropped pidfd');
  t.true(stolenIsPidfd, 'the stolen pidfd stays open');
  t.is(stolenPid, pid);
});
