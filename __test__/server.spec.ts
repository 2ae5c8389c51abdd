// UnixDatagramServer against real peers: python3 clients (standard `socket` module) and our own clients.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  BytesSerializer,
  DatagramProtocol,
  DatagramProtocolParseError,
  JSONSerializer,
  SocketAncillary,
  StringSerializer,
  UnixDatagramClient,
  UnixDatagramServer,
  type UnixDatagramServerClient,
} from '../src/index.js';
import { abstractName, atName, autoClose, closeQuietly, startPeer, tempDir, untilStalled } from './helpers.js';

const json = () => new DatagramProtocol(new JSONSerializer());
const strings = () => new DatagramProtocol(new StringSerializer());

/** Values pushed by callbacks, awaited one by one by the test (no sleeps). */
class Inbox<T> {
  readonly #items: T[] = [];
  readonly #waiters: Array<(v: T) => void> = [];
  push = (value: T): void => {
    const w = this.#waiters.shift();
    if (w) w(value);
    else this.#items.push(value);
  };
  next(): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift() as T);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

interface Reported {
  error: unknown;
  client: UnixDatagramServerClient<unknown> | undefined;
}

/** A FIFO's non-blocking read end and write end: the read end sees EOF once every write end is closed. */
function fifoEnds(dir: string): { read: number; write: number } {
  const file = path.join(dir, `fifo-${Math.random().toString(16).slice(2)}`);
  execFileSync('mkfifo', [file]);
  const read = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const write = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  return { read, write };
}
/** Whether every write end of the FIFO is closed (read gives EOF rather than EAGAIN). */
function writersGone(read: number): boolean {
  try {
    return fs.readSync(read, Buffer.alloc(16)) === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return false;
    throw err;
  }
}

test('an echo server answers 50 concurrent clients: 10 python peers and 40 of ours, 5 packets each', async (t) => {
  const sockPath = path.join(tempDir(t), 'echo.sock');
  const server = autoClose(
    t,
    await UnixDatagramServer.listen(sockPath, json(), {
      async *handle(client) {
        const request = yield;
        await client.sendPacket(request);
      },
    }),
  );
  t.deepEqual(server.getLocalName(), { path: sockPath });

  const pythons = Promise.all(
    Array.from({ length: 10 }, async () => {
      const peer = await startPeer(t, 'server_client.py', ['echo', sockPath, '5']);
      return peer.nextJson();
    }),
  );
  const ours = Promise.all(
    Array.from({ length: 40 }, async (_, c) => {
      const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));
      const replies = [];
      for (let i = 0; i < 5; i++) {
        await client.sendPacket({ c, i });
        replies.push(await client.recvPacket({ timeout: 20 }));
      }
      return replies;
    }),
  );
  for (const done of await pythons) t.like(done, { done: 5, ok: true });
  (await ours).forEach((replies, c) =>
    t.deepEqual(
      replies,
      [0, 1, 2, 3, 4].map((i) => ({ c, i })),
    ),
  );
});

test('a conversation handler keeps per-client state across packets; each client has its own', async (t) => {
  const sockPath = path.join(tempDir(t), 'sum.sock');
  autoClose(
    t,
    await UnixDatagramServer.listen(sockPath, json(), {
      async *handle(client) {
        let total = 0;
        for (;;) {
          const n = (yield) as number;
          if (n === 0) return void (await client.sendPacket({ final: total }));
          total += n;
          await client.sendPacket({ total });
        }
      },
    }),
  );
  const [a, b] = autoClose(t, [await UnixDatagramClient.connect(sockPath, json()), await UnixDatagramClient.connect(sockPath, json())]);
  const ask = async (c: UnixDatagramClient<unknown, unknown>, n: number) => {
    await c.sendPacket(n);
    return c.recvPacket({ timeout: 20 });
  };
  t.deepEqual(await ask(a, 1), { total: 1 });
  t.deepEqual(await ask(b, 10), { total: 10 });
  t.deepEqual(await ask(a, 2), { total: 3 });
  t.deepEqual(await ask(b, 20), { total: 30 });
  t.deepEqual(await ask(a, 0), { final: 3 });
  t.deepEqual(await ask(a, 5), { total: 5 }, 'a new conversation starts after the previous one returned');
  t.deepEqual(await ask(b, 0), { final: 30 });
});

