// Process lifetime, workers, GC, async context and closing from inside a callback.
import test from 'ava';
import { AsyncLocalStorage } from 'node:async_hooks';
import { DatagramProtocol, JSONSerializer, UnixDatagramClient } from '../src/index.js';
import { autoClose, startNodeFixture } from './helpers.js';

const json = () => new DatagramProtocol(new JSONSerializer());

test('exceptions thrown by user code run because of a received packet do not break later receives', async (t) => {
  const child = startNodeFixture(t, 'throw-after-receive.ts');
  const exit = await child.waitExit();
  t.deepEqual(exit, { code: 0, signal: null }, child.stderr);
  t.deepEqual(child.lines.slice(0, 3).sort(), [
    'uncaughtException microtask 2',
    'uncaughtException nextTick 3',
    'unhandledRejection then 1',
  ]);
  t.deepEqual(child.lines.slice(3), ['received 4', 'received 5', 'done']);
});

test('a pending receive keeps the process alive until its packet arrives', async (t) => {
  const [ours, theirs] = UnixDatagramClient.socketpair(json());
  autoClose(t, ours);
  const child = startNodeFixture(t, 'pending-receive.ts', ['ref'], { stdio3: theirs.socket.fd });
  await theirs.close(); // the child holds its own copy as fd 3

  t.is(await child.nextLine(), 'ready');
  t.is(await child.nextLine(), 'alive'); // its timer is done; only the receive keeps it running
  await ours.sendPacket({ hello: 'child' });
  t.is(await child.nextLine(), 'received {"hello":"child"}');
  t.deepEqual(await child.waitExit(), { code: 0, signal: null }, child.stderr);
  t.deepEqual(child.lines, ['ready', 'alive', 'received {"hello":"child"}', 'exit 0']);
});

test('unref() lets the process exit while a receive is pending', async (t) => {
  const child = startNodeFixture(t, 'pending-receive.ts', ['unref']);
  t.deepEqual(await child.waitExit(), { code: 0, signal: null }, child.stderr);
  t.deepEqual(child.lines, ['pending', 'exit 0']);
});

test('terminating a worker with an open client and a pending receive leaves the main thread healthy', async (t) => {
  const child = startNodeFixture(t, 'worker-terminate.ts');
  t.deepEqual(await child.waitExit(), { code: 0, signal: null }, child.stderr);
  t.deepEqual(child.lines, [
    'round 1: ready from worker',
    'round 1: terminated 1',
    'round 2: ready from worker',
    'round 2: terminated 1',
    'main received main',
    'done',
  ]);
});

test('a client, and an ancillary holding received fds, dropped without close() have their fds closed by garbage collection', async (t) => {
  const child = startNodeFixture(t, 'gc-closes-fd.ts', [], { nodeFlags: ['--expose-gc'] });
  t.deepEqual(await child.waitExit(), { code: 0, signal: null }, child.stderr);
  const { baseline, opened, after, leaked } = JSON.parse(child.lines[0]!);
  t.true(opened >= baseline + 10, `five socketpairs were open before GC (${baseline} -> ${opened})`);
  t.deepEqual(leaked, [], `every descriptor they opened is closed (${baseline} before, ${after} after)`);
});

test('a garbage-collected fd set closes only what is still in it: a stolen fd stays open and readable', async (t) => {
  const child = startNodeFixture(t, 'gc-keeps-stolen.ts', [], { nodeFlags: ['--expose-gc'] });
  t.deepEqual(await child.waitExit(), { code: 0, signal: null }, child.stderr);
  const { baseline, held, after, stolenIsLeft, readable } = JSON.parse(child.lines[0]!);
  t.is(baseline, 0);
  t.is(held, 3, 'three fds received, one of them stolen');
  t.is(after, 1, 'the two left in the set were closed by GC');
  t.true(stolenIsLeft, 'the one left is the stolen one');
  t.is(readable, 'same file', 'the stolen one was not');
});

test('an AsyncLocalStorage store set around recvPacket() is visible after the packet arrives', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const storage = new AsyncLocalStorage<string>();
  const seen = storage.run('around-recv', () => b.recvPacket().then((packet) => ({ packet, store: storage.getStore() })));
  const seenAsync = storage.run('around-await', async () => {
    const packet = await b.recvPacket();
    return { packet, store: storage.getStore() };
  });
  await storage.run('sender', () => a.sendPacket(1));
  await a.sendPacket(2);
  t.deepEqual(await seen, { packet: 1, store: 'around-recv' });
  t.deepEqual(await seenAsync, { packet: 2, store: 'around-await' });
});

test('closing the client from inside .then of a received packet, with other receives pending, is safe', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  let closing: Promise<void> | undefined;
  const first = b.recvPacket().then((packet) => {
    closing = b.close();
    return packet;
  });
  const others = [b.recvPacket(), b.recvPacket({ timeout: 30 })];
  await a.sendPacket('first');

  t.is(await first, 'first');
  for (const other of others) await t.throwsAsync(other, { code: 'ERR_UNIXGRAM_CLOSED' });
  await closing;
  t.true(b.closed);
  await t.throwsAsync(b.recvPacket(), { code: 'ERR_UNIXGRAM_CLOSED' });
  // the other end still works and sending to the closed end now reports the peer is gone
  await t.throwsAsync(a.sendPacket('to nobody'), { code: 'ECONNREFUSED' });
});

test('four workers load the addon at once and each passes packets and an fd; workers ending with sockets open leave the process healthy', async (t) => {
  const child = startNodeFixture(t, 'workers-many.ts');
  t.deepEqual(await child.waitExit(), { code: 0, signal: null }, child.stderr);
  const sum = (199 * 200) / 2;
  t.deepEqual(child.lines, [...[0, 1, 2, 3].map((id) => `worker ${id}: sum ${sum}, fd readable`), 'main still works']);
});
