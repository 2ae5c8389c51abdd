// unixgram/compat/unix-dgram: the unix-dgram 2.x API on unixgram, against python3 peers and
// against the real client hot-shots, whose `require('unix-dgram')` resolves to the drop-in
// through the devDependency "unix-dgram": "file:__test__/fixtures/unix-dgram-shim".
import { once } from 'node:events';
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';

import { createSocket, type RemoteInfo, type Socket } from '../src/compat/unix-dgram.js';
import { UnixDatagramServer, DatagramProtocol, StringSerializer } from '../src/index.js';
import { FIXTURES_DIR, LineProcess, PEERS_DIR, abstractName, tempDir } from './helpers.js';

const require = createRequire(import.meta.url);

const PY_SEND = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if sys.argv[2]: s.bind(sys.argv[2])
s.sendto(b"from python", sys.argv[1])
print(json.dumps({"sent": True}), flush=True)
`;

// Binds, says ready, reads nothing until SIGUSR1 (so its queue fills), then reads N datagrams.
const PY_SLOW_RECEIVER = `
import json, signal, socket, sys
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(20)
print(json.dumps({"ready": True}), flush=True)
if sys.argv[3] == "wait": signal.sigwait([signal.SIGUSR1])
got = [s.recv(65536).decode() for _ in range(int(sys.argv[2]))]
print(json.dumps({"got": got}), flush=True)
`;

function closeLater(t: { teardown(fn: () => void): void }, socket: Socket): Socket {
  t.teardown(() => socket.close());
  return socket;
}

/** A socket connected to `address` (closed after the test). */
async function connectedTo(t: { teardown(fn: () => void): void }, address: string): Promise<Socket> {
  const socket = closeLater(t, createSocket('unix_dgram'));
  socket.connect(address);
  await once(socket, 'connect');
  return socket;
}

/** `socket.send(buf, callback)` as a promise: resolves once the datagram is in the kernel. */
function sendOk(socket: Socket, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.send(buf, (err) => (err ? reject(err) : resolve())));
}

test('hot-shots over its uds protocol reaches a unixgram server, line for line', async (t) => {
  const sock = path.join(tempDir(t), 'dsd.sock');
  const lines: string[] = [];
  let wanted = 4;
  let allArrived!: () => void;
  const arrived = new Promise<void>((resolve) => (allArrived = resolve));
  const server = await UnixDatagramServer.listen(sock, new DatagramProtocol(new StringSerializer()), async (packet: string) => {
    lines.push(...packet.split('\n'));
    if (lines.length >= wanted) allArrived();
  });
  t.teardown(() => server.close());

  const { StatsD } = require('hot-shots') as typeof import('hot-shots');
  const errors: Error[] = [];
  const client = new StatsD({ protocol: 'uds', path: sock, errorHandler: (err) => errors.push(err) });
  client.increment('my.counter');
  client.gauge('my.gauge', 42);
  client.timing('my.timer', 7, ['env:test']);
  client.histogram('my.histogram', 3.5);
  await arrived;
  await new Promise<void>((resolve) => client.close(() => resolve()));

  t.deepEqual(lines.sort(), ['my.counter:1|c', 'my.gauge:42|g', 'my.histogram:3.5|h', 'my.timer:7|ms|#env:test']);
  t.deepEqual(errors, []);
  wanted = Infinity;
});

type StatsD = import('hot-shots').StatsD;

/**
 * A hot-shots client over the drop-in: one datagram per metric (no 1 s buffering), and it
 * recreates its socket on the first error after 1 ms (1 s by default).
 */
function hotShots(t: { teardown(fn: () => Promise<void>): void }, sock: string, errors: Error[]): StatsD {
  const { StatsD: Client } = require('hot-shots') as typeof import('hot-shots');
  const client = new Client({
    protocol: 'uds',
    path: sock,
    maxBufferSize: 0,
    udsGracefulRestartRateLimit: 1,
    errorHandler: (err) => errors.push(err),
  });
  t.teardown(() => new Promise<void>((resolve) => client.close(() => resolve())));
  return client;
}

/** A python metrics receiver at `sock` (not our code), ready. */
async function lineReceiver(t: ExecutionContext, sock: string): Promise<LineProcess> {
  const py = new LineProcess('python metrics receiver', 'python3', [path.join(PEERS_DIR, 'line_receiver.py'), sock]);
  t.teardown(() => void py.kill());
  t.deepEqual(await py.nextJson(), { ready: true });
  return py;
}

/**
 * Send `name.N` counters every 20 ms until the receiver prints one (at most 250), then 20
 * more, each waited for: every one of those arrives.
 */
async function recovers(
  t: { deepEqual(a: unknown, b: unknown, m?: string): void },
  client: StatsD,
  py: LineProcess,
  name: string,
): Promise<void> {
  let first: string | undefined;
  for (let i = 0; i < 250 && first === undefined; i++) {
    client.increment(`${name}.${i}`);
    first = await py.nextJson<{ line: string }>(20).then(
      (m) => m.line,
      () => undefined,
    );
  }
  t.deepEqual(typeof first, 'string', `nothing reached the receiver in 250 sends (5 s): the client did not recover`);
  while (py.lines.length > 0 && (await py.nextJson<{ line: string }>(20).catch(() => undefined)) !== undefined);
  const sent: string[] = [];
  for (let i = 0; i < 20; i++) {
    const stat = `${name}.after.${i}`;
    sent.push(`${stat}:1|c`);
    await new Promise<void>((resolve, reject) => client.increment(stat, 1, (err?: Error) => (err ? reject(err) : resolve())));
  }
  const got: string[] = [];
  while (got.length < sent.length) got.push((await py.nextJson<{ line: string }>()).line);
  t.deepEqual(got, sent);
}

test('hot-shots over the drop-in recovers from a receiver that starts late (ENOTCONN after the failed connect)', async (t) => {
  const sock = path.join(tempDir(t), 'late.sock');
  const errors: Error[] = [];
  const client = hotShots(t, sock, errors);
  // Nothing listens yet: the connect fails, and sends say ENOTCONN, on which hot-shots
  // recreates its socket.
  await new Promise<void>((resolve) => client.increment('early', 1, () => resolve()));
  const py = await lineReceiver(t, sock);
  await recovers(t, client, py, 'late');
  t.true(
    errors.every((e) => ['ENOTCONN', 'ECONNREFUSED', 'ENOENT'].includes(String((e as NodeJS.ErrnoException).code))),
    errors.map((e) => `${(e as NodeJS.ErrnoException).code}: ${e.message}`).join('\n'),
  );
});

test('hot-shots over the drop-in recovers from a receiver that restarts', async (t) => {
  const sock = path.join(tempDir(t), 'agent.sock');
  const errors: Error[] = [];
  const first = await lineReceiver(t, sock);
  const client = hotShots(t, sock, errors);
  await new Promise<void>((resolve, reject) => client.increment('before', 1, (err?: Error) => (err ? reject(err) : resolve())));
  t.deepEqual(await first.nextJson(), { line: 'before:1|c' });
  await first.kill();
  // The peer is gone: ECONNREFUSED; hot-shots recreates its socket, whose connect fails
  // while nothing listens (the dead socket file refuses it).
  await new Promise<void>((resolve) => client.increment('gone', 1, () => resolve()));
  const second = await lineReceiver(t, sock);
  await recovers(t, client, second, 'restarted');
});

test('hot-shots resolves unix-dgram to the drop-in, which has unref()', (t) => {
  const hotShots = createRequire(require.resolve('hot-shots'));
  t.is(realpathSync(hotShots.resolve('unix-dgram')), path.join(FIXTURES_DIR, 'unix-dgram-shim', 'index.cjs'));
  const loaded = hotShots('unix-dgram') as typeof import('../src/compat/unix-dgram.js');
  const socket = loaded.createSocket('unix_dgram');
  t.true(socket instanceof loaded.Socket);
  t.is(socket.unref(), socket);
  socket.close();
  socket.close(); // unix-dgram aborts the process here
  t.is(socket.fd, -1);
});

test('an unref()d socket lets the process exit', async (t) => {
  const child = new LineProcess('compat-unref', process.execPath, ['--import', 'tsx', path.join(FIXTURES_DIR, 'compat-unref.ts')]);
  t.teardown(() => child.kill());
  t.is(await child.nextLine(), 'listening');
  t.deepEqual(await child.waitExit(), { code: 0, signal: null });
});

test('bind emits listening, then message with rinfo { size, address, path } from python senders', async (t) => {
  const dir = tempDir(t);
  const address = path.join(dir, 'server.sock');
  const received: Array<[string, RemoteInfo]> = [];
  const server = closeLater(
    t,
    createSocket('unix_dgram', (buf, rinfo) => received.push([buf.toString(), rinfo])),
  );
  server.bind(address);
  await once(server, 'listening'); // emitted on a later tick, so a listener added now still gets it

  for (const from of [path.join(dir, 'py.sock'), '']) {
    const py = new LineProcess('python sender', 'python3', ['-c', PY_SEND, address, from]);
    t.teardown(() => py.kill());
    await py.nextJson();
    if (received.length < 1 || (from === '' && received.length < 2)) await once(server, 'message');
  }
  t.deepEqual(received, [
    ['from python', { size: 11, address: {}, path: path.join(dir, 'py.sock') }],
    ['from python', { size: 11, address: {}, path: null }],
  ]);
});

test('connect then send(buf, callback) to a python receiver; offset and length with sendto', async (t) => {
  const address = path.join(tempDir(t), 'rx.sock');
  const py = new LineProcess('python receiver', 'python3', ['-c', PY_SLOW_RECEIVER, address, '2', 'now']);
  t.teardown(() => py.kill());
  await py.nextJson();

  const client = await connectedTo(t, address);
  t.true(client.connected);
  await sendOk(client, Buffer.from('hello'));

  const other = closeLater(t, createSocket('unix_dgram'));
  await new Promise<void>((resolve, reject) =>
    other.sendto(Buffer.from('foobarbaz'), 3, 4, address, (err) => (err ? reject(err) : resolve())),
  );
  t.deepEqual(await py.nextJson(), { got: ['hello', 'barb'] });
});

test('a connected send to a vanished peer: the callback gets ECONNREFUSED a tick later; without a callback the next error is an event', async (t) => {
  const address = path.join(tempDir(t), 'gone.sock');
  const py = new LineProcess('python receiver', 'python3', ['-c', PY_SLOW_RECEIVER, address, '1', 'now']);
  t.teardown(() => py.kill());
  await py.nextJson();
  const client = await connectedTo(t, address);
  await sendOk(client, Buffer.from('one'));
  t.deepEqual(await py.nextJson(), { got: ['one'] });
  await py.closed; // its socket is gone with it

  let called = false;
  const refused = new Promise<NodeJS.ErrnoException | null | undefined>((resolve) =>
    client.send(Buffer.from('two'), (err) => {
      called = true;
      resolve(err);
    }),
  );
  t.false(called, 'the callback is not called synchronously');
  t.like(await refused, { code: 'ECONNREFUSED', syscall: 'send' });
  const event = once(client, 'error');
  client.send(Buffer.from('three'));
  const [err] = (await event) as [NodeJS.ErrnoException];
  t.regex(String(err.code), /^(ECONNREFUSED|ENOTCONN)$/);
});

test('congestion: nothing is dropped; congestion is emitted, then writable once all went out', async (t) => {
  const address = path.join(tempDir(t), 'slow.sock');
  const total = 200;
  const py = new LineProcess('slow receiver', 'python3', ['-c', PY_SLOW_RECEIVER, address, String(total), 'wait']);
  t.teardown(() => py.kill());
  await py.nextJson();

  const client = await connectedTo(t, address);
  const events: string[] = [];
  const congested = once(client, 'congestion');
  client.on('congestion', () => events.push('congestion'));
  const writable = once(client, 'writable');
  client.on('writable', () => events.push('writable'));
  const done: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    done.push(sendOk(client, Buffer.from(`m${i}`)));
  }
  const [buf] = (await congested) as [Buffer];
  t.regex(buf.toString(), /^m\d+$/);
  py.child.kill('SIGUSR1'); // let the receiver read
  const { got } = await py.nextJson<{ got: string[] }>();
  await Promise.all(done);
  await writable;
  t.deepEqual(
    got,
    Array.from({ length: total }, (_, i) => `m${i}`),
  );
  t.deepEqual(events, ['congestion', 'writable']);
});

test('errors carry string codes and arrive as events on a later tick', async (t) => {
  const missing = path.join(tempDir(t), 'nobody.sock');
  const socket = closeLater(t, createSocket('unix_dgram'));
  socket.connect(missing);
  const [err] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
  t.like(err, { code: 'ENOENT', errno: -2, syscall: 'connect', address: missing });
  t.false(socket.connected);

  const sendErr = await new Promise<NodeJS.ErrnoException | null | undefined>((resolve) =>
    socket.send(Buffer.from('x'), 0, 1, missing, resolve),
  );
  t.like(sendErr, { code: 'ENOENT', syscall: 'sendmsg' });

  const bound = closeLater(t, createSocket('unix_dgram'));
  const name = abstractName('compat');
  bound.bind(`\0${name}`);
  await once(bound, 'listening');
  const again = closeLater(t, createSocket('unix_dgram'));
  again.bind(`\0${name}`);
  const [inUse] = (await once(again, 'error')) as [NodeJS.ErrnoException];
  t.is(inUse.code, 'EADDRINUSE');

  t.throws(() => createSocket('udp4' as 'unix_dgram'), { message: /Unsupported socket type: udp4/ });
});

test('a send after close(): its callback gets ERR_UNIXGRAM_CLOSED, or, without one, an error event', async (t) => {
  const socket = createSocket('unix_dgram');
  socket.close();
  const viaCallback = await new Promise<NodeJS.ErrnoException | null | undefined>((resolve) =>
    socket.send(Buffer.from('x'), 0, 1, '/nowhere.sock', resolve),
  );
  t.is(viaCallback?.code, 'ERR_UNIXGRAM_CLOSED');
  const event = once(socket, 'error');
  socket.send(Buffer.from('x'), 0, 1, '/nowhere.sock');
  const [err] = (await event) as [NodeJS.ErrnoException];
  t.is(err.code, 'ERR_UNIXGRAM_CLOSED');
});
