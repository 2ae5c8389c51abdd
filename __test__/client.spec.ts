// UnixDatagramClient against a real peer (python3 `socket`) and between two of our own clients.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { BytesSerializer, DatagramProtocol, JSONSerializer, StringSerializer, UnixDatagramClient } from '../src/index.js';
import { abstractName, atName, autoClose, pattern, startPeer, tempDir } from './helpers.js';

const json = () => new DatagramProtocol(new JSONSerializer());
const bytes = () => new DatagramProtocol(new BytesSerializer());

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
