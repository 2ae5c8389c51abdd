// Gather send: a packet of several buffers is one datagram (sendmsg iovecs), never
// concatenated first, through every send of the client, the endpoint and the server; a
// python receiver (the standard socket module) sees the bytes of each datagram whole.
import test from 'ava';
import path from 'node:path';
import { Buffer } from 'node:buffer';

import {
  BytesSerializer,
  DatagramProtocol,
  UnixDatagramClient,
  UnixDatagramEndpoint,
  UnixDatagramServer,
  type Serializer,
} from '../src/index.js';
import { autoClose, pattern, startPeer, tempDir } from './helpers.js';

const bytes = new DatagramProtocol(new BytesSerializer());

const header = Buffer.from('HDR:0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab');
const body = pattern(64 << 10);

async function recorder(t: Parameters<typeof tempDir>[0], count: number) {
  const addr = path.join(tempDir(t), 'rx.sock');
  // 'linger': stay bound after the last datagram, so later connects in a test still find it.
  const peer = await startPeer(t, 'datagrams.py', ['record', addr, String(count), 'linger']);
  const next = async (): Promise<Buffer> => Buffer.from(String((await peer.nextJson()).hex), 'hex');
  return { addr, next };
}

test('sendPacket([header, body]) is one datagram of both, in order, from the client', async (t) => {
  const rx = await recorder(t, 3);
  const client = autoClose(t, await UnixDatagramClient.connect(rx.addr, bytes));
  await client.sendPacket([header, body]);
  await client.sendPacket([Buffer.alloc(0), header, Buffer.alloc(0)]);
  client.sendPacketSync([body, header]);
  t.deepEqual(await rx.next(), Buffer.concat([header, body]));
  t.deepEqual(await rx.next(), header);
  t.deepEqual(await rx.next(), Buffer.concat([body, header]));
});

test('sendPackets takes arrays too: each packet its own gathered datagram', async (t) => {
  const rx = await recorder(t, 40);
  const client = autoClose(t, await UnixDatagramClient.connect(rx.addr, bytes));
  const packets = Array.from({ length: 40 }, (_, i) => (i % 2 ? [Buffer.from([i]), header.subarray(0, i)] : Buffer.from([i])));
  await client.sendPackets(packets);
  for (const p of packets) t.deepEqual(await rx.next(), Array.isArray(p) ? Buffer.concat(p) : p);
});

test('the endpoint gathers in sendPacketTo and sendPacketsTo, a server reply in send', async (t) => {
  const rx = await recorder(t, 3);
  const endpoint = autoClose(t, await UnixDatagramEndpoint.bind(null, bytes));
  await endpoint.sendPacketTo([header, body], rx.addr);
  await endpoint.sendPacketsTo([{ packet: [body.subarray(0, 10), header], address: rx.addr }]);
  t.deepEqual(await rx.next(), Buffer.concat([header, body]));
  t.deepEqual(await rx.next(), Buffer.concat([body.subarray(0, 10), header]));

  const serverPath = path.join(tempDir(t), 'srv.sock');
  const server = autoClose(
    t,
    await UnixDatagramServer.listen(serverPath, bytes, (packet, client) => {
      void client.sendPacket([Buffer.from('re:'), packet]);
    }),
  );
  t.truthy(server);
  const client = autoClose(t, await UnixDatagramClient.connect(serverPath, bytes));
  await client.sendPacket([Buffer.from('a'), Buffer.from('b')]);
  t.deepEqual(await client.recvPacket({ timeout: 5 }), Buffer.from('re:ab'));
  await endpoint.sendPacketTo(header, rx.addr);
  t.deepEqual(await rx.next(), header);
});

test('a serializer may return chunks; anything else in the array is ERR_INVALID_ARG_TYPE before a send', async (t) => {
  const rx = await recorder(t, 1);
  const framed: Serializer<string, Buffer> = {
    serialize: (s) => [Buffer.from([s.length]), Buffer.from(s)],
    deserialize: (b) => b,
  };
  const client = autoClose(t, await UnixDatagramClient.connect(rx.addr, new DatagramProtocol(framed)));
  await client.sendPacket('hello');
  t.deepEqual(await rx.next(), Buffer.from('\x05hello', 'latin1'));

  const raw = autoClose(t, await UnixDatagramClient.connect(rx.addr, bytes));
  await t.throwsAsync(raw.sendPacket([header, 'text' as unknown as Buffer]), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.throwsAsync(raw.sendPackets([header, [header, 5]] as unknown as Buffer[]), { code: 'ERR_INVALID_ARG_TYPE' });
  const bad: Serializer<number, Buffer> = { serialize: () => [header, {} as unknown as Buffer], deserialize: (b) => b };
  const badClient = autoClose(t, await UnixDatagramClient.connect(rx.addr, new DatagramProtocol(bad)));
  await t.throwsAsync(badClient.sendPacket(1), { code: 'ERR_INVALID_ARG_TYPE' });
});
