// UnixDatagramEndpoint: an unconnected socket bound at a path (or abstract, autobound, unnamed)
// that receives from python senders it never connected to, with their addresses, and sends to
// any address; per-receiver send queues; sendPacketsTo to many receivers; fds; adopted fds
// (UnixDatagramEndpoint.fromFd and UnixDatagramServer.fromFd on a socket python bound).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  BytesSerializer,
  DatagramProtocol,
  SocketAncillary,
  StringSerializer,
  UnixDatagramClient,
  UnixDatagramEndpoint,
  UnixDatagramServer,
  type SystemError,
} from '../src/index.js';
import {
  abstractName,
  autoClose,
  closeQuietly,
  newFds,
  openFds,
  FIXTURES_DIR,
  LineProcess,
  PEERS_DIR,
  startPeer,
  tempDir,
} from './helpers.js';

const strings = () => new DatagramProtocol(new StringSerializer());
const hexOf = (text: string): string => Buffer.from(text).toString('hex');

/** A socket file nobody is bound to any more: python binds it and exits. */
function deadSocket(file: string): void {
  execFileSync('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(sys.argv[1])', file]);
}

test('bound at a path, it receives from python senders it never connected to, with their addresses, and answers', async (t) => {
  const file = path.join(tempDir(t), 'daemon.sock');
  const endpoint = autoClose(t, await UnixDatagramEndpoint.bind(file, strings()));
  t.deepEqual(endpoint.getLocalName(), { path: file });
  const unnamed = await startPeer(t, 'datagrams.py', ['send', file, 'unbound', hexOf('from logger')]);
  const first = await endpoint.recvPacketFrom({ timeout: 20 });
  t.is(first.packet, 'from logger');
  t.deepEqual(first.address, { unnamed: true });
  t.is(first.ancillary, undefined);
  await unnamed.waitExit();
  await t.throwsAsync(endpoint.sendPacketTo('no', first.address), { code: 'ERR_UNIXGRAM_UNNAMED_PEER' });

  const asker = await startPeer(t, 'datagrams.py', ['ask', file, hexOf('ping'), hexOf('again')]);
  for (const expected of ['ping', 'again']) {
    const { packet, address } = await endpoint.recvPacketFrom({ timeout: 20 });
    t.is(packet, expected);
    t.true('abstract' in address, 'python autobound: an abstract name');
    await endpoint.sendPacketTo(packet.toUpperCase(), address);
    t.deepEqual(await asker.nextJson(), { reply: hexOf(expected.toUpperCase()) });
  }
});

/** The abstract names of a `datagrams.py turns` peer's senders, as the API reports them. */
const turnsNames = (ready: Record<string, any>): string[] =>
  (ready.senders as { abstract_hex: string }[]).map((s) => Buffer.from(s.abstract_hex, 'hex').toString('utf8'));

// The binding names a sender it told before by a slot, and remembers 64 (batch.rs,
// SENDER_SLOTS): 5 senders return to their slots; 70 push the oldest out, again and again.
for (const senders of [5, 70]) {
  test(`${senders} python senders taking turns: every datagram comes with its own sender; a server gives each its own client`, async (t) => {
    const rounds = 3;
    const expected: string[] = [];
    for (let round = 0; round < rounds; round++) for (let i = 0; i < senders; i++) expected.push(`${i} ${round}`);

    const file = path.join(tempDir(t), 'turns.sock');
    const endpoint = autoClose(t, await UnixDatagramEndpoint.bind(file, strings()));
    const peer = await startPeer(t, 'datagrams.py', ['turns', file, String(senders), String(rounds)]);
    const names = turnsNames(peer.ready);
    const got: string[] = [];
    const wrong: string[] = [];
    for await (const { packet, address } of endpoint.iterReceivedPacketsFrom({ timeout: 20 })) {
      got.push(packet);
      const from = names[Number(packet.split(' ')[0])];
      if (!('abstract' in address) || address.abstract !== from) wrong.push(`${packet} from ${JSON.stringify(address)}`);
      if (got.length === expected.length) break;
    }
    t.deepEqual(got, expected);
    t.deepEqual(wrong, [], 'each datagram has its own sender');
    await peer.waitExit();

    const seen = new Map<string, string[]>();
    const server = autoClose(
      t,
      await UnixDatagramServer.listen(path.join(tempDir(t), 'server.sock'), strings(), (packet, client) => {
        const address = client.address;
        const key = 'abstract' in address ? address.abstract : JSON.stringify(address);
        seen.set(key, [...(seen.get(key) ?? []), packet]);
      }),
    );
    const name = server.getLocalName();
    const serverPeer = await startPeer(t, 'datagrams.py', ['turns', 'path' in name ? name.path : '', String(senders), String(rounds)]);
    await serverPeer.waitExit();
    const count = (): number => [...seen.values()].reduce((n, v) => n + v.length, 0);
    for (const start = Date.now(); count() < expected.length && Date.now() - start < 20_000;) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const serverNames = turnsNames(serverPeer.ready);
    t.deepEqual(
      [...seen.entries()].sort(([a], [b]) => serverNames.indexOf(a) - serverNames.indexOf(b)),
      serverNames.map((n, i) => [n, Array.from({ length: rounds }, (_, round) => `${i} ${round}`)]),
      'per sender its own datagrams, in order',
    );
  });
}

