// Traps of the binding itself, seen through the internal native API.
import test from 'ava';

import { UnixDatagramClient, DatagramProtocol, StringSerializer, BytesSerializer } from '../src/index.js';
import fs from 'node:fs';
import { closeFdRange, native, sendManyOnFd, sendOnFd, sendTextOnFd, WOULD_BLOCK, type NativeSocket } from '../src/native.js';
import { startNodeFixture } from './helpers.js';

test('an exception thrown by the batch callback becomes uncaughtException and later N-API calls still work', async (t) => {
  const child = startNodeFixture(t, 'native-callback-throws.ts');
  const exit = await child.waitExit();
  t.deepEqual(exit, { code: 0, signal: null }, child.stderr);
  t.deepEqual(child.lines, ['uncaughtException boom first', 'send after throw 6', 'delivered second']);
});

test('a closed socket stops polling before its fd is closed: a new socket reusing the fd number works', async (t) => {
  const protocol = new DatagramProtocol(new StringSerializer());
  for (let round = 0; round < 50; round++) {
    const [a, b] = UnixDatagramClient.socketpair(protocol);
    const fdA = a.socket.fd;
    const pending = b.recvPacket();
    await b.close(); // polling, with a receive pending
    await t.throwsAsync(pending, { code: 'ERR_UNIXGRAM_CLOSED' });
    await a.close();
    const [c, d] = UnixDatagramClient.socketpair(protocol);
    t.true([c.socket.fd, d.socket.fd].includes(fdA) || round > 0, 'fd numbers are reused');
    await c.sendPacket(`round ${round}`);
    t.is(await d.recvPacket({ timeout: 5 }), `round ${round}`);
    await Promise.all([c.close(), d.close()]);
  }
});

test('the batch callback survives garbage collection while the socket is idle', async (t) => {
  const child = startNodeFixture(t, 'callback-survives-gc.ts', [], { nodeFlags: ['--expose-gc'] });
  const exit = await child.waitExit();
  t.deepEqual(exit, { code: 0, signal: null }, child.stderr);
  t.deepEqual(child.lines, ['received after gc', 'drained 2000']);
});

