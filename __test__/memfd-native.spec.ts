// The native half of sealed memfd payloads (journald's native protocol), through the binding:
// sealPayload / mapSealedPayload round trip byte-exact, refuse with coded errors before any
// syscall or after the seal check, leave the fd to its owner, and the Buffer over the mapping
// outlives the fd and garbage collection (the GC part runs in a --expose-gc child).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { BytesSerializer, DatagramProtocol, SocketAncillary, UnixDatagramClient } from '../src/index.js';
import { mapSealedPayload, sealPayload, socketpair } from '../src/native/binding.js';
import {
  autoClose,
  closeQuietly,
  newFds,
  openFds,
  fdFlags,
  fdIsOpen,
  makeFifos,
  O_CLOEXEC,
  pattern,
  startNodeFixture,
  startPeer,
  tempDir,
} from './helpers.js';

interface CodedError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
}

const NOT_SEALED = 'ERR_UNIXGRAM_MEMFD_NOT_SEALED';
const typeError = { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' };
const rangeError = { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' };

/** Seal `chunks`, map the memfd, close it; returns the Buffer. */
function roundTrip(chunks: Uint8Array[]): Buffer {
  const fd = sealPayload(chunks);
  try {
    return mapSealedPayload(fd, 1 << 30);
  } finally {
    fs.closeSync(fd);
  }
}

test.serial('payloads of 0, 1, 4096 and 5 MB bytes round trip byte-exact, whole or in chunks', (t) => {
  for (const size of [0, 1, 4096, 5_000_000]) {
    const data = pattern(size);
    const third = Math.floor(size / 3);
    const chunked = [data.subarray(0, third), Buffer.alloc(0), data.subarray(third, 2 * third), data.subarray(2 * third)];
    for (const chunks of [[data], chunked]) {
      const out = roundTrip(chunks);
      t.true(Buffer.isBuffer(out), `${size}: a Buffer`);
      t.is(out.length, size);
      t.true(out.equals(data), `${size} bytes differ`);
    }
  }
  t.is(roundTrip([]).length, 0, 'no chunks at all: an empty payload');
});

test.serial('a 16 MiB payload round trips byte-exact, and Uint8Array chunks are taken too', (t) => {
  const data = pattern(16 << 20);
  const out = roundTrip([data.subarray(0, 1000), new Uint8Array(data.subarray(1000))]);
  t.is(out.length, 16 << 20);
  t.true(out.equals(data));
});

test.serial("the memfd is close-on-exec and the caller's: mapping leaves it open, and the Buffer outlives it", (t) => {
  const before = openFds();
  const fd = sealPayload([Buffer.from('kept open')]);
  t.is(newFds(before).length, 1);
  t.is(fdFlags(fd) & O_CLOEXEC, O_CLOEXEC);
  t.regex(fs.readlinkSync(`/proc/self/fd/${fd}`), /^\/memfd:unixgram-payload/);
  const out = mapSealedPayload(fd, 100);
  t.true(fdIsOpen(fd), 'mapSealedPayload does not close the fd');
  t.is(newFds(before).length, 1, 'the mapping holds no descriptor of its own');
  t.is(mapSealedPayload(fd, 100).toString(), 'kept open', 'it can be mapped again');
  fs.closeSync(fd);
  t.is(out.toString(), 'kept open', 'the Buffer is valid after the fd is closed');
  out[0] = 0x4b; // a private copy-on-write page: this process's copy changes, nothing else
  t.is(out.toString(), 'Kept open');
  t.deepEqual(newFds(before), []);
});

test.serial('the memfd refuses every change: writes fail with EPERM', (t) => {
  const fd = sealPayload([Buffer.from('fixed')]);
  try {
    t.throws(() => fs.writeSync(fd, 'X', 0), { code: 'EPERM' });
    t.throws(() => fs.ftruncateSync(fd, 1), { code: 'EPERM' });
    t.throws(() => fs.ftruncateSync(fd, 100), { code: 'EPERM' });
    t.is(mapSealedPayload(fd, 5).toString(), 'fixed');
  } finally {
    fs.closeSync(fd);
  }
});

test.serial('a payload over maxSize is ERR_UNIXGRAM_PAYLOAD_TOO_LARGE, naming its size, the limit and the option', (t) => {
  const fd = sealPayload([pattern(4097)]);
  try {
    const err = t.throws<CodedError>(() => mapSealedPayload(fd, 4096));
    t.is(err.code, 'ERR_UNIXGRAM_PAYLOAD_TOO_LARGE');
    t.is(err.errno, undefined);
    t.is(err.syscall, 'fstat');
    t.is(
      err.message,
      'fstat ERR_UNIXGRAM_PAYLOAD_TOO_LARGE: a payload of 4097 bytes is larger than the limit of 4096 bytes (raise maxPayloadSize to accept it)',
    );
    t.is(mapSealedPayload(fd, 4097).length, 4097, 'exactly at the limit');
    t.true(fdIsOpen(fd), 'a refusal leaves the fd open too');
  } finally {
    fs.closeSync(fd);
  }
});

test.serial('a pipe, a socket and a plain file are ERR_UNIXGRAM_MEMFD_NOT_SEALED, naming what they are', (t) => {
  const dir = tempDir(t);
  const [fifo] = makeFifos(t, dir, ['not a memfd']);
  const pair = socketpair();
  t.teardown(() => pair.forEach((s) => s.close()));
  const socketFd = pair[0]!.fd;
  const file = path.join(dir, 'plain');
  fs.writeFileSync(file, 'plain');
  const fileFd = fs.openSync(file, 'r');
  t.teardown(() => closeQuietly(fileFd));
  for (const [fd, what] of [
    [fifo!, 'a pipe (FIFO)'],
    [socketFd, 'a socket'],
    [fileFd, 'a regular file'],
  ] as const) {
    const err = t.throws<CodedError>(() => mapSealedPayload(fd, 1 << 20));
    t.is(err.code, NOT_SEALED, what);
    t.is(err.errno, undefined);
    t.is(err.syscall, 'fcntl');
    t.regex(err.message, /^fcntl ERR_UNIXGRAM_MEMFD_NOT_SEALED: /);
    t.true(err.message.includes(`the descriptor is ${what}`), err.message);
    t.true(fdIsOpen(fd));
  }
});

test('an fd number that is not open is EBADF in Node shape', (t) => {
  const err = t.throws<CodedError>(() => mapSealedPayload(2 ** 31 - 1, 10)); // above any RLIMIT_NOFILE
  t.is(err.code, 'EBADF');
  t.is(err.errno, -9);
  t.is(util.getSystemErrorName(err.errno!), 'EBADF');
  t.is(err.syscall, 'fcntl');
  t.is(err.message, 'fcntl EBADF: Bad file number');
});

test.serial('bad arguments throw before any syscall: TypeError for a wrong type, RangeError for a number out of range', (t) => {
  const before = openFds();
  for (const bad of [undefined, null, 'text', Buffer.from('x'), [1], [Buffer.from('x'), 'y'], [{}]]) {
    t.throws(() => sealPayload(bad as never), { ...typeError, message: 'chunks must be an array of Buffers or Uint8Arrays' });
  }
  t.throws(() => (sealPayload as () => number)(), typeError);
  t.deepEqual(newFds(before), [], 'no memfd was created');

  const fd = sealPayload([Buffer.from('payload')]);
  t.teardown(() => closeQuietly(fd));
  for (const bad of [undefined, '3', null, {}]) {
    t.throws(() => mapSealedPayload(bad as never, 10), { ...typeError, message: 'fd must be a number' });
    t.throws(() => mapSealedPayload(fd, bad as never), { ...typeError, message: 'maxSize must be a number' });
  }
  for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 31]) {
    t.throws(() => mapSealedPayload(bad, 10), { ...rangeError, message: 'fd must be an integer >= 0 and < 2**31' });
  }
  for (const bad of [-1, 0.5, NaN, Infinity, 2 ** 53]) {
    t.throws(() => mapSealedPayload(fd, bad), { ...rangeError, message: 'maxSize must be a safe integer >= 0' });
  }
  t.is(mapSealedPayload(fd, Number.MAX_SAFE_INTEGER).toString(), 'payload');
});

