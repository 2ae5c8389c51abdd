// The synchronous API: sendPacketSync / recvPacketSync block the thread (a python peer in another process
// answers or drains meanwhile), time out with TimeoutError, refuse to mix with pending async work on the same
// socket (ERR_UNIXGRAM_BUSY), and serve datagrams already delivered to JS first, in order.
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import {
  DatagramProtocol,
  DatagramProtocolParseError,
  JSONSerializer,
  SocketAncillary,
  StringSerializer,
  TimeoutError,
  UnixDatagramClient,
} from '../src/index.js';
import { autoClose, LineProcess } from './helpers.js';

const text = () => new DatagramProtocol(new StringSerializer());
const GUARD_S = 20; // a failure guard for blocking calls that a peer answers, not a synchronisation

/**
 * Runs a python3 script with `client`'s duplicate at fd 3 as `s` and closes our copies: the child holds that end.
 * The duplicate shares the open file description, O_NONBLOCK included, so the script makes it blocking.
 */
async function pythonWith(t: ExecutionContext, client: UnixDatagramClient<string, string>, script: string): Promise<LineProcess> {
  const fd = client.dupFd();
  const proc = new LineProcess(
    'python peer',
    'python3',
    ['-c', `import json, socket\ns = socket.socket(fileno=3)\ns.setblocking(True)\n${script}`],
    { stdio3: fd },
  );
  t.teardown(() => proc.kill());
  fs.closeSync(fd);
  await client.close();
  return proc;
}

/** Fills the peer's queue with sendPacketSync({ timeout: 0 }) until it reports it full; returns how many went. */
function fill(t: ExecutionContext, client: UnixDatagramClient<string, string>): number {
  for (let sent = 0; sent < 100_000; sent++) {
    try {
      client.sendPacketSync(`filler ${sent}`, { timeout: 0 });
    } catch (err) {
      t.true(err instanceof TimeoutError);
      t.is((err as TimeoutError).code, 'ETIMEDOUT');
      return sent;
    }
  }
  throw new Error('the queue never filled');
}

test('sendPacketSync and recvPacketSync round trip, with a descriptor', (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(new DatagramProtocol(new JSONSerializer())));
  const file = fs.openSync('/etc/hostname', 'r');
  const outgoing = new SocketAncillary();
  outgoing.addFds([file]);
  a.sendPacketSync({ hello: 'sync' }, { ancillary: outgoing });
  fs.closeSync(file);

  const incoming = new SocketAncillary();
  t.deepEqual(b.recvPacketSync({ timeout: GUARD_S, ancillary: incoming }), { hello: 'sync' });
  t.is(incoming.fdCount, 1);
  const fd = incoming.steal(0);
  t.is(fs.readFileSync(fd, 'utf8'), fs.readFileSync('/etc/hostname', 'utf8'));
  fs.closeSync(fd);

  b.sendPacketSync([1, 2, 3]);
  t.deepEqual(a.recvPacketSync(), [1, 2, 3]);
});

test('recvPacketSync blocks the thread until a python peer in another process answers', async (t) => {
  const [mine, theirs] = UnixDatagramClient.socketpair(text());
  autoClose(t, mine);
  const peer = await pythonWith(t, theirs, 's.send(s.recv(65536).upper())');
  mine.sendPacketSync('ping');
  t.is(mine.recvPacketSync({ timeout: GUARD_S }), 'PING');
  t.deepEqual(await peer.waitExit(), { code: 0, signal: null });
});

test('recvPacketSync times out with TimeoutError; timeout 0 takes only what is queued', (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(text()));
  t.throws(() => b.recvPacketSync({ timeout: 0.05 }), { instanceOf: TimeoutError, code: 'ETIMEDOUT' });
  t.throws(() => b.recvPacketSync({ timeout: 0 }), { instanceOf: TimeoutError, code: 'ETIMEDOUT' });
  a.sendPacketSync('queued');
  t.is(b.recvPacketSync({ timeout: 0 }), 'queued');
});

