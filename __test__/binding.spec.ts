// Traps of the binding itself, seen through the internal native API.
import test from 'ava';

import { UnixDatagramClient, DatagramProtocol, StringSerializer } from '../src/index.js';
import { sendOnFd, WOULD_BLOCK } from '../src/native.js';
import { startNodeFixture } from './helpers.js';

test('an exception thrown by the batch callback becomes uncaughtException and later N-API calls still work', async (t) => {
  const child = startNodeFixture(t, 'native-callback-throws.ts');
  const exit = await child.waitExit();
  t.deepEqual(exit, { code: 0, signal: null }, child.stderr);
  t.deepEqual(child.lines, ['uncaughtException boom first', 'send after throw 6', 'delivered second']);
});

test('a closed socket stops polling before its fd is closed: a new socket reusing the fd number works', async (t) => {
  const protocol = new DatagramProtocol(new StringSerializer());
  for (let round = 0; round < 50; round++) {
    const [a, b] = UnixDatagramClient.socketpair(protocol);
    const fdA = a.socket.fd;
    const pending = b.recvPacket();
    await b.close(); // polling, with a receive pending
    await t.throwsAsync(pending, { code: 'ERR_UNIXGRAM_CLOSED' });
    await a.close();
    const [c, d] = UnixDatagramClient.socketpair(protocol);
    t.true([c.socket.fd, d.socket.fd].includes(fdA) || round > 0, 'fd numbers are reused');
    await c.sendPacket(`round ${round}`);
    t.is(await d.recvPacket({ timeout: 5 }), `round ${round}`);
    await Promise.all([c.close(), d.close()]);
  }
});

test('the batch callback survives garbage collection while the socket is idle', async (t) => {
  const child = startNodeFixture(t, 'callback-survives-gc.ts', [], { nodeFlags: ['--expose-gc'] });
  const exit = await child.waitExit();
  t.deepEqual(exit, { code: 0, signal: null }, child.stderr);
  t.deepEqual(child.lines, ['received after gc', 'drained 2000']);
});

test('sendOnFd (the send fast path): bytes sent, -EAGAIN on a full queue, -errno on failure, TypeError on bad arguments', async (t) => {
  const [a, b] = UnixDatagramClient.socketpair(new DatagramProtocol(new StringSerializer()));
  const fd = a.socket.fd;
  t.is(sendOnFd(fd, Buffer.from('hello')), 5);
  t.is(await b.recvPacket({ timeout: 5 }), 'hello');
  t.is(sendOnFd(fd, Buffer.alloc(0)), 0, 'an empty datagram is a datagram');
  t.is(await b.recvPacket({ timeout: 5 }), '');

  // nobody reads b: its queue fills and the fast path reports it instead of blocking
  let sent = 0;
  let last = 0;
  while ((last = sendOnFd(fd, Buffer.from(`#${sent}`))) >= 0) sent++;
  t.is(last, WOULD_BLOCK);
  t.true(sent >= 1 && sent < 100_000, `${sent} datagrams fit`);
  for (let i = 0; i < sent; i++) t.is(await b.recvPacket({ timeout: 5 }), `#${i}`);

  for (const bad of [[], ['3', Buffer.alloc(1)], [-1, Buffer.alloc(1)], [fd, 'text'], [fd, {}]] as unknown[][]) {
    t.throws(() => (sendOnFd as (...args: unknown[]) => number)(...bad), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
  }
  await b.close();
  t.is(sendOnFd(fd, Buffer.from('x')), -111, 'ECONNREFUSED: the peer is gone');
  await a.close();
  t.is(sendOnFd(fd, Buffer.from('x')), -9, 'EBADF once closed (the client checks closed first)');
});
