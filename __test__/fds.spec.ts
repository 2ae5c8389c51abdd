// SCM_RIGHTS: fds arrive readable and close-on-exec, are owned by the SocketAncillary, and never leak.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import {
  DatagramProtocol,
  DatagramProtocolParseError,
  JSONSerializer,
  SCMRights,
  SocketAncillary,
  UnixDatagramClient,
} from '../src/index.js';
import { autoClose, newFds, openFds, fdFlags, fdIsOpen, hex, makeFifos, O_CLOEXEC, startPeer, tempDir } from './helpers.js';

const json = () => new DatagramProtocol(new JSONSerializer());

function readFd(fd: number): string {
  const buf = Buffer.alloc(256);
  return buf.toString('utf8', 0, fs.readSync(fd, buf, 0, buf.length, null));
}

test.serial('253 fds from python arrive in one datagram, readable, close-on-exec, and close() releases them all', async (t) => {
  const sockPath = path.join(tempDir(t), 'sender.sock');
  const peer = await startPeer(t, 'sender.py', [sockPath, 'fds', '253', hex('{"fds":253}')]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));
  await client.sendPacket('go');
  t.deepEqual(await peer.nextJson(), { sent: 253 });
  await peer.waitExit(); // its stdio pipes are closed now, so our fd count is stable
  const baseline = openFds();

  const ancillary = new SocketAncillary();
  t.deepEqual(await client.recvPacket({ ancillary }), { fds: 253 });
  t.is(ancillary.fdCount, 253);
  t.is(newFds(baseline).length, 253);

  const fds = [...ancillary.iterFds()];
  t.is(fds.length, 253);
  t.is(new Set(fds).size, 253);
  const rights = [...ancillary.messages()].filter((m): m is SCMRights => m instanceof SCMRights);
  t.deepEqual(
    rights.flatMap((m) => [...m.fds]),
    fds,
  );
  fds.forEach((fd, i) => {
    t.is(readFd(fd), `fd-${i}`, `content of fd #${i}`);
    t.is(fdFlags(fd) & O_CLOEXEC, O_CLOEXEC, `fd #${i} is close-on-exec`);
  });

  ancillary.close();
  t.deepEqual(newFds(baseline), []);
  t.false(fds.some(fdIsOpen));
  ancillary.close(); // idempotent
  t.deepEqual(newFds(baseline), []);
});

test.serial('fds we send (pipes we wrote to) reach python, which reads their contents; we keep ours open', async (t) => {
  const dir = tempDir(t);
  const sockPath = path.join(dir, 'echo.sock');
  await startPeer(t, 'echo_server.py', [sockPath]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));
  const contents = ['pipe-0', 'pipe-1', 'pipe-2 ✓'];
  const fifos = makeFifos(t, dir, contents);

  const ancillary = new SocketAncillary();
  ancillary.addFds(fifos);
  await client.sendPacket({ with: 'fds' }, { ancillary });
  const reply = (await client.recvPacket()) as { payload: string; fds: Array<{ data: string }> };
  t.is(reply.payload, '{"with":"fds"}');
  t.deepEqual(
    reply.fds.map((f) => f.data),
    contents,
  );
  t.true(fifos.every(fdIsOpen), 'the caller still owns the fds it sent');
});

test.serial('steal(i) hands one fd to the caller: it stays open after close(), the others are closed', async (t) => {
  const dir = tempDir(t);
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const fifos = makeFifos(t, dir, ['first', 'second']);
  const sending = new SocketAncillary();
  sending.addFds(fifos);
  await a.sendPacket('two fds', { ancillary: sending });
  const baseline = openFds();

  const ancillary = new SocketAncillary();
  t.is(await b.recvPacket({ ancillary }), 'two fds');
  const other = [...ancillary.iterFds()][1]!;
  const stolen = ancillary.steal(0);
  t.throws(() => ancillary.steal(0), { instanceOf: RangeError });
  t.throws(() => ancillary.steal(2), { instanceOf: RangeError });
  ancillary.close();

  t.true(fdIsOpen(stolen));
  t.false(fdIsOpen(other));
  t.is(newFds(baseline).length, 1);
  t.is(readFd(stolen), 'first');
  fs.closeSync(stolen);
  t.deepEqual(newFds(baseline), []);
});