test('recvPacketSync refuses to run while an async recvPacket is pending (ERR_UNIXGRAM_BUSY)', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(text()));
  const pending = b.recvPacket({ timeout: GUARD_S });
  const err = t.throws(() => b.recvPacketSync({ timeout: 0 }), { code: 'ERR_UNIXGRAM_BUSY' });
  t.regex(err.message, /recvPacket\(\) is pending/);
  a.sendPacketSync('for the async caller');
  t.is(await pending, 'for the async caller');
  a.sendPacketSync('now sync is fine');
  t.is(b.recvPacketSync({ timeout: GUARD_S }), 'now sync is fine');
});

test('datagrams already delivered to JS are served to recvPacketSync first, in order', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(text()));
  for (const s of ['1', '2', '3']) a.sendPacketSync(s);
  t.is(await b.recvPacket({ timeout: 0 }), '1'); // drains the kernel queue into JS: 2 and 3 wait there
  a.sendPacketSync('4');
  t.deepEqual([b.recvPacketSync(), b.recvPacketSync(), b.recvPacketSync({ timeout: 0 })], ['2', '3', '4']);
  a.sendPacketSync('5');
  t.is(await b.recvPacket({ timeout: GUARD_S }), '5');
});

test('sendPacketSync blocks while the peer queue is full, until a python reader drains it', async (t) => {
  const [mine, theirs] = UnixDatagramClient.socketpair(text());
  autoClose(t, mine);
  const queued = fill(t, mine);
  t.true(queued > 0);
  t.throws(() => mine.sendPacketSync('still full', { timeout: 0.02 }), {
    instanceOf: TimeoutError,
    code: 'ETIMEDOUT',
    message: /queue stayed full/,
  });

  const reader = await pythonWith(
    t,
    theirs,
    `n = 0
while True:
    data = s.recv(65536); n += 1
    if data == b"last": break
print(json.dumps({"received": n}), flush=True)`,
  );
  mine.sendPacketSync('last', { timeout: GUARD_S }); // blocks until the reader has made room
  t.deepEqual(await reader.nextJson(), { received: queued + 1 });
});

test('sendPacketSync refuses to overtake queued async sends (ERR_UNIXGRAM_BUSY)', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(text()));
  const queued = fill(t, a);
  const asyncSend = a.sendPacket('async, waiting for room');
  t.throws(() => a.sendPacketSync('sync', { timeout: 0 }), { code: 'ERR_UNIXGRAM_BUSY', message: /sendPacket\(\) calls are queued/ });
  const received: string[] = [];
  for (let i = 0; i <= queued; i++) received.push(await b.recvPacket({ timeout: GUARD_S }));
  await asyncSend;
  t.is(received.at(-1), 'async, waiting for room');
  a.sendPacketSync('sync again');
  t.is(b.recvPacketSync({ timeout: GUARD_S }), 'sync again');
});

test('a datagram that does not parse fails recvPacketSync with DatagramProtocolParseError; the next one arrives', (t) => {
  const [raw, parsed] = autoClose(t, UnixDatagramClient.socketpair(text()));
  const asJson = UnixDatagramClient.fromFd(parsed.dupFd(), new DatagramProtocol(new JSONSerializer()));
  t.teardown(() => asJson.close());
  raw.sendPacketSync('{"not json');
  raw.sendPacketSync('{"ok":true}');
  const err = t.throws(() => asJson.recvPacketSync({ timeout: GUARD_S }), {
    instanceOf: DatagramProtocolParseError,
    code: 'ERR_UNIXGRAM_PARSE',
  });
  t.deepEqual(err.datagram, Buffer.from('{"not json'));
  t.deepEqual(asJson.recvPacketSync({ timeout: GUARD_S }), { ok: true });
});

test('sync calls on a closed client throw ERR_UNIXGRAM_CLOSED; bad arguments are coded TypeError / RangeError', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(text()));
  t.throws(() => b.recvPacketSync({ timeout: -1 }), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => a.sendPacketSync('x', { timeout: '1' as unknown as number }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => b.recvPacketSync({ ancillary: {} as SocketAncillary }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => a.sendPacketSync(42 as unknown as string), { instanceOf: TypeError });
  await a.close();
  t.throws(() => a.sendPacketSync('x'), { code: 'ERR_UNIXGRAM_CLOSED' });
  t.throws(() => a.recvPacketSync(), { code: 'ERR_UNIXGRAM_CLOSED' });
});
