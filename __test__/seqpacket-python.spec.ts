// UnixSeqpacketServer and UnixSeqpacketClient against python3 SOCK_SEQPACKET peers (standard
// `socket` module): message boundaries, order, the end of the stream, many connections at once.
import test from 'ava';
import path from 'node:path';
import {
  BytesSerializer,
  DatagramProtocol,
  JSONSerializer,
  StringSerializer,
  UnixSeqpacketClient,
  UnixSeqpacketServer,
  type SystemError,
} from '../src/index.js';
import { autoClose, pattern, startPeer, tempDir } from './helpers.js';

const bytes = () => new DatagramProtocol(new BytesSerializer());
const json = () => new DatagramProtocol(new JSONSerializer());
const strings = () => new DatagramProtocol(new StringSerializer());

/** A promise with its resolve function outside. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Yields to the event loop until `cond()` holds; fails after `guardMs` (a failure guard, not synchronisation). */
async function until(cond: () => boolean, what: string, guardMs = 20_000): Promise<void> {
  const deadline = Date.now() + guardMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after ${guardMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

test('python client: 1, 100, 65 536 and 200 000-byte packets keep their boundaries, replies come in order, and its close return()s the conversation', async (t) => {
  const sockPath = path.join(tempDir(t), 'sizes.sock');
  const received: Array<{ size: number; intact: boolean }> = [];
  const thrown: unknown[] = [];
  let conversations = 0;
  let connectionsSeen = -1;
  const finished = deferred();
  const server = autoClose(
    t,
    await UnixSeqpacketServer.listen(sockPath, bytes(), {
      async *handle(client) {
        conversations++;
        connectionsSeen = server.connections;
        try {
          for (;;) {
            const packet = yield;
            received.push({ size: packet.length, intact: packet.equals(pattern(packet.length)) });
            await client.sendPacket(packet);
          }
        } catch (err) {
          thrown.push(err);
          throw err;
        } finally {
          finished.resolve();
        }
      },
    }),
  );

  const sizes = [1, 100, 65_536, 200_000];
  const peer = await startPeer(t, 'seqpacket_client.py', ['sizes', sockPath, ...sizes.map(String)]);
  t.deepEqual(
    await peer.nextJson(),
    { replies: sizes.map((size) => ({ size, intact: true, truncated: false })) },
    'each reply is exactly the packet sent, in the order sent',
  );
  await peer.waitExit();

  await finished.promise; // python closed: the conversation waiting at `yield` is ended
  t.deepEqual(
    received,
    sizes.map((size) => ({ size, intact: true })),
  );
  t.is(conversations, 1, 'one conversation for the whole connection');
  t.is(connectionsSeen, 1);
  t.deepEqual(thrown, [], 'the generator was return()ed, not thrown into');
  await until(() => server.connections === 0, 'back to 0 connections');
  t.is(server.connections, 0);
});

test('our client to a python server: 1 MiB arrives whole (SO_SNDBUF is raised), 8 MiB is EMSGSIZE and nothing is sent', async (t) => {
  const sockPath = path.join(tempDir(t), 'measure.sock');
  const peer = await startPeer(t, 'seqpacket_server.py', ['measure', sockPath, '3']);
  const client = autoClose(t, await UnixSeqpacketClient.connect(sockPath, bytes()));

  await client.sendPacket(pattern(1));
  await client.sendPacket(pattern(1 << 20));
  const err = await t.throwsAsync<SystemError>(client.sendPacket(pattern(8 << 20)));
  t.is(err.code, 'EMSGSIZE');
  t.is(err.syscall, 'sendmsg');
  t.is(err.errno, -90);
  t.is(err.address, sockPath);
  t.true(err.message.startsWith(`sendmsg EMSGSIZE ${sockPath}: a datagram of 8388608 bytes is larger than`), err.message);
  await client.sendPacket(pattern(3));
  t.deepEqual(await peer.nextJson(), {
    packets: [
      { size: 1, intact: true, truncated: false },
      { size: 1 << 20, intact: true, truncated: false },
      { size: 3, intact: true, truncated: false },
    ],
  });
});

test('python server: packets both ways; its close ends our iteration after every packet it sent, then PEER_CLOSED and EPIPE', async (t) => {
  const sockPath = path.join(tempDir(t), 'echo.sock');
  const peer = await startPeer(t, 'seqpacket_server.py', ['echo', sockPath, '3', '3']);
  const client = autoClose(t, await UnixSeqpacketClient.connect(sockPath, strings()));
  t.deepEqual(client.getPeerName(), { path: sockPath });
  t.deepEqual(client.getLocalName(), { unnamed: true });

  for (const text of ['one', 'twö', 'three ✓']) await client.sendPacket(text);
  const got: string[] = [];
  for await (const packet of client) got.push(packet);
  t.deepEqual(got, ['echo:one', 'echo:twö', 'echo:three ✓', 'bye-0', 'bye-1', 'bye-2']);
  t.deepEqual(await peer.nextJson(), { received: ['one', 'twö', 'three ✓'] });
  t.true(client.ended);

  const closed = await t.throwsAsync<SystemError>(client.recvPacket({ timeout: 20 }));
  t.is(closed.code, 'ERR_UNIXGRAM_PEER_CLOSED');
  const again = await t.throwsAsync<SystemError>(client.recvPacket({ timeout: 20 }));
  t.is(again.code, 'ERR_UNIXGRAM_PEER_CLOSED', 'the end of the stream stays the end');

  await peer.waitExit();
  const pipe = await t.throwsAsync<SystemError>(client.sendPacket('anyone?'));
  t.is(pipe.code, 'EPIPE');
  t.is(pipe.errno, -32);
  t.is(pipe.syscall, 'send');
  t.is(pipe.address, sockPath);
  t.is(pipe.message, `send EPIPE ${sockPath}: the peer closed the connection`);
});

test('50 python connections at once, interleaved: each keeps its own running total in its own conversation', async (t) => {
  const sockPath = path.join(tempDir(t), 'totals.sock');
  let most = 0;
  const server = autoClose(
    t,
    await UnixSeqpacketServer.listen(sockPath, json(), {
      async *handle(client) {
        most = Math.max(most, server.connections);
        let total = 0;
        for (;;) {
          total += (yield) as number;
          await client.sendPacket(total);
        }
      },
    }),
  );
  const CONNS = 50;
  const ROUNDS = 5;
  const peer = await startPeer(t, 'seqpacket_client.py', ['many', sockPath, String(CONNS), String(ROUNDS)]);
  const { totals } = await peer.nextJson<{ totals: number[][] }>();
  const expected = Array.from({ length: CONNS }, (_, c) => {
    let total = 0;
    return Array.from({ length: ROUNDS }, (_, r) => (total += c * 1000 + r));
  });
  t.deepEqual(totals, expected);
  t.is(most, CONNS, 'all 50 connections were open at once');
  await peer.waitExit();
  await until(() => server.connections === 0, 'back to 0 connections');
});

test('50 of our clients at once: each conversation sees only its own packets, in order', async (t) => {
  const sockPath = path.join(tempDir(t), 'mine.sock');
  autoClose(
    t,
    await UnixSeqpacketServer.listen(sockPath, json(), {
      async *handle(client) {
        const { id } = (yield) as { id: number };
        const seen: number[] = [];
        for (;;) {
          const packet = (yield) as { id: number; i: number };
          seen.push(packet.id === id ? packet.i : -1);
          await client.sendPacket({ id, seen: [...seen] });
        }
      },
    }),
  );
  const clients = await Promise.all(Array.from({ length: 50 }, () => UnixSeqpacketClient.connect(sockPath, json())));
  autoClose(t, clients);
  await Promise.all(clients.map((c, id) => c.sendPacket({ id })));
  const replies = await Promise.all(
    clients.map(async (c, id) => {
      const out = [];
      for (let i = 0; i < 4; i++) {
        await c.sendPacket({ id, i });
        out.push(await c.recvPacket({ timeout: 20 }));
      }
      return out;
    }),
  );
  replies.forEach((out, id) =>
    t.deepEqual(
      out,
      [1, 2, 3, 4].map((n) => ({ id, seen: [0, 1, 2, 3].slice(0, n) })),
    ),
  );
});
