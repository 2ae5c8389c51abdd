// Handing sockets to other processes: dupFd() into a child's stdio and fromFd(3) there, JSON and fds both ways
// (a pipe the parent writes and the child reads, a file the child opens), and a socket sent as an fd over another
// unixgram socket and adopted with fromFd on the other side.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DatagramProtocol, JSONSerializer, SocketAncillary, StringSerializer, UnixDatagramClient } from '../src/index.js';
import { autoClose, fdFlags, O_CLOEXEC, startNodeFixture, tempDir } from './helpers.js';

type Message = { op: string; [key: string]: unknown };
const json = () => new DatagramProtocol(new JSONSerializer<Message, Message>());
const guard = { timeout: 20 }; // a failure guard: every receive below is answered by the peer

function linkOf(fd: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

test('dupFd() returns a new close-on-exec fd for the same socket; the client keeps its own', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(new DatagramProtocol(new StringSerializer())));
  const fd = b.dupFd(); // closed below by viaDup.close(); never close by number in a teardown (the number is reused)
  t.not(fd, b.socket.fd);
  t.true(fd > 2);
  t.is(fdFlags(fd) & O_CLOEXEC, O_CLOEXEC);
  const inode = fs.readlinkSync(`/proc/self/fd/${b.socket.fd}`);
  t.is(fs.readlinkSync(`/proc/self/fd/${fd}`), inode); // the same socket

  const viaDup = UnixDatagramClient.fromFd(fd, new DatagramProtocol(new StringSerializer()));
  await a.sendPacket('to the dup');
  t.is(await viaDup.recvPacket(guard), 'to the dup');
  await viaDup.close(); // closes the duplicate only (its number may already serve another test's fd)
  t.not(linkOf(fd), inode);
  await a.sendPacket('to the original');
  t.is(await b.recvPacket(guard), 'to the original');

  await b.close();
  t.throws(() => b.dupFd(), { code: 'ERR_UNIXGRAM_CLOSED' });
});

test('a child process adopts a socketpair end at fd 3; JSON and fds go both ways', async (t) => {
  const dir = tempDir(t);
  const [mine, theirs] = UnixDatagramClient.socketpair(json());
  autoClose(t, mine);
  const handed = theirs.dupFd();
  const child = startNodeFixture(t, 'handoff-child.ts', [dir], { stdio3: handed });
  fs.closeSync(handed); // the child has its own copy at fd 3 now
  await theirs.close();

  const hello = await mine.recvPacket(guard);
  t.deepEqual(hello, { op: 'hello', pid: child.child.pid, peer: { unnamed: true } });

  // A pipe: we keep the write end, the child gets the read end and reads it to EOF.
  const fifo = path.join(dir, 'pipe');
  execFileSync('mkfifo', [fifo]);
  const writeEnd = fs.openSync(fifo, fs.constants.O_RDWR); // never blocks on Linux
  const readEnd = fs.openSync(fifo, fs.constants.O_RDONLY); // a writer exists: no block either
  const outgoing = new SocketAncillary();
  outgoing.addFds([readEnd]);
  await mine.sendPacket({ op: 'read-pipe' }, { ancillary: outgoing });
  fs.closeSync(readEnd);
  const text = 'through a pipe handed over a unixgram socket ✓\n'.repeat(100);
  fs.writeSync(writeEnd, text);
  fs.closeSync(writeEnd); // the child sees EOF
  t.deepEqual(await mine.recvPacket(guard), { op: 'pipe', contents: text });

  // A file the child opened, read here through the received fd.
  const incoming = new SocketAncillary();
  t.deepEqual(await mine.recvPacket({ ...guard, ancillary: incoming }), { op: 'file' });
  t.is(incoming.fdCount, 1);
  const fileFd = incoming.steal(0);
  t.is(fdFlags(fileFd) & O_CLOEXEC, O_CLOEXEC);
  t.is(fs.readFileSync(fileFd, 'utf8'), `written by ${child.child.pid}\n`);
  fs.closeSync(fileFd);

  // A socket: one end of a new pair goes to the child as an fd, and we talk through it.
  const [near, far] = UnixDatagramClient.socketpair(json());
  autoClose(t, near);
  const farFd = far.dupFd();
  const withSocket = new SocketAncillary();
  withSocket.addFds([farFd]);
  await mine.sendPacket({ op: 'socket' }, { ancillary: withSocket });
  fs.closeSync(farFd);
  await far.close();
  t.deepEqual(await near.recvPacket(guard), { op: 'via-handed-off-socket', pid: child.child.pid });
  await near.sendPacket({ op: 'answer', n: 42 });

  t.deepEqual(await mine.recvPacket(guard), { op: 'bye', answer: { op: 'answer', n: 42 } });
  t.deepEqual(await child.waitExit(), { code: 0, signal: null }, child.stderr);
});

test('a socket sent as an fd over another unixgram socket is adopted with fromFd and works', async (t) => {
  const [carrierA, carrierB] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const [kept, sent] = UnixDatagramClient.socketpair(new DatagramProtocol(new StringSerializer()));
  autoClose(t, kept);

  const fd = sent.dupFd();
  const outgoing = new SocketAncillary();
  outgoing.addFds([fd]);
  await carrierA.sendPacket({ op: 'take this socket' }, { ancillary: outgoing });
  fs.closeSync(fd);
  await sent.close(); // only the copy in flight remains

  const incoming = new SocketAncillary();
  t.deepEqual(await carrierB.recvPacket({ ...guard, ancillary: incoming }), { op: 'take this socket' });
  const adopted = autoClose(t, UnixDatagramClient.fromFd(incoming.steal(0), new DatagramProtocol(new StringSerializer())));
  t.deepEqual(adopted.getPeerName(), { unnamed: true });

  await kept.sendPacket('hello, adopted');
  t.is(await adopted.recvPacket(guard), 'hello, adopted');
  await adopted.sendPacket('hello back');
  t.is(await kept.recvPacket(guard), 'hello back');
});