test('a text server (StringSerializer) gets valid UTF-8 as text and invalid UTF-8 as a parse error with the raw bytes, in arrival order', async (t) => {
  const sockPath = path.join(tempDir(t), 'text.sock');
  const reported = new Inbox<Reported>();
  autoClose(
    t,
    await UnixDatagramServer.listen(
      sockPath,
      strings(),
      async (packet: string, client: UnixDatagramServerClient<string>) => {
        await client.sendPacket(`got ${packet}`);
      },
      { onError: (error, client) => reported.push({ error, client: client }) },
    ),
  );
  const raw = autoClose(t, await UnixDatagramClient.connect(sockPath, new DatagramProtocol(new BytesSerializer())));
  await raw.sendPacket(Buffer.from('héllo 😀')); // a batch of its own: text
  t.is((await raw.recvPacket({ timeout: 20 })).toString(), 'got héllo 😀');
  // one batch with an invalid payload comes as bytes: each datagram is still its own
  for (const bytes of [Buffer.from('✓'), Buffer.from([0xff, 0x41]), Buffer.from('after')]) raw.sendPacketSync(bytes);
  t.is((await raw.recvPacket({ timeout: 20 })).toString(), 'got ✓');
  const { error, client } = await reported.next();
  t.true(error instanceof DatagramProtocolParseError);
  t.deepEqual((error as DatagramProtocolParseError).datagram, Buffer.from([0xff, 0x41]));
  t.deepEqual(client?.address, raw.getLocalName());
  t.is((await raw.recvPacket({ timeout: 20 })).toString(), 'got after');
});

test('a handler that throws is reported with its client; the server keeps serving everyone', async (t) => {
  const sockPath = path.join(tempDir(t), 'boom.sock');
  const reported = new Inbox<Reported>();
  autoClose(
    t,
    await UnixDatagramServer.listen(
      sockPath,
      strings(),
      async (packet: string, client: UnixDatagramServerClient<string>) => {
        if (packet === 'boom') throw new Error('handler failed on purpose');
        await client.sendPacket(packet.toUpperCase());
      },
      { onError: (error, client) => reported.push({ error, client: client }) },
    ),
  );
  const [a, b] = autoClose(t, [
    await UnixDatagramClient.connect(sockPath, strings()),
    await UnixDatagramClient.connect(sockPath, strings()),
  ]);
  await a.sendPacket('boom');
  const { error, client } = await reported.next();
  t.is((error as Error).message, 'handler failed on purpose');
  t.deepEqual(client?.address, a.getLocalName());
  await b.sendPacket('still there?');
  t.is(await b.recvPacket({ timeout: 20 }), 'STILL THERE?');
  await a.sendPacket('and me');
  t.is(await a.recvPacket({ timeout: 20 }), 'AND ME');
});

test('garbage datagrams are reported as parse errors, their fds closed, and the sender still served', async (t) => {
  const dir = tempDir(t);
  const sockPath = path.join(dir, 'garbage.sock');
  const reported = new Inbox<Reported>();
  autoClose(
    t,
    await UnixDatagramServer.listen(
      sockPath,
      json(),
      {
        async *handle(client) {
          const request = yield;
          await client.sendPacket({ ok: request });
        },
      },
      { onError: (error, client) => reported.push({ error, client }) },
    ),
  );
  const raw = autoClose(t, await UnixDatagramClient.connect(sockPath, new DatagramProtocol(new BytesSerializer())));
  const fifo = fifoEnds(dir);
  t.teardown(() => closeQuietly(fifo.read));
  const ancillary = new SocketAncillary();
  ancillary.addFds([fifo.write]);
  await raw.sendPacket(Buffer.from('{not json'), { ancillary });
  fs.closeSync(fifo.write); // the server now holds the only write end
  const { error, client } = await reported.next();
  t.true(error instanceof DatagramProtocolParseError);
  t.is((error as DatagramProtocolParseError).code, 'ERR_UNIXGRAM_PARSE');
  t.is((error as DatagramProtocolParseError).datagram.toString(), '{not json');
  t.deepEqual(client?.address, raw.getLocalName());
  t.true(writersGone(fifo.read), 'the fd that came with the garbage was closed');
  await raw.sendPacket(Buffer.from('"fine"'));
  t.is((await raw.recvPacket({ timeout: 20 })).toString(), '{"ok":"fine"}');
});

