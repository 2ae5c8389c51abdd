// Seqpacket backpressure: a full peer makes our sends wait and a slow handler makes the server
// stop reading its connection; in both directions nothing is lost and order is kept.
import test from 'ava';
import path from 'node:path';
import { DatagramProtocol, JSONSerializer, UnixSeqpacketClient, UnixSeqpacketServer } from '../src/index.js';
import { autoClose, startPeer, tempDir, untilStalled } from './helpers.js';

const json = () => new DatagramProtocol(new JSONSerializer());
const CHUNK = 1000;

/** A promise with its resolve function outside. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

test('100 000 packets to a python server that sleeps 1 s before reading all arrive, in order', async (t) => {
  t.timeout(180_000);
  const TOTAL = 100_000;
  const sockPath = path.join(tempDir(t), 'late.sock');
  const peer = await startPeer(t, 'seqpacket_server.py', ['late', sockPath, String(TOTAL), '1']);
  const client = autoClose(t, await UnixSeqpacketClient.connect(sockPath, json()));

  let resolved = 0;
  for (let base = 0; base < TOTAL; base += CHUNK) {
    await Promise.all(Array.from({ length: CHUNK }, (_, i) => client.sendPacket({ seq: base + i }).then(() => void resolved++)));
  }
  t.is(resolved, TOTAL);
  t.deepEqual(await peer.nextJson(120_000), { count: TOTAL, in_order: true, first_bad: null });
});

test('sends to a socketpair end nobody reads wait once it is full, then all 20 000 arrive in order', async (t) => {
  t.timeout(120_000);
  const TOTAL = 20_000;
  const [sender, receiver] = autoClose(t, UnixSeqpacketClient.socketpair(json()));
  let resolved = 0;
  let failed: unknown;
  const sending = (async () => {
    for (let base = 0; base < TOTAL; base += CHUNK) {
      await Promise.all(Array.from({ length: CHUNK }, (_, i) => sender.sendPacket(base + i).then(() => void resolved++)));
    }
  })().catch((err: unknown) => {
    failed = err;
  });
  await untilStalled(() => resolved);
  t.is(failed, undefined);
  t.true(resolved > 0 && resolved < TOTAL, `sends resolved while nobody read: ${resolved}`);

  let firstBad = -1;
  for (let i = 0; i < TOTAL; i++) {
    const seq = await receiver.recvPacket({ timeout: 20 });
    if (seq !== i && firstBad < 0) firstBad = i;
  }
  await sending;
  t.is(failed, undefined);
  t.is(firstBad, -1, 'index of the first packet out of order');
  t.is(resolved, TOTAL);
});

test('a slow handler gets all 5 000 packets a python client sends as fast as it can, in order, none lost', async (t) => {
  t.timeout(180_000);
  const TOTAL = 5000;
  const sockPath = path.join(tempDir(t), 'slow.sock');
  const seqs: number[] = [];
  let running = 0;
  let overlapped = false;
  const all = deferred();
  const peerBlocked = deferred();
  autoClose(
    t,
    await UnixSeqpacketServer.listen(sockPath, json(), async (packet) => {
      running++;
      if (running > 1) overlapped = true;
      const { seq } = packet as { seq: number };
      // the first packet waits until the client is blocked in send (we stopped reading it);
      // then slow: a timer every 50 packets, a turn of the event loop otherwise
      if (seq === 0) await peerBlocked.promise;
      await new Promise((resolve) => (seq % 50 === 0 ? setTimeout(resolve, 2) : setImmediate(resolve)));
      seqs.push(seq);
      running--;
      if (seqs.length === TOTAL) all.resolve();
    }),
  );
  const peer = await startPeer(t, 'seqpacket_client.py', ['flood', sockPath, String(TOTAL)]);
  const { blocked } = await peer.nextJson<{ blocked: number }>();
  t.true(blocked > 0 && blocked < TOTAL, `the client could send ${blocked} packets before the server stopped reading`);
  t.deepEqual(seqs, [], 'nothing was handled while the client filled the connection');
  peerBlocked.resolve();
  t.deepEqual(await peer.nextJson(120_000), { sent: TOTAL });
  await all.promise;
  t.false(overlapped, 'one handler run at a time per connection');
  const firstBad = seqs.findIndex((seq, i) => seq !== i);
  t.is(firstBad, -1, 'index of the first packet out of order');
  t.is(seqs.length, TOTAL);
  await peer.waitExit();
});
