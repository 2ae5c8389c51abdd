// A full receiver queue makes sendPacket wait; nothing is dropped and order is kept.
import test from 'ava';
import path from 'node:path';
import { DatagramProtocol, JSONSerializer, UnixDatagramClient } from '../src/index.js';
import { autoClose, startPeer, tempDir, untilStalled } from './helpers.js';

const json = () => new DatagramProtocol(new JSONSerializer());
const TOTAL = 100_000;
const CHUNK = 1000;

test('100 000 packets to a python receiver that starts reading late all arrive, in order', async (t) => {
  t.timeout(180_000);
  const sockPath = path.join(tempDir(t), 'receiver.sock');
  // the receiver sleeps 0.5 s before reading (peer behaviour), so its 11-datagram queue fills at once
  const peer = await startPeer(t, 'bound_receiver.py', [sockPath, String(TOTAL), '0.5']);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));

  for (let base = 0; base < TOTAL; base += CHUNK) {
    await Promise.all(Array.from({ length: CHUNK }, (_, i) => client.sendPacket({ seq: base + i })));
  }
  t.deepEqual(await peer.nextJson(60_000), { count: TOTAL, in_order: true, first_bad: null });
});

test('100 000 packets to our own client that is not reading wait, then all arrive in order', async (t) => {
  t.timeout(180_000);
  const [sender, receiver] = autoClose(t, UnixDatagramClient.socketpair(json()));

  let resolved = 0;
  let failed: unknown;
  const sending = (async () => {
    for (let base = 0; base < TOTAL; base += CHUNK) {
      await Promise.all(Array.from({ length: CHUNK }, (_, i) => sender.sendPacket(base + i).then(() => void resolved++)));
    }
  })().catch((err) => {
    failed = err;
  });

  // nobody reads yet: the sender fills the queue and then has to wait
  await untilStalled(() => resolved);
  t.is(failed, undefined);
  t.true(resolved > 0 && resolved < TOTAL, `sends resolved while the receiver was paused: ${resolved}`);

  let outOfOrder = -1;
  for (let i = 0; i < TOTAL; i++) {
    const seq = await receiver.recvPacket();
    if (seq !== i && outOfOrder < 0) outOfOrder = i;
  }
  await sending;
  t.is(failed, undefined);
  t.is(outOfOrder, -1, 'first out-of-order sequence number index');
  t.is(resolved, TOTAL);
});