test.serial("one SocketAncillary given to two receives holds both datagrams' fds, in order; close() closes all", async (t) => {
  const dir = tempDir(t);
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const fifos = makeFifos(t, dir, ['one', 'two', 'three']);
  const first = new SocketAncillary();
  first.addFds([fifos[0]!]);
  first.addFds([fifos[1]!]); // a second addFds adds to the first
  await a.sendPacket('first', { ancillary: first });
  const second = new SocketAncillary();
  second.addFds([fifos[2]!]);
  await a.sendPacket('second', { ancillary: second });
  const baseline = openFds();

  const ancillary = new SocketAncillary();
  t.is(ancillary.fdCount, 0);
  t.deepEqual([...ancillary.messages()], []);
  t.is(await b.recvPacket({ ancillary }), 'first');
  t.is(await b.recvPacket({ ancillary }), 'second');
  t.is(ancillary.fdCount, 3);
  t.is(newFds(baseline).length, 3);
  const held = [...ancillary.iterFds()];
  t.deepEqual(
    held.map((fd) => readFd(fd)),
    ['one', 'two', 'three'],
  );
  const third = ancillary.steal(2); // an index past the first datagram's fds
  ancillary.close();
  t.deepEqual(newFds(baseline), [third]);
  fs.closeSync(third);
  ancillary.clear(); // forgets both, and may take the next datagram afresh
  t.is(ancillary.fdCount, 0);
  await a.sendPacket('third', { ancillary: second });
  t.is(await b.recvPacket({ ancillary }), 'third');
  t.is(ancillary.fdCount, 1);
  ancillary.close();
  t.deepEqual(newFds(baseline), []);
});

test.serial('fds of a datagram received without an ancillary option are closed', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const devNull = fs.openSync('/dev/null', 'r');
  t.teardown(() => fs.closeSync(devNull));
  const baseline = openFds();

  const sending = new SocketAncillary();
  sending.addFds([devNull, devNull, devNull]);
  await a.sendPacket('fds nobody asked for', { ancillary: sending });
  t.is(await b.recvPacket(), 'fds nobody asked for');
  t.deepEqual(newFds(baseline), []);
});

test.serial('10 000 fd-carrying datagrams between two clients leak no fd', async (t) => {
  t.timeout(120_000);
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const devNull = fs.openSync('/dev/null', 'r');
  t.teardown(() => fs.closeSync(devNull));
  const baseline = openFds();

  let wrong = 0;
  for (let i = 0; i < 10_000; i++) {
    const sending = new SocketAncillary();
    sending.addFds([devNull]);
    const received = new SocketAncillary();
    const [, packet] = await Promise.all([a.sendPacket(i, { ancillary: sending }), b.recvPacket({ ancillary: received })]);
    if (packet !== i || received.fdCount !== 1) wrong++;
    received.close();
  }
  t.is(wrong, 0);
  t.deepEqual(newFds(baseline), []);
});

test.serial('fds of a datagram that fails to parse are closed too', async (t) => {
  const sockPath = path.join(tempDir(t), 'sender.sock');
  const peer = await startPeer(t, 'sender.py', [sockPath, 'fds', '5', hex('not json')]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));
  await client.sendPacket('go');
  t.deepEqual(await peer.nextJson(), { sent: 5 });
  await peer.waitExit();
  const baseline = openFds();

  const ancillary = new SocketAncillary();
  const err = await t.throwsAsync(client.recvPacket({ ancillary }), { instanceOf: DatagramProtocolParseError });
  t.deepEqual(err.datagram, Buffer.from('not json'));
  t.deepEqual(newFds(baseline), []);
});

