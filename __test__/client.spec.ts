// UnixDatagramClient against a real peer (python3 `socket`) and between two of our own clients.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BytesSerializer, DatagramProtocol, JSONSerializer, SocketAncillary, StringSerializer, UnixDatagramClient } from '../src/index.js';
import { abstractName, atName, autoClose, hex, newFds, openFds, pattern, startPeer, tempDir } from './helpers.js';

const json = () => new DatagramProtocol(new JSONSerializer());
const bytes = () => new DatagramProtocol(new BytesSerializer());
const strings = () => new DatagramProtocol(new StringSerializer());

test('JSON packets round-trip through a python echo server bound to a filesystem path', async (t) => {
  const sockPath = path.join(tempDir(t), 'echo.sock');
  await startPeer(t, 'echo_server.py', [sockPath]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));

  const packet = { hello: 'world', n: [1, 2.5, null], nested: { ok: true, text: 'ünïcödé' } };
  await client.sendPacket(packet);
  t.deepEqual(await client.recvPacket(), packet);
  t.deepEqual(client.getPeerName(), { path: sockPath });
});

test('JSON packets round-trip through a python echo server bound to an exact abstract name', async (t) => {
  const name = abstractName('client');
  await startPeer(t, 'echo_server.py', [atName(name)]);
  const client = autoClose(t, await UnixDatagramClient.connect({ abstract: name }, json()));

  await client.sendPacket({ via: 'abstract' });
  t.deepEqual(await client.recvPacket(), { via: 'abstract' });
  t.deepEqual(client.getPeerName(), { abstract: name });
});

test('getLocalName() is an autobind abstract name of 5 hex digits by default', async (t) => {
  const sockPath = path.join(tempDir(t), 'echo.sock');
  await startPeer(t, 'echo_server.py', [sockPath]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));

  const local = client.getLocalName();
  t.deepEqual(Object.keys(local), ['abstract']);
  t.regex((local as { abstract: string }).abstract, /^[0-9a-f]{5}$/);
});

test('getLocalName() is unnamed with localAddress: null', async (t) => {
  const sockPath = path.join(tempDir(t), 'echo.sock');
  const peer = await startPeer(t, 'echo_server.py', [sockPath]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json(), { localAddress: null }));

  t.deepEqual(client.getLocalName(), { unnamed: true });
  await client.sendPacket('from nowhere');
  const seen = await peer.nextJson();
  t.deepEqual(seen.sender, { unnamed: true });
});

test('getLocalName() is the given path with localAddress: <path>, and the peer sees that path', async (t) => {
  const dir = tempDir(t);
  const sockPath = path.join(dir, 'echo.sock');
  const localPath = path.join(dir, 'me.sock');
  await startPeer(t, 'echo_server.py', [sockPath]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json(), { localAddress: localPath }));

  t.deepEqual(client.getLocalName(), { path: localPath });
  t.true(fs.statSync(localPath).isSocket());
  await client.sendPacket('describe');
  const reply = (await client.recvPacket()) as { sender: unknown };
  t.deepEqual(reply.sender, { path: localPath });
});

test('a localAddress path is unlinked by close(), and by a connect that fails', async (t) => {
  const dir = tempDir(t);
  const sockPath = path.join(dir, 'echo.sock');
  const localPath = path.join(dir, 'me.sock');
  // Nothing listens: the bind succeeds, the connect fails, and the file goes with the socket.
  const err = await t.throwsAsync(UnixDatagramClient.connect(sockPath, json(), { localAddress: localPath }), { code: 'ENOENT' });
  t.like(err, { syscall: 'connect', address: sockPath });
  t.false(fs.existsSync(localPath), 'a failed connect leaves no socket file');
  await startPeer(t, 'echo_server.py', [sockPath]);
  const client = await UnixDatagramClient.connect(sockPath, json(), { localAddress: localPath });
  t.true(fs.lstatSync(localPath).isSocket());
  await client.close();
  t.false(fs.existsSync(localPath), 'close() removes the file it bound');
  // A file that replaced it is not the client's, and stays.
  const again = await UnixDatagramClient.connect(sockPath, json(), { localAddress: localPath });
  fs.unlinkSync(localPath);
  fs.writeFileSync(localPath, 'not a socket');
  await again.close();
  t.is(fs.readFileSync(localPath, 'utf8'), 'not a socket');
});