test('sendPacketsTo sends to three python receivers in one call, each gets its own in order', async (t) => {
  const dir = tempDir(t);
  const files = [0, 1, 2].map((i) => path.join(dir, `r${i}.sock`));
  const peers = await Promise.all(files.map((f) => startPeer(t, 'datagrams.py', ['record', f, '4'])));
  const endpoint = autoClose(t, await UnixDatagramEndpoint.bind(null, strings()));
  const items = [];
  for (let n = 0; n < 4; n++) for (const [i, f] of files.entries()) items.push({ packet: `r${i}-${n}`, address: f });
  await endpoint.sendPacketsTo(items);
  for (const [i, peer] of peers.entries()) {
    for (let n = 0; n < 4; n++) {
      const line = await peer.nextJson();
      t.is(Buffer.from(line.hex as string, 'hex').toString(), `r${i}-${n}`);
      t.deepEqual(line.sender, { unnamed: true });
    }
  }
});

test('a receiver whose queue is full holds back only the sends to it; they all arrive in order once it reads', async (t) => {
  const dir = tempDir(t);
  const held = path.join(dir, 'held.sock');
  const open = path.join(dir, 'open.sock');
  const holder = await startPeer(t, 'held_receiver.py', [held]);
  const recorder = await startPeer(t, 'datagrams.py', ['record', open, '1']);
  const endpoint = autoClose(t, await UnixDatagramEndpoint.bind(path.join(dir, 'ep.sock'), strings()));
  let settled = 0;
  const toHeld = Array.from({ length: 30 }, (_, i) => endpoint.sendPacketTo(`m${i}`, held).then(() => settled++));
  await endpoint.sendPacketTo('not held up', open);
  t.is(Buffer.from((await recorder.nextJson()).hex as string, 'hex').toString(), 'not held up');
  t.true(settled < 30, 'the held receiver queue (max_dgram_qlen) took only part of it');
  holder.child.kill('SIGUSR1');
  await Promise.all(toHeld);
  await endpoint.sendPacketTo('END', held);
  t.deepEqual(
    (await holder.nextJson()).got,
    Array.from({ length: 30 }, (_, i) => `m${i}`),
  );
});

test('sendPacketsTo with a receiver that is gone: the others still get theirs, then it rejects with the error and sent', async (t) => {
  const dir = tempDir(t);
  const dead = path.join(dir, 'dead.sock');
  deadSocket(dead);
  const live = path.join(dir, 'live.sock');
  const recorder = await startPeer(t, 'datagrams.py', ['record', live, '3']);
  const endpoint = autoClose(t, await UnixDatagramEndpoint.bind({ autobind: true }, strings()));
  const items = ['a', 'x', 'b', 'y', 'c'].map((p) => ({ packet: p, address: 'abc'.includes(p) ? live : dead }));
  const err = await t.throwsAsync<SystemError & { sent: number }>(endpoint.sendPacketsTo(items), { code: 'ECONNREFUSED' });
  t.is(err.address, dead);
  t.is(err.sent, 3);
  for (const expected of ['a', 'b', 'c']) t.is(Buffer.from((await recorder.nextJson()).hex as string, 'hex').toString(), expected);
});

