// reuseReceiveBuffer: datagrams from python's socket module are received into one lent
// buffer, reused once the caller asks again with nothing queued. Every datagram arrives
// whole and in order; a packet is intact until the next receive, even while the binding
// keeps reading (those datagrams go to fresh memory); the option is checked before any
// socket or descriptor is touched.
import test from 'ava';
import { Buffer } from 'node:buffer';
import { setTimeout as sleep } from 'node:timers/promises';

import { BytesSerializer, DatagramProtocol, JSONSerializer, UnixDatagramClient, UnixDatagramEndpoint } from '../src/index.js';
import { LENT_CHUNK_SIZE } from '../src/native/binding.js';
import { abstractName, atName, autoClose, fdIsOpen, startPeer } from './helpers.js';

const bytes = () => new DatagramProtocol(new BytesSerializer());

/** What `sender.py seq` sends as datagram `i` of `size` bytes. */
function expected(i: number, size: number): Buffer {
  const out = Buffer.alloc(size, i % 251);
  out.writeUInt32BE(i, 0);
  return out;
}

/** A python sender of `count` datagrams of `size` bytes to a client with the option. */
async function flood(t: Parameters<typeof startPeer>[0], count: number, size: number) {
  const name = abstractName('reuse');
  const peer = await startPeer(t, 'sender.py', [atName(name), 'seq', String(count), String(size)]);
  const client = autoClose(t, await UnixDatagramClient.connect({ abstract: name }, bytes(), { reuseReceiveBuffer: true }));
  await client.sendPacket(Buffer.from('go'));
  return { peer, client };
}

test('every 64 KiB datagram from python arrives whole and in order', async (t) => {
  const count = 3000;
  const size = 64 << 10;
  const { peer, client } = await flood(t, count, size);
  const seen = new Set<string>();
  let reused = 0;
  let i = 0;
  for await (const packet of client.iterReceivedPackets({ timeout: 120 })) {
    t.is(packet.length, size);
    if (!packet.equals(expected(i, size))) t.fail(`datagram ${i} differs`);
    // The same memory at the same place again: only the lent buffer comes back.
    const where = `${packet.buffer.byteLength}:${packet.byteOffset}`;
    if (seen.has(where) && packet.buffer.byteLength === LENT_CHUNK_SIZE) reused++;
    seen.add(where);
    if (++i === count) break;
  }
  t.is(i, count);
  t.deepEqual(await peer.nextJson(), { sent: count });
  // How often the queue was empty when the loop asked again depends on the two processes'
  // speeds; the lockstep test below is the one that requires reuse.
  t.log(`the lent buffer came back ${reused} times in ${count}`);
});

test('in lockstep (queue empty at every receive) each 64 KiB datagram lands at the same place in the lent buffer', (t) => {
  const [rx, tx] = UnixDatagramClient.socketpair(bytes(), { reuseReceiveBuffer: true });
  autoClose(t, [rx, tx]);
  const size = 64 << 10;
  const places = new Set<string>();
  let previous: Buffer | undefined;
  for (let i = 0; i < 50; i++) {
    tx.sendPacketSync(expected(i, size));
    const packet = rx.recvPacketSync({ timeout: 20 });
    if (!packet.equals(expected(i, size))) t.fail(`datagram ${i} differs`);
    t.is(packet.buffer.byteLength, LENT_CHUNK_SIZE, `datagram ${i} is in the lent buffer`);
    places.add(`${packet.byteOffset}`);
    // The previous packet was given back by this receive: it now holds this datagram.
    if (previous) t.true(previous.equals(packet), `datagram ${i} overwrote datagram ${i - 1}`);
    previous = packet;
  }
  t.is(places.size, 1, `offsets seen: ${[...places].join(', ')}`);
});

test('a packet stays intact until the next receive while the binding keeps reading', async (t) => {
  const count = 300;
  const size = 64 << 10;
  const { peer, client } = await flood(t, count, size);
  let i = 0;
  for await (const packet of client.iterReceivedPackets({ timeout: 120 })) {
    // The iterator keeps reading between steps: what arrives now must not land on it.
    if (i % 10 === 0) await sleep(5);
    if (!packet.equals(expected(i, size))) t.fail(`datagram ${i} changed before the next receive`);
    if (++i === count) break;
  }
  t.is(i, count);
  t.deepEqual(await peer.nextJson(), { sent: count });
});

test('recvPacket and recvPacketSync on a client with the option, small datagrams too', async (t) => {
  const count = 500;
  const { peer, client } = await flood(t, count, 100);
  for (let i = 0; i < count; i++) {
    const packet = i % 2 ? client.recvPacketSync({ timeout: 20 }) : await client.recvPacket({ timeout: 20 });
    if (!packet.equals(expected(i, 100))) t.fail(`datagram ${i} differs`);
  }
  t.deepEqual(await peer.nextJson(), { sent: count });
  t.pass();
});

test('an endpoint with the option: recvPacketFrom with a decoding serializer', async (t) => {
  const endpoint = autoClose(
    t,
    await UnixDatagramEndpoint.bind({ abstract: abstractName('reuse-ep') }, new DatagramProtocol(new JSONSerializer()), {
      reuseReceiveBuffer: true,
    }),
  );
  const objects = Array.from({ length: 50 }, (_, i) => ({ i, pad: 'x'.repeat(i * 300) }));
  const tx = abstractName('reuse-tx');
  const peer = await startPeer(t, 'sender.py', [atName(tx), 'raw', ...objects.map((o) => Buffer.from(JSON.stringify(o)).toString('hex'))]);
  await endpoint.sendPacketTo({ go: true }, { abstract: tx });
  for (const object of objects) {
    const { packet, address } = await endpoint.recvPacketFrom({ timeout: 20 });
    t.deepEqual(packet, object);
    t.deepEqual(address, { abstract: tx });
  }
  t.deepEqual(await peer.nextJson(), { sent: objects.length });
});

test('the option is checked before any socket exists, and fromFd leaves the fd open when it is wrong', async (t) => {
  const err = await t.throwsAsync(
    UnixDatagramClient.connect({ abstract: abstractName('never') }, bytes(), { reuseReceiveBuffer: 'yes' as unknown as boolean }),
  );
  t.is((err as NodeJS.ErrnoException).code, 'ERR_INVALID_ARG_TYPE');
  const [a, b] = UnixDatagramClient.socketpair(bytes());
  autoClose(t, [a, b]);
  const fd = b.dupFd();
  const thrown = t.throws(() => UnixDatagramClient.fromFd(fd, bytes(), { reuseReceiveBuffer: 1 as unknown as boolean }));
  t.is((thrown as NodeJS.ErrnoException).code, 'ERR_INVALID_ARG_TYPE');
  t.true(fdIsOpen(fd));
  const adopted = autoClose(t, UnixDatagramClient.fromFd(fd, bytes(), { reuseReceiveBuffer: false }));
  t.false(adopted.closed);
});
