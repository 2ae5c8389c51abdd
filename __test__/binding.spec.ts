// Traps of the binding itself, seen through the internal native API (src/native/binding.ts).
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';

import { UnixDatagramClient, DatagramProtocol, StringSerializer, BytesSerializer } from '../src/index.js';
import {
  closeFdRange,
  ENTRY_ADDRESS,
  ENTRY_CREDENTIALS,
  ENTRY_ERROR,
  ENTRY_EXTRA_MASK,
  ENTRY_FDS,
  ENTRY_FDS_SHIFT,
  ENTRY_PIDFD,
  ENTRY_END,
  ENTRY_SENDER,
  ENTRY_SENDER_MASK,
  ENTRY_SENDER_SHIFT,
  META_BASE,
  META_COUNT,
  META_ENTRIES,
  NativeSocket,
  pipe,
  send,
  setCloexec,
  sendMany,
  socketpair,
  WOULD_BLOCK,
  type BatchCallback,
} from '../src/native/binding.js';
import { newFds, openFds, fdFlags, O_CLOEXEC, startNodeFixture } from './helpers.js';

/** The arguments of the next batch delivered to `sock` by `readNow()`. */
function readBatch(sock: NativeSocket): Parameters<BatchCallback> | undefined {
  let batch: Parameters<BatchCallback> | undefined;
  sock.setCallback((...args) => (batch = args));
  return sock.readNow() ? batch : undefined;
}

test('the binding owns the numbers JS and Rust share: WOULD_BLOCK is -EAGAIN of this platform, the entry flags are distinct bits', (t) => {
  t.is(WOULD_BLOCK, -os.constants.errno.EAGAIN);
  t.is(ENTRY_EXTRA_MASK, ENTRY_ERROR | ENTRY_ADDRESS | ENTRY_CREDENTIALS);
  t.is(ENTRY_FDS & ENTRY_EXTRA_MASK, 0);
  t.is((ENTRY_SENDER | ENTRY_SENDER_MASK) & (ENTRY_EXTRA_MASK | ENTRY_FDS | ENTRY_PIDFD | ENTRY_END), 0);
  t.true(ENTRY_SENDER_MASK < 1 << ENTRY_FDS_SHIFT, 'the sender slot is below the descriptor count');
  t.deepEqual([META_COUNT, META_BASE, META_ENTRIES], [0, 1, 2]);
});

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

test('send (by fd): bytes sent, WOULD_BLOCK on a full queue, the complete error on failure, TypeError on bad arguments', async (t) => {
  const [a, b] = UnixDatagramClient.socketpair(new DatagramProtocol(new StringSerializer()));
  const fd = a.socket.fd;
  t.is(send(fd, Buffer.from('hello')), 5);
  t.is(await b.recvPacket({ timeout: 5 }), 'hello');
  t.is(send(fd, Buffer.alloc(0)), 0, 'an empty datagram is a datagram');
  t.is(await b.recvPacket({ timeout: 5 }), '');
  t.is(send(fd, [Buffer.from('gath'), Buffer.alloc(0), Buffer.from('ered')]), 8, 'an array of Buffers is one datagram');
  t.is(await b.recvPacket({ timeout: 5 }), 'gathered');

  // nobody reads b: its queue fills and send reports it instead of blocking
  let sent = 0;
  let last = 0;
  while ((last = send(fd, Buffer.from(`#${sent}`))) >= 0) sent++;
  t.is(last, WOULD_BLOCK);
  t.true(sent >= 1 && sent < 100_000, `${sent} datagrams fit`);
  for (let i = 0; i < sent; i++) t.is(await b.recvPacket({ timeout: 5 }), `#${i}`);

  const bad: unknown[][] = [
    [],
    [fd],
    ['3', Buffer.alloc(1)],
    [fd, {}],
    [fd, 5],
    [fd, [Buffer.alloc(1), 'x']],
    [fd, Buffer.alloc(1), 'dest'],
    [fd, Buffer.alloc(1), null, { fds: 'x' }],
  ];
  for (const args of bad) {
    t.throws(() => (send as (...args: unknown[]) => number)(...args), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
  }
  await b.close();
  const gone = t.throws(() => send(fd, Buffer.from('x')), { code: 'ECONNREFUSED' });
  t.like(gone, { errno: -111, syscall: 'send' });
  t.regex(gone.message, /^send ECONNREFUSED: nothing is receiving at that address/);
  const later = t.throws(() => send(fd, Buffer.from('x')), { code: 'ENOTCONN' });
  t.regex(later.message, /other end of the socket pair is closed/);
  await a.close();
  t.throws(
    () => send(fd, Buffer.from('x')),
    { code: 'ERR_UNIXGRAM_CLOSED' },
    'a closed socket is not sent on, even if its fd number is reused',
  );
});

test('send (by fd) of a string sends exactly the bytes Buffer.from(text) has, at every length around its scratch buffer, and grows SO_SNDBUF itself', async (t) => {
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
    t.is(send(fd, text), expected.length);
    const got = await b.recvPacket({ timeout: 5 });
    t.true(got.equals(expected), `${expected.length} bytes of ${JSON.stringify(text.slice(-12))} arrive as Buffer.from has them`);
  }
  const before = a.socket.maxDatagramSize;
  const big = 'é'.repeat(300_000);
  t.true(before < 600_000, 'the default SO_SNDBUF is too small for 600 kB');
  t.is(send(fd, big), 600_000, 'EMSGSIZE is finished natively: SO_SNDBUF grows and the text goes out whole');
  t.true(a.socket.maxDatagramSize >= 600_000);
  t.deepEqual(await b.recvPacket({ timeout: 5 }), Buffer.from(big));

  let sent = 0;
  let last = 0;
  while ((last = send(fd, `#${sent}`)) >= 0) sent++;
  t.is(last, WOULD_BLOCK, 'a full queue is WOULD_BLOCK, not a block');
  for (let i = 0; i < sent; i++) t.deepEqual(await b.recvPacket({ timeout: 5 }), Buffer.from(`#${i}`));
  await b.close();
  t.like(
    t.throws(() => send(fd, 'x'), { code: 'ECONNREFUSED' }),
    { errno: -111 },
  );
  await a.close();
});

