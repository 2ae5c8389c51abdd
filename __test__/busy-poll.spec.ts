// busyPoll: a wakeup goes on reading while something waits for a packet. Round trips with
// python's socket module as the peer arrive whole and in order on a client and through a
// server, over Unix datagrams and UDP, with a fixed window and with the default (adaptive); a flooded busy-polling receiver still gives the event
// loop its turn (timers run); closing from inside the receive loop stops it; the option is
// checked before any socket or descriptor is touched.
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
  UdpClient,
  UdpServer,
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

test('adaptive busy polling is the default: python echo round trips, whole and in order, then sparse ones', async (t) => {
  const count = 400;
  for (const options of [{}, { busyPoll: 'adaptive' as const }]) {
    const name = abstractName('adaptive-echo');
    await startPeer(t, 'echo_server.py', [atName(name), String(count)]);
    const client = autoClose(t, await UnixDatagramClient.connect({ abstract: name }, bytes(), options));
    for (let i = 0; i < count; i++) {
      const request = Buffer.from(`request ${i} `.padEnd(64 + (i % 64), '.'));
      await client.sendPacket(request);
      // Every tenth exchange waits first, as a client asking from a timer does: the window
      // learnt from the quick replies backs off, and the reply still arrives through the loop.
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 2));
      const reply = await client.recvPacket({ timeout: 20 });
      if (!reply.equals(request)) t.fail(`reply ${i} differs: ${reply.toString()}`);
    }
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

test('UDP: a busy-polling UdpClient and UdpServer exchange with python in order', async (t) => {
  const count = 100;
  const peer = await startPeer(t, 'udp_peer.py', ['echo', '127.0.0.1', '0', String(count)]);
  const port = peer.ready.port as number;
  const client = autoClose(t, await UdpClient.connect({ address: '127.0.0.1', port }, bytes(), { busyPoll: 200 }));
  for (let i = 0; i < count; i++) {
    await client.sendPacket(Buffer.from(`#${i}`));
    t.is((await client.recvPacket({ timeout: 20 })).toString(), `re:#${i}`);
  }
  const seen: Buffer[] = [];
  const server = autoClose(
    t,
    await UdpServer.listen(
      { address: '127.0.0.1', port: 0 },
      bytes(),
      async (packet, from) => {
        seen.push(Buffer.from(packet));
        await from.sendPacket(Buffer.concat([Buffer.from('ok:'), packet]));
      },
      { busyPoll: 200 },
    ),
  );
  const tx = await startPeer(t, 'udp_peer.py', ['exchange', '127.0.0.1', String(server.getLocalName().port), '20']);
  const { sent } = await tx.nextJson<{ sent: string[] }>();
  const replies = [];
  for (let i = 0; i < sent.length; i++) replies.push((await tx.nextJson()).hex as string);
  t.deepEqual(
    seen.map((p) => p.toString('hex')),
    sent,
  );
  t.deepEqual(
    replies,
    sent.map((h) => Buffer.concat([Buffer.from('ok:'), Buffer.from(h, 'hex')]).toString('hex')),
  );
});

test('a flooded busy-polling receiver still lets timers run, and loses or repeats nothing', async (t) => {
  // Four node processes sending with sendPackets keep the queue from running dry for long:
  // without its 1 ms limit a busy-polling wakeup would last as long as they keep it fed.
  const count = 50_000;
  const senders = 4;
  const dir = tempDir(t);
  const path = join(dir, 'flood.sock');
  const endpoint = autoClose(t, await UnixDatagramEndpoint.bind(path, bytes(), { busyPoll: BUSY_POLL_MAX_MICROS }));
  let received = 0;
  let first = 0;
  let ticksAtFirst = 0;
  let ticks = 0;
  let lastTick = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    ticks++;
    const now = performance.now();
    if (first > 0) maxGap = Math.max(maxGap, now - lastTick);
    lastTick = now;
  }, 10);
  t.teardown(() => clearInterval(timer));
  const peers = Array.from({ length: senders }, (_, tag) =>
    startNodeFixture(t, 'flood-sender.ts', [path, String(count), '16', String(tag)]),
  );
  const next = Array.from({ length: senders }, () => 0);
  for await (const { packet } of endpoint.iterReceivedPacketsFrom({ timeout: 120 })) {
    if (received === 0) {
      first = performance.now();
      ticksAtFirst = ticks;
    }
    const [tag, i] = [packet.readUInt32BE(0), packet.readUInt32BE(4)];
    // Each sender's datagrams in its order, each once: no loss, no repeat.
    if (packet.length !== 16 || i !== next[tag]) {
      t.fail(`datagram ${received}: sender ${tag}'s #${i} (${packet.length} bytes), expected #${next[tag]}`);
      break;
    }
    next[tag] = i + 1;
    if (++received === count * senders) break;
  }
  const elapsed = performance.now() - first;
  const during = ticks - ticksAtFirst;
  // The iterator's timeout is the whole loop's waiting (a failure guard): it ends the loop.
  if (received !== count * senders) return t.fail(`the loop ended after ${received} datagrams: ${JSON.stringify(next)}`);
  for (const peer of peers) t.deepEqual(await peer.nextJson(), { sent: count });
  t.log(
    `${received} datagrams in ${elapsed.toFixed(0)} ms, ${during} ticks of a 10 ms interval meanwhile, max gap ${maxGap.toFixed(1)} ms`,
  );
  // The longest the loop went without running the interval: 16-23 ms here with the limit,
  // 200-1 230 ms without it.
  t.true(maxGap < 500, `the interval waited ${maxGap.toFixed(0)} ms for the loop`);
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
    ['Adaptive', 'ERR_INVALID_ARG_TYPE'],
    [true, 'ERR_INVALID_ARG_TYPE'],
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
