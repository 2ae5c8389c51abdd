// Cancellation everywhere: every async call takes a signal, sends take a timeout (seconds);
// a send withdrawn while it waits for room is never sent, later or in part; a client is
// async-iterable until it closes. The full queues are real: a python receiver that does not
// read until told to (peers/held_receiver.py).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { DatagramProtocol, StringSerializer, TimeoutError, UnixDatagramClient, UnixDatagramServer } from '../src/index.js';
import { autoClose, newFds, openFds, PEERS_DIR, LineProcess, startPeer, tempDir } from './helpers.js';

const strings = () => new DatagramProtocol(new StringSerializer());

/** A python receiver holding its queue full, and a client connected to it. */
async function heldReceiver(
  t: import('ava').ExecutionContext,
): Promise<{ rx: LineProcess; client: UnixDatagramClient<string, string>; file: string }> {
  const file = path.join(tempDir(t), 'held.sock');
  const rx = new LineProcess('held receiver', 'python3', [path.join(PEERS_DIR, 'held_receiver.py'), file]);
  t.teardown(() => void rx.kill());
  t.deepEqual(await rx.nextJson(), { ready: true });
  const client = autoClose(t, await UnixDatagramClient.connect(file, strings()));
  return { rx, client, file };
}

/** Send `q0`, `q1`, … until the receiver's queue is full (a send that would wait); their texts. */
function fill(client: UnixDatagramClient<string, string>): string[] {
  const sent: string[] = [];
  for (;;) {
    try {
      client.sendPacketSync(`q${sent.length}`, { timeout: 0 });
    } catch (err) {
      if (err instanceof TimeoutError) return sent;
      throw err;
    }
    sent.push(`q${sent.length}`);
  }
}

/** Let the receiver read everything up to END; what it got. */
async function drain(rx: LineProcess, client: UnixDatagramClient<string, string>, before: Promise<unknown>[] = []): Promise<string[]> {
  rx.child.kill('SIGUSR1');
  await Promise.allSettled(before);
  await client.sendPacket('END');
  return (await rx.nextJson<{ got: string[] }>()).got;
}

test('a send waiting for room is withdrawn by its signal or timeout and never sent; the sends behind it keep their order', async (t) => {
  const { rx, client } = await heldReceiver(t);
  const queued = fill(client);
  t.true(queued.length >= 2, `the kernel queued ${queued.length}`);

  await t.throwsAsync(client.sendPacket('never: already aborted', { signal: AbortSignal.abort('no') }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
  const ac = new AbortController();
  const aborted = client.sendPacket('never: aborted while waiting', { signal: ac.signal });
  const timedOut = client.sendPacket('never: timed out', { timeout: 0.05 });
  const after = client.sendPacket('after');
  ac.abort(new Error('changed my mind'));
  const abortErr = await t.throwsAsync(aborted, { name: 'AbortError', code: 'ABORT_ERR' });
  t.is((abortErr.cause as Error).message, 'changed my mind');
  const timeoutErr = await t.throwsAsync(timedOut, { instanceOf: TimeoutError, code: 'ETIMEDOUT' });
  t.regex(timeoutErr.message, /queue stayed full for 0\.05 s: the datagram was not sent/);

  t.deepEqual(await drain(rx, client, [after]), [...queued, 'after']);
  await after;
});

test('AbortSignal.timeout(ms) bounds a waiting send in milliseconds', async (t) => {
  const { rx, client } = await heldReceiver(t);
  const queued = fill(client);
  const err = await t.throwsAsync(client.sendPacket('never', { signal: AbortSignal.timeout(30) }), { code: 'ABORT_ERR' });
  t.is((err.cause as DOMException).name, 'TimeoutError');
  t.deepEqual(await drain(rx, client), queued);
});

test('sendPackets: a timeout while waiting rejects with how many went out, and the rest are never sent', async (t) => {
  const { rx, client } = await heldReceiver(t);
  const packets = Array.from({ length: 200 }, (_, i) => `p${i}`);
  const err = await t.throwsAsync(client.sendPackets(packets, { timeout: 0.05 }), { instanceOf: TimeoutError, code: 'ETIMEDOUT' });
  const sent = (err as TimeoutError & { sent: number }).sent;
  t.true(sent > 0 && sent < packets.length, `sent ${sent}`);
  t.deepEqual(await drain(rx, client), packets.slice(0, sent));
});

test('sendPackets: an abort withdraws what waits; an aborted signal sends nothing', async (t) => {
  const { rx, client } = await heldReceiver(t);
  await t.throwsAsync(client.sendPackets(['a', 'b'], { signal: AbortSignal.abort() }), { code: 'ABORT_ERR' });
  const ac = new AbortController();
  const packets = Array.from({ length: 100 }, (_, i) => `p${i}`);
  const pending = client.sendPackets(packets, { signal: ac.signal });
  ac.abort();
  const err = await t.throwsAsync(pending, { code: 'ABORT_ERR' });
  const sent = (err as Error & { sent: number }).sent;
  t.deepEqual(await drain(rx, client), packets.slice(0, sent));
});

test("a server's reply waiting on a client that does not read is withdrawn by its timeout, never sent", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'server.sock');
  const rxPath = path.join(dir, 'client.sock');
  let report!: (r: { sent: number; code: string | undefined }) => void;
  const reported = new Promise<{ sent: number; code: string | undefined }>((resolve) => (report = resolve));
  autoClose(
    t,
    await UnixDatagramServer.listen(file, strings(), async (_packet, client) => {
      for (let sent = 0; ; sent++) {
        try {
          await client.sendPacket(`r${sent}`, { timeout: 0.05 });
        } catch (err) {
          report({ sent, code: (err as NodeJS.ErrnoException).code });
          return;
        }
      }
    }),
  );
  // The client: bound, not connected (so its queue is capped), asks once and does not read.
  const rx = new LineProcess('held receiver', 'python3', [path.join(PEERS_DIR, 'held_receiver.py'), rxPath, file]);
  t.teardown(() => void rx.kill());
  await rx.nextJson();
  const { sent, code } = await reported;
  t.is(code, 'ETIMEDOUT');
  t.true(sent > 0, `${sent} replies fitted`);
  const closer = autoClose(t, await UnixDatagramClient.connect(rxPath, strings()));
  t.deepEqual(
    await drain(rx, closer),
    Array.from({ length: sent }, (_, i) => `r${i}`),
  );
});