test('setTextPayloads: a batch of valid UTF-8 comes as one string with UTF-16 lengths; one invalid payload makes the whole batch bytes', (t) => {
  const [a, b] = socketpair() as [NativeSocket, NativeSocket];
  b.setTextPayloads(true);
  const texts = ['plain', '', 'é😀', 'end'];
  for (const text of texts) t.is(send(a.fd, text), Buffer.byteLength(text));
  const [slab, meta, , , text, writable] = readBatch(b)!;
  t.is(slab, undefined);
  t.is(text, texts.join(''));
  t.false(writable);
  t.deepEqual([...meta!.subarray(0, META_ENTRIES + 2 * texts.length)], [texts.length, 0, ...texts.flatMap((x) => [x.length, 0])]);

  t.is(send(a.fd, Buffer.from('ok')), 2);
  t.is(send(a.fd, Buffer.from([0xc3])), 1); // a UTF-8 sequence cut short
  const bytes = readBatch(b)!;
  t.is(bytes[4], undefined);
  t.true(bytes[0] instanceof ArrayBuffer);
  t.deepEqual([bytes[1]![META_COUNT], bytes[1]![META_ENTRIES], bytes[1]![META_ENTRIES + 2]], [2, 2, 1]);
  t.is(readBatch(b), undefined, 'readNow with nothing queued delivers nothing');
  a.close();
  b.close();
});

test('setWantAddress: a sender is told once, named by its slot when it returns, and not at all while it stays', (t) => {
  const name = (who: string) => Buffer.from(`\0unixgram-test-${process.pid}-${who}`);
  const bound = (who: string): NativeSocket => {
    const s = NativeSocket.create();
    s.bind(name(who));
    return s;
  };
  const [rx, a, b] = [bound('rx'), bound('a'), bound('b')];
  rx.setWantAddress(true);
  // What JS remembers by slot, as the receiver does.
  const slots: string[] = [];
  // One readNow() batch: per entry its payload, how its sender came ('told': the address in its
  // extras; 'slot': a slot told before; null: the entry before's) and that sender.
  const read = (): [string, 'told' | 'slot' | null, string | undefined][] => {
    const [slab, meta, extras] = readBatch(rx)!;
    const out: [string, 'told' | 'slot' | null, string | undefined][] = [];
    let offset = meta![META_BASE] as number;
    let x = 0;
    for (let m = META_ENTRIES; m < META_ENTRIES + 2 * (meta![META_COUNT] as number); m += 2) {
      const len = meta![m] as number;
      const flags = meta![m + 1] as number;
      const slot = (flags & ENTRY_SENDER_MASK) >>> ENTRY_SENDER_SHIFT;
      let how: 'told' | 'slot' | null = null;
      if (flags & ENTRY_ADDRESS) {
        how = 'told';
        slots[slot] = extras?.[x++]?.address?.toString('latin1') ?? 'missing';
      } else if (flags & ENTRY_SENDER) {
        how = 'slot';
      }
      out.push([Buffer.from(slab!, offset, len).toString(), how, how === null ? undefined : slots[slot]]);
      offset += len;
    }
    return out;
  };
  const sendFrom = (from: NativeSocket, text: string) => t.is(send(from.fd, Buffer.from(text), name('rx')), text.length);
  const [A, B] = [name('a').toString('latin1'), name('b').toString('latin1')];
  sendFrom(a, '1');
  sendFrom(a, '2');
  t.deepEqual(read(), [
    ['1', 'told', A],
    ['2', null, undefined],
  ]);
  sendFrom(a, '3');
  t.deepEqual(read(), [['3', null, undefined]], 'the same sender in the next batch: nothing again');
  sendFrom(b, '4');
  sendFrom(a, '5');
  sendFrom(b, '6');
  t.deepEqual(read(), [
    ['4', 'told', B],
    ['5', 'slot', A],
    ['6', 'slot', B],
  ]);
  rx.setWantAddress(true);
  sendFrom(a, '7');
  t.deepEqual(read(), [['7', 'told', A]], 'setting it again tells the next sender again');
  // A callback that throws may have stopped before a sender the batch told it: all are told again.
  sendFrom(b, '8');
  rx.setCallback(() => {
    throw new Error('stopped early');
  });
  t.throws(() => rx.readNow(), { message: 'stopped early' });
  sendFrom(b, '9');
  sendFrom(a, '10');
  t.deepEqual(read(), [
    ['9', 'told', B],
    ['10', 'told', A],
  ]);
  for (const s of [rx, a, b]) s.close();
});