test('descriptors: a python sender passes memfds and pipes; they arrive in the ancillary, ours to read and close', async (t) => {
  const dir = tempDir(t);
  const senderPath = path.join(dir, 'sender.sock');
  const sender = await startPeer(t, 'sender.py', [senderPath, 'fds', '3', hexOf('with fds')]);
  const endpoint = autoClose(t, await UnixDatagramEndpoint.bind(path.join(dir, 'ep.sock'), strings()));
  await endpoint.sendPacketTo('go', senderPath);
  const { packet, address, ancillary } = await endpoint.recvPacketFrom({ timeout: 20 });
  t.is(packet, 'with fds');
  t.deepEqual(address, { path: senderPath });
  t.truthy(ancillary);
  t.is(ancillary!.fdCount, 3);
  for (let i = 0; i < 3; i++) {
    const fd = ancillary!.steal(i);
    const buf = Buffer.alloc(16);
    const n = fs.readSync(fd, buf, 0, 16, null);
    t.is(buf.toString('utf8', 0, n), `fd-${i}`);
    fs.closeSync(fd);
  }
  await sender.waitExit();
});

test('sending descriptors: sendPacketTo with an ancillary reaches a python receiver with the fd', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'fds.sock');
  const peer = await startPeer(t, 'bound_fd_receiver.py', [file]);
  const endpoint = autoClose(t, await UnixDatagramEndpoint.bind(null, strings()));
  const note = path.join(dir, 'note.txt');
  fs.writeFileSync(note, 'passed along');
  const fd = fs.openSync(note, 'r');
  t.teardown(() => closeQuietly(fd));
  const ancillary = new SocketAncillary();
  ancillary.addFds([fd]);
  await endpoint.sendPacketTo('here', file, { ancillary });
  t.deepEqual(await peer.nextJson(), { data: 'here', contents: ['passed along'] });
});

test('abstract, autobound and unnamed endpoints talk to each other', async (t) => {
  const name = abstractName('ep');
  const a = autoClose(t, await UnixDatagramEndpoint.bind(`\0${name}`, strings()));
  const b = autoClose(t, await UnixDatagramEndpoint.bind({ autobind: true }, strings()));
  const c = autoClose(t, await UnixDatagramEndpoint.bind({ unnamed: true }, strings()));
  t.deepEqual(a.getLocalName(), { abstract: name });
  t.true('abstract' in b.getLocalName());
  t.deepEqual(c.getLocalName(), { unnamed: true });
  await b.sendPacketTo('from b', { abstract: name });
  await c.sendPacketTo('from c', `\0${name}`);
  const fromB = await a.recvPacketFrom({ timeout: 20 });
  t.deepEqual(fromB.address, b.getLocalName());
  t.deepEqual((await a.recvPacketFrom({ timeout: 20 })).address, { unnamed: true });
  await a.sendPacketTo('to b', fromB.address);
  t.like(await b.recvPacketFrom({ timeout: 20 }), { packet: 'to b', address: { abstract: name } });
});