test('a 0-byte datagram from python arrives as an empty packet', async (t) => {
  const name = abstractName('empty');
  const peer = await startPeer(t, 'sender.py', [atName(name), 'raw', '', '6e657874']);
  const client = autoClose(t, await UnixDatagramClient.connect({ abstract: name }, bytes()));

  await client.sendPacket(Buffer.from('go'));
  const first = await client.recvPacket();
  t.true(Buffer.isBuffer(first));
  t.is(first.length, 0);
  t.deepEqual(await client.recvPacket(), Buffer.from('next'));
  t.deepEqual(await peer.nextJson(), { sent: 2 });
});

test('a 0-byte packet we send is echoed back as a 0-byte packet', async (t) => {
  const name = abstractName('empty-echo');
  const peer = await startPeer(t, 'echo_server.py', [atName(name)]);
  const client = autoClose(t, await UnixDatagramClient.connect({ abstract: name }, bytes()));

  await client.sendPacket(new Uint8Array(0));
  t.is((await client.recvPacket()).length, 0);
  t.is((await peer.nextJson()).received, 0);
});

test('a 1 MB datagram from python arrives whole', async (t) => {
  const name = abstractName('big-in');
  const size = 1024 * 1024;
  const peer = await startPeer(t, 'sender.py', [atName(name), 'big', String(size)]);
  const client = autoClose(t, await UnixDatagramClient.connect({ abstract: name }, bytes()));

  await client.sendPacket(Buffer.from('go'));
  const packet = await client.recvPacket();
  t.deepEqual(await peer.nextJson(), { sent: size });
  t.is(packet.length, size);
  t.true(packet.equals(pattern(size)));
});

test('a 1 MB packet we send reaches python whole (sendPacket raises SO_SNDBUF) and is echoed back whole', async (t) => {
  const name = abstractName('big-out');
  const size = 1024 * 1024;
  const peer = await startPeer(t, 'echo_server.py', [atName(name)]);
  const client = autoClose(t, await UnixDatagramClient.connect({ abstract: name }, bytes()));

  const data = pattern(size);
  await client.sendPacket(data);
  t.true(client.socket.maxDatagramSize >= size);
  t.is((await peer.nextJson()).received, size);
  const echoed = await client.recvPacket();
  t.is(echoed.length, size);
  t.true(echoed.equals(data));
});

test('iterReceivedPackets({ timeout: 0 }) yields exactly the queued packets, then ends', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  for (let i = 0; i < 5; i++) await a.sendPacket({ i });

  const got: unknown[] = [];
  for await (const packet of b.iterReceivedPackets({ timeout: 0 })) got.push(packet);
  t.deepEqual(
    got,
    [0, 1, 2, 3, 4].map((i) => ({ i })),
  );

  // nothing was lost or kept back: the next packet is the next one sent
  await a.sendPacket({ i: 5 });
  t.deepEqual(await b.recvPacket(), { i: 5 });
});

test('a 1 MB string goes out through the text path whole (sendPacket raises SO_SNDBUF) and is echoed back whole', async (t) => {
  const name = abstractName('big-text');
  const peer = await startPeer(t, 'echo_server.py', [atName(name)]);
  const client = autoClose(t, await UnixDatagramClient.connect({ abstract: name }, new DatagramProtocol(new StringSerializer())));

  const text = 'ünï 😀 '.repeat(80_000); // 1.04 MB of UTF-8
  const size = Buffer.byteLength(text);
  await client.sendPacket(text);
  t.true(client.socket.maxDatagramSize >= size);
  t.is((await peer.nextJson()).received, size);
  t.is(await client.recvPacket(), text);
});