test.serial('memfds from python in zero-length datagrams: a sealed one maps, unsealed and partly sealed ones are refused', async (t) => {
  const cases = [
    { seals: 'shrink,grow,write,seal', size: (1 << 20) + 3 },
    { seals: 'shrink,grow,write', size: 4096 }, // no F_SEAL_SEAL: enough, as for journald
    { seals: 'none', size: 10, missing: 'writing, shrinking and growing' },
    { seals: 'shrink,grow', size: 10, missing: 'writing' },
    { seals: 'write,shrink,seal', size: 10, missing: 'growing' },
  ];
  const dir = tempDir(t);
  for (const [i, { seals, size, missing }] of cases.entries()) {
    const sockPath = path.join(dir, `sender-${i}.sock`);
    const peer = await startPeer(t, 'sender.py', [sockPath, 'memfd', String(size), seals]);
    const client = autoClose(t, await UnixDatagramClient.connect(sockPath, new DatagramProtocol(new BytesSerializer())));
    await client.sendPacket(Buffer.from('go'));
    t.deepEqual(await peer.nextJson(), { sent: size });
    const ancillary = new SocketAncillary();
    const packet = await client.recvPacket({ ancillary });
    t.is(packet.length, 0, 'a zero-length datagram');
    const [fd] = [...ancillary.iterFds()];
    t.is(ancillary.fdCount, 1);
    if (missing === undefined) {
      const out = mapSealedPayload(fd!, size);
      ancillary.close(); // the mapping outlives the received fd
      t.true(out.equals(pattern(size)), `${seals}: python's bytes differ`);
    } else {
      const err = t.throws<CodedError>(() => mapSealedPayload(fd!, size));
      t.is(err.code, NOT_SEALED, seals);
      t.is(err.syscall, 'fcntl');
      t.is(
        err.message,
        `fcntl ERR_UNIXGRAM_MEMFD_NOT_SEALED: the memfd is not sealed against ${missing}; its sender could change it while it is read`,
      );
      ancillary.close();
    }
  }
});

test('the Buffer stays valid through garbage collection, and a collected one is unmapped', async (t) => {
  const child = startNodeFixture(t, 'memfd-gc.ts', [], { nodeFlags: ['--expose-gc'] });
  t.deepEqual(await child.waitExit(), { code: 0, signal: null }, child.stderr);
  t.deepEqual(JSON.parse(child.lines[0]!), {
    mappedWhileHeld: 21,
    mappedAfterGc: 1,
    keptIntact: true,
    fdsLeft: 0,
  });
});
