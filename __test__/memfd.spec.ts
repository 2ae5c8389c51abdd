// largePayloads: 'memfd': a payload the kernel refuses as too big for a datagram goes as a
// sealed memfd in a zero-length datagram (journald's native protocol), and a receiver with
// the option turns it back into the payload; python sends memfds with chosen seals as a
// peer that is not our code. The journald end-to-end case is in journald.spec.ts.
import test from 'ava';
import path from 'node:path';
import { Buffer } from 'node:buffer';

import {
  BytesSerializer,
  DatagramProtocol,
  ErrorCodes,
  UnixDatagramClient,
  UnixDatagramEndpoint,
  UnixDatagramServer,
} from '../src/index.js';
import { autoClose, newFds, openFds, pattern, startPeer, tempDir } from './helpers.js';

const bytes = new DatagramProtocol(new BytesSerializer());
/** Past the 4 MiB the kernel allocates for one datagram, so EMSGSIZE even for root. */
const HUGE = 16 << 20;

test.serial('a 16 MiB packet goes sealed from client to endpoint, in order with small ones, byte-exact', async (t) => {
  const addr = path.join(tempDir(t), 'rx.sock');
  const rx = autoClose(t, await UnixDatagramEndpoint.bind(addr, bytes, { largePayloads: 'memfd', maxPayloadSize: 32 << 20 }));
  const client = autoClose(t, await UnixDatagramClient.connect(addr, bytes, { largePayloads: 'memfd' }));
  const big = pattern(HUGE);
  const fdsBefore = openFds();
  await client.sendPacket(Buffer.from('first'));
  await client.sendPacket(big);
  await client.sendPacket([Buffer.from('gathered '), big.subarray(0, 5 << 20)]);
  client.sendPacketSync(Buffer.from('sync'));
  await client.sendPackets([Buffer.from('a'), big, Buffer.from('b')]);
  const got: Buffer[] = [];
  for (let i = 0; i < 7; i++) got.push((await rx.recvPacketFrom({ timeout: 10 })).packet);
  t.deepEqual(
    got.map((p) => p.length),
    [5, HUGE, 9 + (5 << 20), 4, 1, HUGE, 1],
  );
  t.true(got[1]?.equals(big));
  t.true(got[2]?.equals(Buffer.concat([Buffer.from('gathered '), big.subarray(0, 5 << 20)])));
  t.true(got[5]?.equals(big));
  t.deepEqual(newFds(fdsBefore), [], 'every memfd closed on both ends');
});

test.serial('endpoint sendPacketTo and sendPacketsTo seal too; a server receives and answers sealed', async (t) => {
  const dir = tempDir(t);
  const serverPath = path.join(dir, 'srv.sock');
  const server = autoClose(
    t,
    await UnixDatagramServer.listen(
      serverPath,
      bytes,
      async (packet, client) => {
        await client.sendPacket(Buffer.concat([Buffer.from('echo:'), packet.subarray(0, 16)]));
        await client.sendPacket(packet);
      },
      { largePayloads: 'memfd' },
    ),
  );
  t.truthy(server);
  const ep = autoClose(t, await UnixDatagramEndpoint.bind({ autobind: true }, bytes, { largePayloads: 'memfd' }));
  const big = pattern(HUGE);
  await ep.sendPacketTo(big, serverPath);
  t.deepEqual((await ep.recvPacketFrom({ timeout: 10 })).packet, Buffer.concat([Buffer.from('echo:'), big.subarray(0, 16)]));
  t.true((await ep.recvPacketFrom({ timeout: 10 })).packet.equals(big));
  await ep.sendPacketsTo([
    { packet: Buffer.from('x'), address: serverPath },
    { packet: big.subarray(1), address: serverPath },
  ]);
  const replies = [];
  for (let i = 0; i < 4; i++) replies.push((await ep.recvPacketFrom({ timeout: 10 })).packet.length);
  t.deepEqual(replies, [6, 1, 21, HUGE - 1]);
});