test('JSONSerializer and StringSerializer: serializeText is what serialize sends, as UTF-8', (t) => {
  const samples: Array<[JSONSerializer | StringSerializer, unknown]> = [
    [new JSONSerializer(), { a: 'données ✓ 😀', n: [1, 2.5, null], lone: '\ud800' }],
    [new StringSerializer(), 'plain'],
    [new StringSerializer(), 'données ✓ 😀 and a lone \udc00'],
  ];
  for (const [serializer, packet] of samples) {
    const text = (serializer.serializeText as (p: unknown) => string)(packet);
    t.deepEqual(Buffer.from((serializer.serialize as (p: unknown) => Uint8Array)(packet)), Buffer.from(text, 'utf8'));
  }
  t.throws(() => new JSONSerializer().serializeText(undefined), { instanceOf: TypeError });
  t.throws(() => new StringSerializer().serializeText(5 as unknown as string), { instanceOf: TypeError });
});

test('concurrent recvPacket() calls each get a distinct packet, in call order', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const pending = Array.from({ length: 20 }, () => b.recvPacket());
  for (let i = 0; i < 20; i++) await a.sendPacket(i);
  t.deepEqual(
    await Promise.all(pending),
    Array.from({ length: 20 }, (_, i) => i),
  );
});

test('recvPacket({ timeout: 0 }) does not jump ahead of a recvPacket() already waiting', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const first = b.recvPacket();
  a.sendPacketSync('one'); // in the kernel queue; the event loop has not delivered it yet
  // the immediate receive reads it from the kernel, but it belongs to the earlier call
  await t.throwsAsync(b.recvPacket({ timeout: 0 }), { code: 'ETIMEDOUT' });
  await a.sendPacket('two');
  t.is(await first, 'one');
  t.is(await b.recvPacket(), 'two');
});

test('concurrent sendPacket() calls arrive in call order', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const count = 2000; // more than a socketpair queue holds, so some sends have to wait
  const sent = Promise.all(Array.from({ length: count }, (_, i) => a.sendPacket(i)));
  const got: unknown[] = [];
  for (let i = 0; i < count; i++) got.push(await b.recvPacket());
  await sent;
  t.deepEqual(
    got,
    Array.from({ length: count }, (_, i) => i),
  );
});

test('reconnect() reaches a python server restarted at the same path', async (t) => {
  const sockPath = path.join(tempDir(t), 'echo.sock');
  const first = await startPeer(t, 'echo_server.py', [sockPath]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));
  await client.sendPacket('one');
  t.is(await client.recvPacket(), 'one');

  await first.kill();
  fs.unlinkSync(sockPath); // python leaves its socket file behind
  const second = await startPeer(t, 'echo_server.py', [sockPath]);
  t.not(second.ready.pid, first.ready.pid);

  await client.reconnect();
  await client.sendPacket('two');
  t.is(await client.recvPacket(), 'two');
  t.is((await second.nextJson()).received, Buffer.byteLength('"two"'));
  t.deepEqual(client.getPeerName(), { path: sockPath });
});

/** A socket file nobody is bound to any more: python binds it and exits. */
function deadSocket(file: string): void {
  execFileSync('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(sys.argv[1])', file]);
}

test('bind: a receive-only client at a path gets what python and socat send it, cannot send, and unlinks its file', async (t) => {
  const file = path.join(tempDir(t), 'sink.sock');
  deadSocket(file);
  await t.throwsAsync(UnixDatagramClient.bind(file, strings()), { code: 'EADDRINUSE' });
  const sink = await UnixDatagramClient.bind(file, strings(), { mode: 0o620, removeStale: true });
  t.is(fs.lstatSync(file).mode & 0o777, 0o620, 'the mode is on the file');
  t.deepEqual(sink.getLocalName(), { path: file });
  t.deepEqual(sink.getPeerName(), { unnamed: true });
  await t.throwsAsync(UnixDatagramClient.bind(file, strings(), { removeStale: true }), { code: 'EADDRINUSE', message: /left in place/ });

  const unbound = await startPeer(t, 'datagrams.py', ['send', file, 'unbound', hex('one'), hex('two')]);
  await unbound.waitExit();
  const bound = await startPeer(t, 'datagrams.py', ['send', file, 'bound', hex('three')]);
  await bound.waitExit();
  execFileSync('socat', ['-u', 'STDIN', `UNIX-SENDTO:${file}`], { input: 'four' });
  const got: string[] = [];
  for await (const packet of sink.iterReceivedPackets({ timeout: 20 })) {
    got.push(packet);
    if (got.length === 4) break;
  }
  t.deepEqual(got, ['one', 'two', 'three', 'four']);

  await t.throwsAsync(sink.sendPacket('nobody to send to'), { code: 'ENOTCONN' });
  await sink.close();
  t.false(fs.existsSync(file), 'its own socket file is unlinked on close');
});