test('sendMany (by fd): datas[start..end] in one call, how many went out, WOULD_BLOCK, the complete error, TypeError on bad arguments', async (t) => {
  const [a, b] = UnixDatagramClient.socketpair(new DatagramProtocol(new StringSerializer()));
  const fd = a.socket.fd;
  const datas = ['zero', 'one', 'two', 'three', ''].map((s) => Buffer.from(s));
  t.is(sendMany(fd, datas, 1, 5), 4);
  for (const want of ['one', 'two', 'three', '']) t.is(await b.recvPacket({ timeout: 5 }), want);
  t.is(sendMany(fd, datas, 2, 2), 0, 'an empty range sends nothing');

  // nobody reads b: one call stops where the queue is full, the next gets WOULD_BLOCK
  const many = Array.from({ length: 1024 }, (_, i) => Buffer.from(`#${i}`));
  const sent = sendMany(fd, many, 0, many.length);
  t.true(sent >= 1 && sent < many.length, `${sent} of 1024 fit (SO_SNDBUF)`);
  t.is(sendMany(fd, many, sent, many.length), WOULD_BLOCK);
  for (let i = 0; i < sent; i++) t.is(await b.recvPacket({ timeout: 5 }), `#${i}`);

  const call = sendMany as (...args: unknown[]) => number;
  const bad = [
    [fd, datas, 0],
    [fd, 'x', 0, 1],
    [fd, datas, 3, 2],
    [fd, datas, 0, 6],
    ['x', datas, 0, 1],
    [fd, [Buffer.alloc(1), 'text'], 0, 2],
    [fd, datas, 0, 1, null, [{ fds: [1, 'x'] }]],
  ];
  for (const args of bad) {
    t.throws(() => call(...args), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
  }
  await b.close();
  t.like(
    t.throws(() => sendMany(fd, datas, 0, 2), { code: 'ECONNREFUSED' }),
    { errno: -111, syscall: 'sendmmsg' },
  );
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
  for (const bad of [
    [set, 0],
    [Uint32Array.from([1]), 0, 1],
    [[3], 0, 1],
    [set, 'a', 1],
  ]) {
    t.throws(() => call(...bad), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
  }
});

test.serial('round trips do not re-arm the watch: 2000 of them make a handful of native watch() calls', async (t) => {
  const proto = NativeSocket.prototype;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- wrapped, and called with apply on each socket
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

test('pipe() gives two close-on-exec ends that are ours; setCloexec keeps an fd open, and an fd that is not open is EBADF in Node shape', (t) => {
  const before = openFds();
  const [read, write] = pipe();
  t.not(read, write);
  t.is(newFds(before).length, 2);
  for (const fd of [read, write]) t.true((fdFlags(fd) & O_CLOEXEC) !== 0);
  fs.writeSync(write, 'x');
  setCloexec(write); // already set: unchanged, still open
  fs.closeSync(write);
  const buf = Buffer.alloc(4);
  t.is(fs.readSync(read, buf), 1);
  t.is(fs.readSync(read, buf), 0, 'end of file: the only write end is closed');
  fs.closeSync(read);
  t.deepEqual(newFds(before), []);
  const err = t.throws<NodeJS.ErrnoException>(() => setCloexec(read));
  t.like(err, { code: 'EBADF', errno: -9, syscall: 'fcntl', message: 'fcntl EBADF: Bad file number' });
  t.throws(() => setCloexec(-1), { code: 'ERR_OUT_OF_RANGE', message: 'fd must be >= 0' });
});