test.serial('without the option a too-big packet is EMSGSIZE, and a sealed memfd arrives as an fd', async (t) => {
  const addr = path.join(tempDir(t), 'rx.sock');
  const rx = autoClose(t, await UnixDatagramEndpoint.bind(addr, bytes));
  const client = autoClose(t, await UnixDatagramClient.connect(addr, bytes));
  await t.throwsAsync(client.sendPacket(pattern(HUGE)), { code: 'EMSGSIZE' });
  const sealer = autoClose(t, await UnixDatagramClient.connect(addr, bytes, { largePayloads: 'memfd' }));
  await sealer.sendPacket(pattern(HUGE));
  const { packet, ancillary } = await rx.recvPacketFrom({ timeout: 10 });
  t.is(packet.length, 0);
  t.is(ancillary?.fdCount, 1);
  ancillary?.close();
});

for (const [seals, code] of [
  ['write,shrink,grow,seal', undefined],
  ['write,shrink,grow', undefined],
  ['none', ErrorCodes.MEMFD_NOT_SEALED],
  ['shrink,grow', ErrorCodes.MEMFD_NOT_SEALED],
] as const) {
  test.serial(`python's memfd sealed with ${seals}: ${code ?? 'the payload'}`, async (t) => {
    const dir = tempDir(t);
    const peer = await startPeer(t, 'sender.py', [path.join(dir, 'tx.sock'), 'memfd', String(6 << 20), seals]);
    const rx = autoClose(t, await UnixDatagramEndpoint.bind(path.join(dir, 'rx.sock'), bytes, { largePayloads: 'memfd' }));
    const fdsBefore = openFds();
    await rx.sendPacketTo(Buffer.from('go'), path.join(dir, 'tx.sock'));
    if (code === undefined) {
      const { packet, ancillary } = await rx.recvPacketFrom({ timeout: 10 });
      t.true(packet.equals(pattern(6 << 20)));
      t.is(ancillary, undefined, 'the memfd became the payload');
    } else {
      await t.throwsAsync(rx.recvPacketFrom({ timeout: 10 }), { code });
    }
    await peer.nextJson();
    t.deepEqual(newFds(fdsBefore), [], 'the memfd is closed either way');
  });
}

test.serial('a memfd larger than maxPayloadSize is ERR_UNIXGRAM_PAYLOAD_TOO_LARGE, and the next packet still comes', async (t) => {
  const addr = path.join(tempDir(t), 'rx.sock');
  const rx = autoClose(t, await UnixDatagramEndpoint.bind(addr, bytes, { largePayloads: 'memfd', maxPayloadSize: 1 << 20 }));
  const client = autoClose(t, await UnixDatagramClient.connect(addr, bytes, { largePayloads: 'memfd' }));
  await client.sendPacket(pattern(HUGE));
  await client.sendPacket(Buffer.from('after'));
  const err = await t.throwsAsync(rx.recvPacketFrom({ timeout: 10 }), { code: ErrorCodes.PAYLOAD_TOO_LARGE });
  t.regex(err?.message ?? '', /maxPayloadSize/);
  t.deepEqual((await rx.recvPacketFrom({ timeout: 10 })).packet, Buffer.from('after'));
});

test.serial('the options are checked before any socket exists', async (t) => {
  const addr = path.join(tempDir(t), 'none.sock');
  await t.throwsAsync(UnixDatagramEndpoint.bind(addr, bytes, { largePayloads: 'mmap' as 'memfd' }), { code: 'ERR_INVALID_ARG_VALUE' });
  await t.throwsAsync(UnixDatagramEndpoint.bind(addr, bytes, { largePayloads: 'memfd', maxPayloadSize: -1 }), {
    code: 'ERR_OUT_OF_RANGE',
  });
  await t.throwsAsync(UnixDatagramClient.connect(addr, bytes, { maxPayloadSize: 10 }), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => UnixDatagramClient.socketpair(bytes, { largePayloads: 'file' as 'memfd' }), { code: 'ERR_INVALID_ARG_VALUE' });
  const [a, b] = UnixDatagramClient.socketpair(bytes, { largePayloads: 'memfd' });
  autoClose(t, [a, b]);
  await a.sendPacket(pattern(HUGE));
  t.is((await b.recvPacket({ timeout: 10 })).length, HUGE);
});
