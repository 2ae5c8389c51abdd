// busyPoll: a wakeup goes on reading while something waits for a packet. Round trips with
// python's socket module as the peer arrive whole and in order on a client and through a
// server; a flooded busy-polling receiver still gives the event loop its turn (timers
// run); closing from inside the receive loop stops it; the option is checked before any
// socket or descriptor is touched.
import test from 'ava';
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import {
  BUSY_POLL_MAX_MICROS,
  BytesSerializer,
  DatagramProtocol,
  JSONSerializer,
  UnixDatagramClient,
  UnixDatagramEndpoint,
  UnixDatagramServer,
} from '../src/index.js';
import { abstractName, atName, autoClose, fdIsOpen, startNodeFixture, startPeer, tempDir } from './helpers.js';

const bytes = () => new DatagramProtocol(new BytesSerializer());

test('round trips with a python echo peer: every reply arrives, whole and in order', async (t) => {
  const count = 300;
  const name = abstractName('busy-echo');
  await startPeer(t, 'echo_server.py', [atName(name), String(count)]);
  const client = autoClose(t, await UnixDatagramClient.connect({ abstract: name }, bytes(), { busyPoll: 200 }));
  for (let i = 0; i < count; i++) {
    const request = Buffer.from(`request ${i} `.padEnd(64 + (i % 64), '.'));
    await client.sendPacket(request);
    const reply = await client.recvPacket({ timeout: 20 });
    if (!reply.equals(request)) t.fail(`reply ${i} differs: ${reply.toString()}`);
  }
  t.pass();
});

test('a busy-polling UnixDatagramServer answers a python client, every request in order', async (t) => {
  const name = abstractName('busy-server');
  const seen: number[] = [];
  autoClose(
    t,
    await UnixDatagramServer.listen(
      { abstract: name },
      new DatagramProtocol(new JSONSerializer()),
      async (packet, client) => {
        seen.push((packet as { i: number }).i);
        await client.sendPacket(packet);
      },
      { busyPoll: BUSY_POLL_MAX_MICROS },
    ),
  );
  const count = 200;
  const peer = await startPeer(t, 'server_client.py', ['echo', atName(name), String(count)]);
  const done = await peer.nextJson();
  t.is(done.done, count);
  t.true(done.ok, JSON.stringify(done).slice(0, 300));
  t.deepEqual(
    seen,
    Array.from({ length: count }, (_, i) => i),
  );
});

test('a flooded busy-polling receiver still lets timers run, and loses nothing', async (t) => {
  // Two node processes sending with sendPackets keep the queue from ever running dry for
  // long: without its 1 ms limit a busy-polling wakeup would never end while they send.
  const count = 200_000;
  const senders = 2;
  const dir = tempDir(t);
  const path = join(dir, 'flood.sock');
  const endpoint = autoClose(t, await UnixDatagramEndpoint.bind(path, bytes(), { busyPoll: BUSY_POLL_MAX_MICROS }));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  t.teardown(() => clearInterval(timer));
  const peers = Array.from({ length: senders }, () => startNodeFixture(t, 'flood-sender.ts', [path, String(count), '16']));
  let received = 0;
  let first = 0;
  let ticksAtFirst = 0;
  for await (const { packet } of endpoint.iterReceivedPacketsFrom({ timeout: 20 })) {
    if (received === 0) {
      first = performance.now();
      ticksAtFirst = ticks;
    }
    if (packet.length !== 16) t.fail(`datagram ${received} has ${packet.length} bytes`);
    if (++received === count * senders) break;
  }
  const elapsed = performance.now() - first;
  const during = ticks - ticksAtFirst;
  for (const peer of peers) t.deepEqual(await peer.nextJson(), { sent: count });
  t.log(`${received} datagrams in ${elapsed.toFixed(0)} ms, ${during} ticks of a 10 ms interval meanwhile`);
  // With the limit the interval ran every 11 ms here; without it, every 67 ms (28 ticks in
  // 1.9 s): one tick per 40 ms on average tells the two apart.
  if (elapsed >= 200) t.true(during >= elapsed / 40, `${during} ticks in ${elapsed.toFixed(0)} ms`);
  else t.log('the flood was too short to judge the timers');
});

test('close() from inside a busy-polling receive loop ends it; the next client works', async (t) => {
  const [a, b] = UnixDatagramClient.socketpair(bytes(), { busyPoll: 500 });
  autoClose(t, [b]);
  for (let i = 0; i < 50; i++) b.sendPacketSync(Buffer.from(`#${i}`));
  let got = 0;
  for await (const packet of a.iterReceivedPackets({ timeout: 20 })) {
    t.is(packet.toString(), `#${got}`);
    if (++got === 10) await a.close();
  }
  t.is(got, 10);
  t.true(a.closed);
  const [c, d] = UnixDatagramClient.socketpair(bytes(), { busyPoll: 500 });
  autoClose(t, [c, d]);
  await c.sendPacket(Buffer.from('after'));
  t.is((await d.recvPacket({ timeout: 20 })).toString(), 'after');
});

test('the option is checked before any socket exists, and fromFd leaves the fd open when it is wrong', async (t) => {
  const name = { abstract: abstractName('never') };
  for (const [busyPoll, code] of [
    ['50', 'ERR_INVALID_ARG_TYPE'],
    [-1, 'ERR_OUT_OF_RANGE'],
    [1.5, 'ERR_OUT_OF_RANGE'],
    [BUSY_POLL_MAX_MICROS + 1, 'ERR_OUT_OF_RANGE'],
    [Number.NaN, 'ERR_OUT_OF_RANGE'],
  ] as const) {
    const options = { busyPoll: busyPoll as unknown as number };
    const e1 = await t.throwsAsync(UnixDatagramClient.connect(name, bytes(), options));
    t.is((e1 as NodeJS.ErrnoException).code, code, `connect busyPoll ${String(busyPoll)}`);
    const e2 = await t.throwsAsync(UnixDatagramEndpoint.bind(name, bytes(), options));
    t.is((e2 as NodeJS.ErrnoException).code, code, `bind busyPoll ${String(busyPoll)}`);
    const e3 = await t.throwsAsync(UnixDatagramServer.listen(name, bytes(), () => {}, options));
    t.is((e3 as NodeJS.ErrnoException).code, code, `listen busyPoll ${String(busyPoll)}`);
  }
  const [a, b] = UnixDatagramClient.socketpair(bytes());
  autoClose(t, [a, b]);
  const fd = b.dupFd();
  const bad = { busyPoll: -5 };
  t.throws(() => UnixDatagramClient.fromFd(fd, bytes(), bad), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => UnixDatagramEndpoint.fromFd(fd, bytes(), bad), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => UnixDatagramServer.fromFd(fd, bytes(), () => {}, bad), { code: 'ERR_OUT_OF_RANGE' });
  t.true(fdIsOpen(fd));
  const adopted = autoClose(t, UnixDatagramClient.fromFd(fd, bytes(), { busyPoll: 0 }));
  t.false(adopted.closed);
});