test('fds a handler does not steal are closed after its step; stolen ones stay open', async (t) => {
  const dir = tempDir(t);
  const sockPath = path.join(dir, 'fds.sock');
  const stolen = new Inbox<number>();
  autoClose(
    t,
    await UnixDatagramServer.listen(sockPath, strings(), async (packet: string, client: UnixDatagramServerClient<string>) => {
      t.is(client.ancillary.fdCount, 1);
      if (packet === 'keep') stolen.push(client.ancillary.steal(0));
      await client.sendPacket('handled');
    }),
  );
  const c = autoClose(t, await UnixDatagramClient.connect(sockPath, strings()));
  const send = async (text: string) => {
    const fifo = fifoEnds(dir);
    t.teardown(() => closeQuietly(fifo.read));
    const ancillary = new SocketAncillary();
    ancillary.addFds([fifo.write]);
    await c.sendPacket(text, { ancillary });
    fs.closeSync(fifo.write);
    t.is(await c.recvPacket({ timeout: 20 }), 'handled');
    return fifo.read;
  };
  t.true(writersGone(await send('drop')));
  const kept = await send('keep');
  const fd = await stolen.next();
  t.false(writersGone(kept), 'the stolen fd is still open');
  fs.closeSync(fd);
  t.true(writersGone(kept));
});

test('an unbound sender is handled but cannot be answered: canReply is false and sendPacket says why', async (t) => {
  const sockPath = path.join(tempDir(t), 'unbound.sock');
  const seen = new Inbox<{ packet: string; address: unknown; canReply: boolean; error: unknown }>();
  autoClose(
    t,
    await UnixDatagramServer.listen(sockPath, strings(), {
      async *handle(client) {
        const packet = yield;
        const error = await client.sendPacket('hello?').then(
          () => null,
          (e: unknown) => e,
        );
        seen.push({ packet, address: client.address, canReply: client.canReply, error });
      },
    }),
  );
  const peer = await startPeer(t, 'server_client.py', ['unbound', sockPath, 'from nowhere']);
  t.like(await peer.nextJson(), { sent: true });
  const got = await seen.next();
  t.is(got.packet, 'from nowhere');
  t.deepEqual(got.address, { unnamed: true });
  t.false(got.canReply);
  t.like(got.error, { code: 'ERR_UNIXGRAM_UNNAMED_PEER' });
  t.regex((got.error as Error).message, /not bound to an address/);
});

test('a reply with options that are not an object is refused with ERR_INVALID_ARG_TYPE, and nothing is sent', async (t) => {
  const sockPath = path.join(tempDir(t), 'options.sock');
  autoClose(
    t,
    await UnixDatagramServer.listen(sockPath, strings(), {
      async *handle(client) {
        const packet = yield;
        const error = await client.sendPacket('never', 5 as unknown as object).then(
          () => null,
          (e: unknown) => e,
        );
        await client.sendPacket(`${packet}: ${(error as { code?: string } | null)?.code}`);
      },
    }),
  );
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, strings()));
  await client.sendPacket('hi');
  t.is(await client.recvPacket({ timeout: 10 }), 'hi: ERR_INVALID_ARG_TYPE');
});

test("passCredentials: the handler sees the python peer's pid, uid and gid, checked by the kernel", async (t) => {
  const name = abstractName('server-creds');
  const creds = new Inbox<unknown>();
  const server = autoClose(
    t,
    await UnixDatagramServer.listen(
      { abstract: name },
      json(),
      {
        async *handle(client) {
          const request = yield;
          creds.push(client.credentials);
          await client.sendPacket(request);
        },
      },
      { passCredentials: true },
    ),
  );
  t.deepEqual(server.getLocalName(), { abstract: name });
  const peer = await startPeer(t, 'server_client.py', ['echo', atName(name), '1']);
  t.like(await peer.nextJson(), { done: 1, ok: true });
  t.deepEqual(await creds.next(), { pid: peer.ready.pid, uid: process.getuid!(), gid: process.getgid!() });
});