test('iterReceivedPackets({ signal }) ends with an AbortError; the next packet goes to the next receive', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(strings()));
  const ac = new AbortController();
  const it = b.iterReceivedPackets({ timeout: null, signal: ac.signal });
  await a.sendPacket('one');
  t.deepEqual(await it.next(), { done: false, value: 'one' });
  const waiting = it.next();
  ac.abort();
  await t.throwsAsync(waiting, { code: 'ABORT_ERR' });
  t.deepEqual(await it.next(), { done: true, value: undefined });
  await a.sendPacket('two');
  t.is(await b.recvPacket(), 'two');
  await t.throwsAsync(b.iterReceivedPackets({ signal: AbortSignal.abort() }).next(), { code: 'ABORT_ERR' });
});

test('for await (const packet of client) yields every packet until the client closes', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(strings()));
  const got: string[] = [];
  const loop = (async () => {
    for await (const packet of b) {
      got.push(packet);
      if (packet === 'last') void b.close();
    }
  })();
  await a.sendPackets(['x', 'y', 'z']);
  await a.sendPacket('last');
  await loop;
  t.deepEqual(got, ['x', 'y', 'z', 'last']);
});

test.serial('connect({ signal }): aborting closes the client; an aborted signal creates nothing', async (t) => {
  const file = path.join(tempDir(t), 'echo.sock');
  await startPeer(t, 'echo_server.py', [file]);
  const before = openFds();
  await t.throwsAsync(UnixDatagramClient.connect(file, strings(), { signal: AbortSignal.abort() }), { code: 'ABORT_ERR' });
  t.deepEqual(newFds(before), []);
  const ac = new AbortController();
  const client = autoClose(t, await UnixDatagramClient.connect(file, strings(), { signal: ac.signal }));
  const waiting = client.recvPacket();
  ac.abort();
  await t.throwsAsync(waiting, { code: 'ERR_UNIXGRAM_CLOSED' });
  t.true(client.closed);
  t.deepEqual(newFds(before), []);
});

test('listen({ signal }) and serveForever({ signal }): aborting closes the server and removes its socket file', async (t) => {
  const dir = tempDir(t);
  await t.throwsAsync(
    UnixDatagramServer.listen(path.join(dir, 'never.sock'), strings(), () => {}, { signal: AbortSignal.abort() }),
    { code: 'ABORT_ERR' },
  );
  t.deepEqual(fs.readdirSync(dir), []);

  const ac = new AbortController();
  const first = await UnixDatagramServer.listen(path.join(dir, 'a.sock'), strings(), () => {}, { signal: ac.signal });
  const serving = first.serveForever();
  ac.abort();
  await serving; // resolves: the server was closed
  t.true(first.closed);

  const second = await UnixDatagramServer.listen(path.join(dir, 'b.sock'), strings(), () => {});
  const stop = new AbortController();
  const forever = second.serveForever({ signal: stop.signal });
  stop.abort();
  await t.throwsAsync(forever, { code: 'ABORT_ERR' });
  t.true(second.closed);
  t.deepEqual(fs.readdirSync(dir), []);
});

test('recvPacket({ signal: AbortSignal.timeout(ms) }) rejects with an AbortError caused by a TimeoutError', async (t) => {
  const [, b] = autoClose(t, UnixDatagramClient.socketpair(strings()));
  const err = await t.throwsAsync(b.recvPacket({ signal: AbortSignal.timeout(20) }), { code: 'ABORT_ERR' });
  t.is((err.cause as DOMException).name, 'TimeoutError');
});