test.serial('bind: descriptors a python sender passes arrive in the ancillary; those nobody takes are closed', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'fds.sock');
  const before = openFds();
  const sink = await UnixDatagramClient.bind(file, strings());
  const send = (text: string): void => {
    const code = [
      'import array, os, socket, sys',
      'r1, w1 = os.pipe(); r2, w2 = os.pipe()',
      'os.write(w1, b"pipe-1"); os.write(w2, b"pipe-2")',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
      'rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [r1, r2]))]',
      's.sendmsg([sys.argv[2].encode()], rights, 0, sys.argv[1])',
    ].join('\n');
    execFileSync('python3', ['-c', code, file, text]);
  };
  send('with fds');
  const ancillary = new SocketAncillary();
  t.is(await sink.recvPacket({ timeout: 20, ancillary }), 'with fds');
  t.is(ancillary.fdCount, 2);
  const fd = ancillary.steal(1);
  const buf = Buffer.alloc(16);
  t.is(buf.toString('utf8', 0, fs.readSync(fd, buf, 0, 16, null)), 'pipe-2');
  fs.closeSync(fd);
  ancillary.close();
  send('fds dropped');
  for await (const packet of sink.iterReceivedPackets({ timeout: 20 })) {
    t.is(packet, 'fds dropped');
    break;
  }
  await sink.close();
  t.deepEqual(newFds(before), [], 'no descriptor left open: the iterator closed what it was not asked for');
});

test.serial('bind: an abstract name; bad arguments are coded errors before any socket exists', async (t) => {
  const before = openFds();
  await t.throwsAsync(UnixDatagramClient.bind({ unnamed: true }, strings()), { code: 'ERR_INVALID_ARG_VALUE', message: /unnamed/ });
  await t.throwsAsync(UnixDatagramClient.bind(`\0${abstractName()}`, strings(), { mode: 0o600 }), { code: 'ERR_INVALID_ARG_VALUE' });
  await t.throwsAsync(UnixDatagramClient.bind(`\0${abstractName()}`, strings(), { removeStale: true }), { code: 'ERR_INVALID_ARG_VALUE' });
  await t.throwsAsync(UnixDatagramClient.bind('/tmp/x.sock', strings(), { localAddress: null } as never), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /localAddress/,
  });
  await t.throwsAsync(UnixDatagramClient.bind(7 as never, strings()), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.throwsAsync(UnixDatagramClient.bind('/tmp/x.sock', strings(), { mode: 0o10000 }), { code: 'ERR_OUT_OF_RANGE' });
  await t.throwsAsync(UnixDatagramClient.bind('/tmp/x.sock', strings(), { mode: '600' as never }), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.throwsAsync(UnixDatagramClient.bind('/tmp/x.sock', strings(), { signal: AbortSignal.abort() }), { name: 'AbortError' });
  t.deepEqual(newFds(before), [], 'no socket was created');

  const name = abstractName('sink');
  const sink = autoClose(t, await UnixDatagramClient.bind({ abstract: name }, strings(), { passCredentials: true }));
  t.deepEqual(sink.getLocalName(), { abstract: name });
  const sender = await startPeer(t, 'datagrams.py', ['send', atName(name), 'unbound', hex('to an abstract name')]);
  await sender.waitExit();
  const ancillary = new SocketAncillary();
  t.is(await sink.recvPacket({ timeout: 20, ancillary }), 'to an abstract name');
  t.is(ancillary.credentials[0]?.pid, sender.child.pid, "passCredentials: the sender's pid came with it");
});