test.serial('bad arguments are coded errors before any socket exists; an adopted fd that is no datagram socket stays open', async (t) => {
  const before = openFds();
  const bytes = new DatagramProtocol(new BytesSerializer());
  await t.throwsAsync(UnixDatagramEndpoint.bind(42 as never, bytes), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.throwsAsync(UnixDatagramEndpoint.bind('/tmp/x.sock', {} as never), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.throwsAsync(UnixDatagramEndpoint.bind(`\0${abstractName()}`, bytes, { mode: 0o600 }), { code: 'ERR_INVALID_ARG_VALUE' });
  await t.throwsAsync(UnixDatagramEndpoint.bind(null, bytes, { removeStale: true }), { code: 'ERR_INVALID_ARG_VALUE' });
  await t.throwsAsync(UnixDatagramEndpoint.bind(null, bytes, { mdoe: 1 } as never), { code: 'ERR_INVALID_ARG_VALUE', message: /mdoe/ });
  await t.throwsAsync(UnixDatagramEndpoint.bind({ autobind: 'yes' } as never, bytes), { code: 'ERR_INVALID_ARG_VALUE' });
  t.deepEqual(newFds(before), [], 'no socket was created');
  t.throws(() => UnixDatagramEndpoint.fromFd(-1, bytes), { code: 'ERR_OUT_OF_RANGE' });
  const file = path.join(tempDir(t), 'plain');
  fs.writeFileSync(file, '');
  const fd = fs.openSync(file, 'r');
  t.teardown(() => closeQuietly(fd));
  t.throws(() => UnixDatagramEndpoint.fromFd(fd, bytes), { code: 'ERR_UNIXGRAM_NOT_UNIX_DGRAM' });
  t.notThrows(() => fs.fstatSync(fd), 'still open, still the caller’s');

  const endpoint = autoClose(t, await UnixDatagramEndpoint.bind(null, bytes));
  await t.throwsAsync(endpoint.sendPacketTo(Buffer.from('x'), 7 as never), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.throwsAsync(endpoint.sendPacketTo(Buffer.from('x'), '/tmp/x', { timout: 1 } as never), { code: 'ERR_INVALID_ARG_VALUE' });
  await t.throwsAsync(endpoint.sendPacketsTo(5 as never), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.throwsAsync(endpoint.sendPacketsTo([{ packet: Buffer.from('x'), address: { unnamed: true } }]), {
    code: 'ERR_UNIXGRAM_UNNAMED_PEER',
  });
  await t.throwsAsync(endpoint.recvPacketFrom({ ancillary: new SocketAncillary() } as never), { code: 'ERR_INVALID_ARG_VALUE' });
  const missing = path.join(tempDir(t), 'nobody.sock');
  t.like(await t.throwsAsync<SystemError>(endpoint.sendPacketTo(Buffer.from('x'), missing)), { code: 'ENOENT', address: missing });
});

test('mode is on the socket file when it appears, removeStale clears a dead one, close unlinks only its own file', async (t) => {
  const file = path.join(tempDir(t), 'mode.sock');
  deadSocket(file);
  await t.throwsAsync(UnixDatagramEndpoint.bind(file, strings()), { code: 'EADDRINUSE' });
  const endpoint = await UnixDatagramEndpoint.bind(file, strings(), { removeStale: true, mode: 0o600 });
  const st = fs.lstatSync(file);
  t.true(st.isSocket());
  t.is(st.mode & 0o777, 0o600);
  await endpoint.close();
  t.false(fs.existsSync(file), 'its own socket file is unlinked on close');
  await endpoint.close();
});

test('for await yields until close; a timeout budget ends iterReceivedPacketsFrom; a signal closes the endpoint', async (t) => {
  const name = `\0${abstractName('it')}`;
  const endpoint = await UnixDatagramEndpoint.bind(name, strings());
  const sender = autoClose(t, await UnixDatagramClient.connect(name, strings()));
  for (const p of ['1', '2', '3']) await sender.sendPacket(p);
  const seen: string[] = [];
  for await (const { packet } of endpoint) {
    seen.push(packet);
    if (seen.length === 3) setTimeout(() => void endpoint.close(), 20);
  }
  t.deepEqual(seen, ['1', '2', '3']);

  const other = autoClose(t, await UnixDatagramEndpoint.bind(null, strings()));
  const started = Date.now();
  for await (const _ of other.iterReceivedPacketsFrom({ timeout: 0.2 })) t.fail();
  t.true(Date.now() - started >= 150);

  const controller = new AbortController();
  const signalled = await UnixDatagramEndpoint.bind(null, strings(), { signal: controller.signal });
  const pending = signalled.recvPacketFrom();
  controller.abort();
  await t.throwsAsync(pending, { code: 'ERR_UNIXGRAM_CLOSED' });
  t.true(signalled.closed);
  await t.throwsAsync(UnixDatagramEndpoint.bind(null, strings(), { signal: controller.signal }), { name: 'AbortError' });
});

for (const kind of ['server', 'endpoint'] as const) {
  test(`${kind === 'server' ? 'UnixDatagramServer' : 'UnixDatagramEndpoint'}.fromFd serves on a socket python bound and passed to another node process; it leaves the file`, async (t) => {
    const file = path.join(tempDir(t), `${kind}.sock`);
    const proc = new LineProcess('spawn_bound.py', 'python3', [
      path.join(PEERS_DIR, 'spawn_bound.py'),
      file,
      process.execPath,
      '--import',
      'tsx',
      path.join(FIXTURES_DIR, 'from-fd-serve.ts'),
      kind,
    ]);
    t.teardown(() => proc.kill());
    t.deepEqual(await proc.nextJson(), { ready: true, local: { path: file } });
    const client = autoClose(t, await UnixDatagramClient.connect(file, strings()));
    await client.sendPacket('hello');
    t.is(await client.recvPacket({ timeout: 20 }), 'HELLO');
    await client.sendPacket('stop');
    t.deepEqual(await proc.nextJson(), { closed: true });
    t.is((await proc.waitExit()).code, 0);
    t.true(fs.lstatSync(file).isSocket(), 'a socket file it did not create is left in place');
  });
}

test('sendPacketsTo past a full receiver: the others get theirs at once, the rest waits; a timed-out send is never sent', async (t) => {
  const dir = tempDir(t);
  const held = path.join(dir, 'held.sock');
  const open = path.join(dir, 'open.sock');
  const holder = await startPeer(t, 'held_receiver.py', [held]);
  const recorder = await startPeer(t, 'datagrams.py', ['record', open, '3']);
  const endpoint = autoClose(t, await UnixDatagramEndpoint.bind(null, strings()));
  const items = [];
  for (let i = 0; i < 30; i++) {
    items.push({ packet: `h${i}`, address: held });
    if (i % 10 === 9) items.push({ packet: `o${(i - 9) / 10}`, address: open });
  }
  let done = false;
  const call = endpoint.sendPacketsTo(items).then(() => (done = true));
  for (const expected of ['o0', 'o1', 'o2']) t.is(Buffer.from((await recorder.nextJson()).hex as string, 'hex').toString(), expected);
  t.false(done, 'the held receiver still has datagrams waiting');
  await t.throwsAsync(endpoint.sendPacketTo('late', held, { timeout: 0.05 }), { name: 'TimeoutError', code: 'ETIMEDOUT' });
  holder.child.kill('SIGUSR1');
  await call;
  await endpoint.sendPacketTo('END', held);
  t.deepEqual(
    (await holder.nextJson()).got,
    Array.from({ length: 30 }, (_, i) => `h${i}`),
  );
});

test('a bound endpoint queues max_dgram_qlen + 1 datagrams from a sender, whatever SO_RCVBUF says (README)', async (t) => {
  const qlen = Number(fs.readFileSync('/proc/sys/net/unix/max_dgram_qlen', 'utf8'));
  const file = path.join(tempDir(t), 'queue.sock');
  const endpoint = autoClose(t, await UnixDatagramEndpoint.bind(file, strings()));
  endpoint.socket.setReceiveBufferSize(8 << 20);
  // A python sender, non-blocking, with room in its own SO_SNDBUF for far more: it counts
  // what the queue takes until EAGAIN (the endpoint reads nothing: nobody receives).
  const fill = [
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    's.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)',
    's.connect(sys.argv[1]); s.setblocking(False); n = 0',
    'try:\n    while n < 100000: s.send(b"x" * 64); n += 1\nexcept BlockingIOError: pass',
    'print(n)',
  ].join('\n');
  const queued = Number(execFileSync('python3', ['-c', fill, file], { encoding: 'utf8' }));
  // (A queue set above ~500 is bounded first by the sender's SO_SNDBUF, ~768 B per small datagram.)
  if (qlen <= 256) t.is(queued, qlen + 1);
  else t.true(queued > 256, `${queued} queued with max_dgram_qlen ${qlen}`);
  let received = 0;
  for await (const _ of endpoint.iterReceivedPacketsFrom({ timeout: 0.2 })) received++;
  t.is(received, queued, 'all of them arrive');
});