test('replies to a client whose queue is full wait on that client only', async (t) => {
  const sockPath = path.join(tempDir(t), 'slow.sock');
  let sentToSlow = 0;
  autoClose(
    t,
    await UnixDatagramServer.listen(sockPath, json(), {
      async *handle(client) {
        const request = yield;
        if (request === 'flood') {
          for (let i = 0; i < 40; i++) {
            await client.sendPacket(i);
            sentToSlow++;
          }
        } else await client.sendPacket({ echo: request });
      },
    }),
  );
  // A python peer that sendto()s without connecting and then reads nothing: its queue fills up.
  const slow = await startPeer(t, 'server_client.py', ['slow', sockPath, '40']);
  while (sentToSlow === 0) await new Promise((resolve) => setImmediate(resolve));
  await untilStalled(() => sentToSlow);
  t.true(sentToSlow < 40, `the slow client's queue took ${sentToSlow} replies`);
  const fast = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));
  await fast.sendPacket('hi');
  t.deepEqual(await fast.recvPacket({ timeout: 20 }), { echo: 'hi' });
  slow.child.kill('SIGUSR1');
  t.deepEqual(
    (await slow.nextJson()).received,
    Array.from({ length: 40 }, (_, i) => i),
    'nothing dropped, in order',
  );
  t.is(sentToSlow, 40);
});

test('a flood beyond the per-client queue bound is neither dropped nor reordered', async (t) => {
  const sockPath = path.join(tempDir(t), 'flood.sock');
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const handled: number[] = [];
  const all = new Inbox<void>();
  autoClose(
    t,
    await UnixDatagramServer.listen(sockPath, json(), async (packet: unknown) => {
      await gate;
      handled.push(packet as number);
      if (handled.length === 1500) all.push();
    }),
  );
  const c = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));
  let allSent = false;
  const sending = c.sendPackets(Array.from({ length: 1500 }, (_, i) => i)).then(() => (allSent = true));
  await untilStalled(() => handled.length);
  t.is(handled.length, 0);
  t.false(allSent, 'the server stopped reading: the sender waits (kernel backpressure)');
  release();
  await sending;
  await all.next();
  t.deepEqual(
    handled,
    Array.from({ length: 1500 }, (_, i) => i),
  );
});

test('close() ends conversations waiting for a packet (their finally runs), then serveForever() resolves', async (t) => {
  const sockPath = path.join(tempDir(t), 'close.sock');
  const events: string[] = [];
  const server = await UnixDatagramServer.listen(sockPath, json(), {
    async *handle(client) {
      try {
        for (;;) await client.sendPacket(yield);
      } finally {
        events.push('finally');
      }
    },
  });
  const serving = server.serveForever().then(() => events.push('served'));
  const c = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));
  await c.sendPacket(1);
  t.is(await c.recvPacket({ timeout: 20 }), 1);
  await server.close();
  await serving;
  t.deepEqual(events, ['finally', 'served']);
  t.false(fs.existsSync(sockPath), 'the socket file is gone');
  t.throws(() => server.getLocalName(), { code: 'ERR_UNIXGRAM_CLOSED' });
  await server.close(); // idempotent
});

test('a conversation may wait with a timeout: TimeoutError is thrown into it at its yield', async (t) => {
  const name = abstractName('server-timeout');
  const outcome = new Inbox<string>();
  autoClose(
    t,
    await UnixDatagramServer.listen(`\0${name}`, strings(), {
      async *handle(client) {
        const first = yield;
        try {
          yield { timeout: 0.01 };
          outcome.push('second packet');
        } catch (err) {
          outcome.push(`${(err as Error).name} ${(err as { code: string }).code} after ${first}`);
        }
        await client.sendPacket('bye');
      },
    }),
  );
  const c = autoClose(t, await UnixDatagramClient.connect({ abstract: name }, strings()));
  await c.sendPacket('hello');
  t.is(await outcome.next(), 'TimeoutError ETIMEDOUT after hello');
  t.is(await c.recvPacket({ timeout: 20 }), 'bye');
});

test('listen() checks its arguments; mode is refused for an abstract name', async (t) => {
  const handler = async () => {};
  await t.throwsAsync(UnixDatagramServer.listen({ abstract: abstractName() }, json(), handler, { mode: 0o600 }), {
    code: 'ERR_INVALID_ARG_VALUE',
  });
  await t.throwsAsync(UnixDatagramServer.listen(path.join(tempDir(t), 'x.sock'), json(), 'nope' as never), {
    code: 'ERR_INVALID_ARG_TYPE',
  });
  await t.throwsAsync(UnixDatagramServer.listen(path.join(tempDir(t), 'x.sock'), json(), handler, { mode: 0o10000 }), {
    code: 'ERR_OUT_OF_RANGE',
  });
});