test.serial('one batch of datagrams with different fd counts: each gets exactly its own fds, closed independently', async (t) => {
  const dir = tempDir(t);
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  // fds per packet; the receiver starts after all are queued, so they arrive in one batch
  const counts = [0, 1, 3, 0, 2, 0, 1, 0, 0, 4, 1, 0, 2, 0, 0, 3, 0, 1, 0, 2];
  const total = counts.reduce((sum, n) => sum + n, 0);
  const contents = counts.map((n, i) => Array.from({ length: n }, (_, j) => `p${i}-${j}`));
  const fifos = contents.map((list, i) => {
    const sub = path.join(dir, `p${i}`);
    fs.mkdirSync(sub);
    return makeFifos(t, sub, list);
  });
  const inodes = fifos.map((fds) => fds.map((fd) => fs.fstatSync(fd).ino));
  const sending = counts.map((n, i) => {
    if (n === 0) return undefined;
    const ancillary = new SocketAncillary();
    ancillary.addFds(fifos[i]!);
    return ancillary;
  });
  await a.sendPackets(
    counts.map((_, i) => i),
    { ancillary: sending },
  );
  const baseline = openFds();

  // These are received without an ancillary option: their fds must be closed at once.
  const unwanted = new Set([0, 4, 10, 15]);
  const received = new Map<number, SocketAncillary>();
  let open = total;
  for (let i = 0; i < counts.length; i++) {
    const ancillary = unwanted.has(i) ? undefined : new SocketAncillary();
    t.is(await b.recvPacket(ancillary ? { ancillary } : {}), i);
    if (i === 0) t.is(newFds(baseline).length, total, 'every fd of the batch arrived with the first datagram');
    if (ancillary) {
      t.is(ancillary.fdCount, counts[i]!, `fdCount of packet ${i}`);
      t.deepEqual(
        [...ancillary.iterFds()].map((fd) => fs.fstatSync(fd).ino),
        inodes[i],
        `packet ${i} holds exactly its own fds, in order`,
      );
      received.set(i, ancillary);
    } else {
      open -= counts[i]!;
    }
    t.is(newFds(baseline).length, open, `fds open after packet ${i}`);
  }

  // Closing one packet's ancillary closes only its fds.
  const third = received.get(2)!;
  const thirdFds = [...third.iterFds()];
  third.close();
  open -= 3;
  t.is(newFds(baseline).length, open);
  t.false(thirdFds.some(fdIsOpen));
  third.close(); // idempotent
  t.is(newFds(baseline).length, open);
  t.throws(() => third.steal(0), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' });

  // Stealing from one packet takes that packet's fd, and its close() leaves the stolen one open.
  const tenth = received.get(9)!;
  t.throws(() => tenth.steal(4), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' });
  const stolen = tenth.steal(2);
  t.is(fs.fstatSync(stolen).ino, inodes[9]![2]!);
  t.throws(() => tenth.steal(2), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' });
  tenth.close();
  open -= 3;
  t.is(newFds(baseline).length, open);
  t.is(readFd(stolen), 'p9-2');
  fs.closeSync(stolen);
  open -= 1;

  // Every other packet's fds are still open and read as what was written to them.
  for (const [i, ancillary] of received) {
    if (i === 2 || i === 9) continue;
    t.deepEqual([...ancillary.iterFds()].map(readFd), contents[i], `contents of packet ${i}`);
    ancillary.close();
    open -= counts[i]!;
    t.is(newFds(baseline).length, open);
  }
  t.is(open, 0);
  t.deepEqual(newFds(baseline), []);
});

test.serial('a send waiting for room carries the fds its ancillary held when it was called, not ones added after', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const devNull = fs.openSync('/dev/null', 'r');
  const other = fs.openSync(path.join(tempDir(t), 'other'), 'w');
  t.teardown(() => [devNull, other].forEach((fd) => fs.closeSync(fd)));

  // b does not read yet: far more than its queue holds, so the fd-carrying send waits in line
  const filler = Array.from({ length: 2000 }, (_, i) => a.sendPacket(i));
  const ancillary = new SocketAncillary();
  ancillary.addFds([devNull]);
  let settled = false;
  const waiting = a.sendPacket('with fd', { ancillary }).then(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  t.false(settled, 'the premise: the send is still waiting for room');
  ancillary.addFds([other]); // e.g. getting the object ready for the next packet

  const received = new SocketAncillary();
  for (let i = 0; i < filler.length; i++) t.is(await b.recvPacket(), i);
  t.is(await b.recvPacket({ ancillary: received }), 'with fd');
  await Promise.all([...filler, waiting]);
  t.is(received.fdCount, 1);
  t.is(fs.fstatSync([...received.iterFds()][0]!).ino, fs.fstatSync(devNull).ino);
  received.close();
});

test.serial('using incoming = new SocketAncillary(): received fds not stolen are closed at the end of the scope', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const file = fs.openSync('/dev/null', 'r');
  t.teardown(() => fs.closeSync(file));
  const out = new SocketAncillary();
  out.addFds([file, file]);
  await a.sendPacket('two fds', { ancillary: out });
  const before = openFds();
  let kept: number;
  {
    using incoming = new SocketAncillary();
    t.is(await b.recvPacket({ ancillary: incoming }), 'two fds');
    t.is(newFds(before).length, 2);
    kept = incoming.steal(1);
  }
  t.is(newFds(before).length, 1, 'the one not stolen was closed when the scope ended');
  t.true(fdIsOpen(kept));
  fs.closeSync(kept);
});
