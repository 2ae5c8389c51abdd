// sendPackets (sendmmsg) and batched receives (recvmmsg): order, per-datagram ancillary
// data, whole datagrams of mixed sizes, and backpressure without loss.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';

import { BytesSerializer, DatagramProtocol, JSONSerializer, SocketAncillary, UnixDatagramClient } from '../src/index.js';
import { autoClose, startPeer, tempDir } from './helpers.js';

const bytes = () => new DatagramProtocol(new BytesSerializer());

test('sendPackets delivers every packet in order, with its own fds', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(bytes()));
  const file = fs.openSync('/dev/null', 'r');
  t.teardown(() => fs.closeSync(file));
  const withFd = new SocketAncillary();
  withFd.addFds([file, file]);
  const packets = Array.from({ length: 40 }, (_, i) => Buffer.from([i]));
  await a.sendPackets(packets, { ancillary: packets.map((_, i) => (i % 10 === 0 ? withFd : undefined)) });
  for (let i = 0; i < 40; i++) {
    const ancillary = new SocketAncillary();
    const p = await b.recvPacket({ ancillary });
    t.deepEqual([...p], [i]);
    t.is(ancillary.fdCount, i % 10 === 0 ? 2 : 0, `packet ${i}`);
    ancillary.close();
  }
});

test('a batch mixing tiny and 1 MB datagrams arrives whole and in order', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(bytes()));
  a.socket.setSendBufferSize(4 << 20);
  const big = Buffer.alloc(1 << 20, 0x5a);
  await a.sendPackets([Buffer.from('a'), big, Buffer.from('bc'), big, Buffer.alloc(0)]);
  const got = [];
  for await (const p of b.iterReceivedPackets({ timeout: 0 })) got.push(Buffer.from(p));
  t.deepEqual(
    got.map((p) => p.length),
    [1, 1 << 20, 2, 1 << 20, 0],
  );
  t.true(got[1]!.equals(big) && got[3]!.equals(big));
  t.is(got[2]!.toString(), 'bc');
});

test('sendPackets of 100 000 packets to a python receiver that starts late: all arrive, in order', async (t) => {
  t.timeout(120_000);
  const sockPath = path.join(tempDir(t), 'rx.sock');
  const peer = await startPeer(t, 'bound_receiver.py', [sockPath, '100000', '0.5']);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, new DatagramProtocol(new JSONSerializer())));
  const packets = Array.from({ length: 100_000 }, (_, seq) => ({ seq }));
  await client.sendPackets(packets);
  t.deepEqual(await peer.nextJson(60_000), { count: 100_000, in_order: true, first_bad: null });
});

test('concurrent sendPacket and sendPackets calls go out in call order', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(new DatagramProtocol(new JSONSerializer())));
  const sends: Promise<void>[] = [];
  let n = 0;
  for (let round = 0; round < 50; round++) {
    sends.push(a.sendPacket(n++));
    sends.push(a.sendPackets(Array.from({ length: 20 }, () => n++)));
  }
  const received: unknown[] = [];
  const reading = (async () => {
    for await (const p of b.iterReceivedPackets({ timeout: null })) {
      received.push(p);
      if (received.length === n) return;
    }
  })();
  await Promise.all(sends);
  await reading;
  t.deepEqual(
    received,
    Array.from({ length: n }, (_, i) => i),
  );
});

// Small batches are copied into a shared pool that the binding only appends to; big ones are
// handed over as they are. Either way a received Buffer keeps its bytes however many batches
// come after it, and however the user mutates another one.
test('received packets keep their bytes after many later batches (pooled and handed-over batches)', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(bytes()));
  a.socket.setSendBufferSize(4 << 20);
  const sizeOf = (i: number): number => (i % 97 === 0 ? 40_000 + i : 4 + ((i * 131) % 200));
  const make = (i: number): Buffer => {
    const buf = Buffer.alloc(sizeOf(i));
    for (let k = 0; k < buf.length; k += 7) buf[k] = (i + k) & 0xff;
    buf.writeUInt32LE(i, 0);
    return buf;
  };
  const count = 3000;
  const received: Buffer[] = [];
  const receiving = (async () => {
    for (let i = 0; i < count; i++) {
      const p = await b.recvPacket();
      received.push(p);
      p.fill(0xee, 4, Math.min(p.length, 64)); // the user's own writes stay in their own packet
    }
  })();
  for (let i = 0; i < count; i += 50) {
    await a.sendPackets(Array.from({ length: Math.min(50, count - i) }, (_, k) => make(i + k)));
  }
  await receiving;
  t.is(received.length, count);
  const bad: number[] = [];
  for (let i = 0; i < count; i++) {
    const want = make(i);
    want.fill(0xee, 4, Math.min(want.length, 64));
    if (!received[i]?.equals(want)) bad.push(i);
  }
  t.deepEqual(bad, [], 'packets whose bytes changed or differ from what was sent');
});