test('sendOnFd (the send fast path): bytes sent, -EAGAIN on a full queue, -errno on failure, TypeError on bad arguments', async (t) => {
  const [a, b] = UnixDatagramClient.socketpair(new DatagramProtocol(new StringSerializer()));
  const fd = a.socket.fd;
  t.is(sendOnFd(fd, Buffer.from('hello')), 5);
  t.is(await b.recvPacket({ timeout: 5 }), 'hello');
  t.is(sendOnFd(fd, Buffer.alloc(0)), 0, 'an empty datagram is a datagram');
  t.is(await b.recvPacket({ timeout: 5 }), '');

  // nobody reads b: its queue fills and the fast path reports it instead of blocking
  let sent = 0;
  let last = 0;
  while ((last = sendOnFd(fd, Buffer.from(`#${sent}`))) >= 0) sent++;
  t.is(last, WOULD_BLOCK);
  t.true(sent >= 1 && sent < 100_000, `${sent} datagrams fit`);
  for (let i = 0; i < sent; i++) t.is(await b.recvPacket({ timeout: 5 }), `#${i}`);

  for (const bad of [[], ['3', Buffer.alloc(1)], [-1, Buffer.alloc(1)], [fd, 'text'], [fd, {}]] as unknown[][]) {
    t.throws(() => (sendOnFd as (...args: unknown[]) => number)(...bad), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
  }
  await b.close();
  t.is(sendOnFd(fd, Buffer.from('x')), -111, 'ECONNREFUSED: the peer is gone');
  await a.close();
  t.is(sendOnFd(fd, Buffer.from('x')), -9, 'EBADF once closed (the client checks closed first)');
});

test('sendTextOnFd sends exactly the bytes Buffer.from(text) has, at every length around its scratch buffer; -errno, TypeError on bad arguments', async (t) => {
  const [a, b] = UnixDatagramClient.socketpair(new DatagramProtocol(new BytesSerializer()));
  const fd = a.socket.fd;
  const texts = [
    'hello',
    '',
    'données ✓ 😀',
    'lone \ud800 high and \udc00 low surrogates', // U+FFFD, as Buffer.from does
    'x\ud83d', // a lone high surrogate at the very end
  ];
  // 4 KiB is the scratch buffer's first size: cut a character in every way at its end
  for (let n = 4085; n <= 4100; n++) {
    texts.push('a'.repeat(n), 'é'.repeat(n >> 1), 'a'.repeat(n - 1) + '😀', 'a'.repeat(n - 2) + '€');
  }
  texts.push('mixé 😀 '.repeat(12_000)); // ~130 KB: the scratch grows
  for (const text of texts) {
    const expected = Buffer.from(text, 'utf8');
    t.is(sendTextOnFd(fd, text), expected.length);
    const got = await b.recvPacket({ timeout: 5 });
    t.true(got.equals(expected), `${expected.length} bytes of ${JSON.stringify(text.slice(-12))} arrive as Buffer.from has them`);
  }
  t.is(sendTextOnFd(fd, 'é'.repeat(300_000)), -90, 'EMSGSIZE: 600 kB is more than SO_SNDBUF allows (the client then raises it)');
  t.is(sendTextOnFd(fd, 'after'), 5, 'and the next text goes out whole');
  t.deepEqual(await b.recvPacket({ timeout: 5 }), Buffer.from('after'));

  let sent = 0;
  let last = 0;
  while ((last = sendTextOnFd(fd, `#${sent}`)) >= 0) sent++;
  t.is(last, WOULD_BLOCK, 'a full queue is -EAGAIN, not a block');
  for (let i = 0; i < sent; i++) t.deepEqual(await b.recvPacket({ timeout: 5 }), Buffer.from(`#${i}`));

  for (const bad of [[], ['3', 'x'], [-1, 'x'], [fd, Buffer.from('x')], [fd, {}], [fd, 5]] as unknown[][]) {
    t.throws(() => (sendTextOnFd as (...args: unknown[]) => number)(...bad), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
  }
  await b.close();
  t.is(sendTextOnFd(fd, 'x'), -111, 'ECONNREFUSED: the peer is gone');
  await a.close();
});

test('setTextPayloads: a batch of valid UTF-8 comes as one string with UTF-16 lengths; one invalid payload makes the whole batch bytes', (t) => {
  const [a, b] = native.socketpair() as [NativeSocket, NativeSocket];
  b.setTextPayloads(true);
  const texts = ['plain', '', 'é😀', 'end'];
  for (const text of texts) t.is(sendTextOnFd(a.fd, text), Buffer.byteLength(text));
  const [slab, meta, , , text] = b.readNow() as [ArrayBuffer | undefined, Uint32Array, unknown, unknown, string | undefined];
  t.is(slab, undefined);
  t.is(text, texts.join(''));
  t.deepEqual([...meta.subarray(0, 2 + 2 * texts.length)], [texts.length, 0, ...texts.flatMap((x) => [x.length, 0])]);

  t.is(sendOnFd(a.fd, Buffer.from('ok')), 2);
  t.is(sendOnFd(a.fd, Buffer.from([0xc3])), 1); // a UTF-8 sequence cut short
  const bytes = b.readNow() as [ArrayBuffer, Uint32Array, unknown, unknown, string | undefined];
  t.is(bytes[4], undefined);
  t.true(bytes[0] instanceof ArrayBuffer);
  t.deepEqual([bytes[1][0], bytes[1][2], bytes[1][4]], [2, 2, 1]);
  a.close();
  b.close();
});

test('setWantAddress: an entry carries its sender address only when it differs from the last one reported, across batches', (t) => {
  const name = (who: string) => Buffer.from(`\0unixgram-test-${process.pid}-${who}`);
  const bound = (who: string): NativeSocket => {
    const s = native.NativeSocket.create();
    s.bind(name(who));
    return s;
  };
  const [rx, a, b] = [bound('rx'), bound('a'), bound('b')];
  rx.setWantAddress(true);
  // One readNow() batch: per entry its payload, and the address it reports (null: none).
  const read = (): [string, string | null][] => {
    const [slab, meta, extras] = rx.readNow() as [ArrayBuffer, Uint32Array, { address?: Buffer }[] | undefined];
    const out: [string, string | null][] = [];
    let offset = meta[1] as number;
    let x = 0;
    for (let m = 2; m < 2 + 2 * (meta[0] as number); m += 2) {
      const len = meta[m] as number;
      const address = (meta[m + 1] as number) & 2 ? (extras?.[x++]?.address?.toString('latin1') ?? 'missing') : null;
      out.push([Buffer.from(slab, offset, len).toString(), address]);
      offset += len;
    }
    return out;
  };
  const send = (from: NativeSocket, text: string) => t.is(from.send(Buffer.from(text), name('rx')), text.length);
  const [A, B] = [name('a').toString('latin1'), name('b').toString('latin1')];
  send(a, '1');
  send(a, '2');
  t.deepEqual(read(), [['1', A], ['2', null]]);
  send(a, '3');
  t.deepEqual(read(), [['3', null]], 'the same sender in the next batch: no address again');
  send(b, '4');
  send(a, '5');
  t.deepEqual(read(), [['4', B], ['5', A]]);
  rx.setWantAddress(true);
  send(a, '6');
  t.deepEqual(read(), [['6', A]], 'setting it again reports the next address again');
  for (const s of [rx, a, b]) s.close();
});

test('sendManyOnFd (the sendPackets fast path): datas[start..end] in one call, how many went out, -errno, TypeError on bad arguments', async (t) => {
  const [a, b] = UnixDatagramClient.socketpair(new DatagramProtocol(new StringSerializer()));
  const fd = a.socket.fd;
  const datas = ['zero', 'one', 'two', 'three', ''].map((s) => Buffer.from(s));
  t.is(sendManyOnFd(fd, datas, 1, 5), 4);
  for (const want of ['one', 'two', 'three', '']) t.is(await b.recvPacket({ timeout: 5 }), want);
  t.is(sendManyOnFd(fd, datas, 2, 2), 0, 'an empty range sends nothing');

  // nobody reads b: one call stops where the queue is full, the next gets -EAGAIN
  const many = Array.from({ length: 1024 }, (_, i) => Buffer.from(`#${i}`));
  const sent = sendManyOnFd(fd, many, 0, many.length);
  t.true(sent >= 1 && sent < many.length, `${sent} of 1024 fit (SO_SNDBUF)`);
  t.is(sendManyOnFd(fd, many, sent, many.length), WOULD_BLOCK);
  for (let i = 0; i < sent; i++) t.is(await b.recvPacket({ timeout: 5 }), `#${i}`);

  const call = sendManyOnFd as (...args: unknown[]) => number;
  for (const bad of [[fd, datas, 0], [fd, 'x', 0, 1], [fd, datas, 3, 2], [fd, datas, 0, 6], [-1, datas, 0, 1], [fd, [Buffer.alloc(1), 'text'], 0, 2]]) {
    t.throws(() => call(...bad), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
  }
  await b.close();
  t.is(sendManyOnFd(fd, datas, 0, 2), -111, 'ECONNREFUSED: the peer is gone');
  await a.close();
});

test('closeFdRange closes exactly the entries of its range still >= 0, marks them -1, and ignores indices past the end', (t) => {
  const fds = [0, 1, 2, 3].map(() => fs.openSync('/dev/null', 'r'));
  const set = Int32Array.from(fds);
  set[1] = -1; // as if stolen
  closeFdRange(set, 1, 2); // entries 1 (gone) and 2
  t.deepEqual([...set], [fds[0], -1, -1, fds[3]]);
  t.throws(() => fs.fstatSync(fds[2]!), { code: 'EBADF' });
  t.true(fs.fstatSync(fds[1]!).isCharacterDevice(), 'the "stolen" one stays open');
  closeFdRange(set, 3, 100);
  t.deepEqual([...set], [fds[0], -1, -1, -1]);
  closeFdRange(set, 0, 1);
  closeFdRange(set, 0, 4); // idempotent
  t.deepEqual([...set], [-1, -1, -1, -1]);
  fs.closeSync(fds[1]!);
  const call = closeFdRange as (...args: unknown[]) => void;
  for (const bad of [[set, 0], [Uint32Array.from([1]), 0, 1], [[3], 0, 1], [set, 'a', 1]]) {
    t.throws(() => call(...bad), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
  }
});

test.serial('round trips do not re-arm the watch: 2000 of them make a handful of native watch() calls', async (t) => {
  const proto = native.NativeSocket.prototype;
  const watch = proto.watch;
  let calls = 0;
  const ours = new Set<number>();
  proto.watch = function (this: typeof proto, ...args: Parameters<typeof watch>) {
    if (ours.has(this.fd)) calls++;
    return watch.apply(this, args);
  };
  try {
    const protocol = new DatagramProtocol(new StringSerializer());
    const [ping, echo] = UnixDatagramClient.socketpair(protocol);
    ours.add(ping.socket.fd).add(echo.socket.fd);
    const echoing = (async () => {
      for await (const p of echo.iterReceivedPackets({ timeout: null })) {
        if (p === 'end') return;
        await echo.sendPacket(p);
      }
    })();
    for (let i = 0; i < 2000; i++) {
      await ping.sendPacket(`#${i}`);
      t.is(await ping.recvPacket(), `#${i}`);
    }
    await ping.sendPacket('end');
    await echoing;
    t.true(calls < 20, `${calls} watch() calls for 2000 round trips`);
    await Promise.all([ping.close(), echo.close()]);
  } finally {
    proto.watch = watch;
  }
});
