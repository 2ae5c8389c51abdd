// Receive deadlines, AbortSignal and close() while a receive is pending.
import test from 'ava';
import { AbortError, DatagramProtocol, JSONSerializer, TimeoutError, UnixDatagramClient } from '../src/index.js';
import { autoClose } from './helpers.js';

const json = () => new DatagramProtocol(new JSONSerializer());

test('recvPacket({ timeout }) with nothing sent rejects with TimeoutError, and the client still works', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const err = await t.throwsAsync(b.recvPacket({ timeout: 0.05 }), { instanceOf: TimeoutError });
  t.is(err.name, 'TimeoutError');
  t.is(err.code, 'ETIMEDOUT');

  await a.sendPacket({ after: 'timeout' });
  t.deepEqual(await b.recvPacket(), { after: 'timeout' });
});

test('recvPacket({ timeout: 0 }) with an empty queue rejects with TimeoutError', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  await t.throwsAsync(b.recvPacket({ timeout: 0 }), { instanceOf: TimeoutError, code: 'ETIMEDOUT' });
  await a.sendPacket(1);
  t.is(await b.recvPacket({ timeout: 0 }), 1);
});

test('an already aborted signal rejects recvPacket with AbortError and consumes nothing', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  await a.sendPacket('queued');
  const err = await t.throwsAsync(b.recvPacket({ signal: AbortSignal.abort() }), { instanceOf: AbortError });
  t.is(err.name, 'AbortError');
  t.is(err.code, 'ABORT_ERR');
  t.is(await b.recvPacket(), 'queued');
});

test('aborting while recvPacket waits rejects it with AbortError, and the next packet goes to the next receive', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const controller = new AbortController();
  const pending = b.recvPacket({ signal: controller.signal });
  controller.abort();
  await t.throwsAsync(pending, { instanceOf: AbortError, code: 'ABORT_ERR', name: 'AbortError' });

  await a.sendPacket('after abort');
  t.is(await b.recvPacket(), 'after abort');
});

test('close() while receives are pending rejects them with ERR_UNIXGRAM_CLOSED', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const first = b.recvPacket();
  const second = b.recvPacket({ timeout: 30 });
  const iterated = b.iterReceivedPackets({ timeout: null }).next();
  await b.close();
  await t.throwsAsync(first, { code: 'ERR_UNIXGRAM_CLOSED' });
  await t.throwsAsync(second, { code: 'ERR_UNIXGRAM_CLOSED' });
  // an iterator over a closed client may end or reject with ERR_UNIXGRAM_CLOSED, but must not hang
  const outcome: { done?: boolean; code?: string } = await iterated.then(
    (r) => ({ done: r.done }),
    (e: { code?: string }) => ({ code: e.code }),
  );
  t.true(outcome.code === 'ERR_UNIXGRAM_CLOSED' || outcome.done === true, JSON.stringify(outcome));
  t.false(a.closed);
});
