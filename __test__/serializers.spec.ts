// MessagePack, CBOR and the compression wrapper: round trips through a socketpair, garbage is a
// DatagramProtocolParseError carrying the raw bytes (and the client keeps working), and the optional peer
// packages are loaded only when used.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  BytesSerializer,
  CBORSerializer,
  CompressedSerializer,
  DatagramProtocol,
  DatagramProtocolParseError,
  JSONSerializer,
  MessagePackSerializer,
  type Serializer,
  UnixDatagramClient,
} from '../src/index.js';
import { loadOptionalPeer } from '../src/protocol/serializers/optional-peer.js';
import { autoClose, REPO_ROOT } from './helpers.js';

const GUARD = { timeout: 20 };
const SAMPLE = {
  id: 7,
  name: 'données ✓',
  tags: ['a', 'b'],
  nested: { ok: true, none: null, pi: 3.25, big: 2 ** 40 },
  list: [1, -2, 300000],
};
const BINARY = { ...SAMPLE, blob: new Uint8Array([0, 1, 2, 253, 254, 255]) };
const LONG = { ...SAMPLE, text: 'a datagram worth compressing, '.repeat(200) };

const cases: Array<{ title: string; make: () => Serializer<unknown, unknown>; packet: Record<string, unknown> }> = [
  { title: 'MessagePackSerializer', make: () => new MessagePackSerializer(), packet: BINARY },
  { title: 'CBORSerializer', make: () => new CBORSerializer(), packet: BINARY },
  { title: 'CompressedSerializer(JSON, deflate)', make: () => new CompressedSerializer(new JSONSerializer()), packet: LONG },
  {
    title: 'CompressedSerializer(JSON, brotli)',
    make: () => new CompressedSerializer(new JSONSerializer(), { algorithm: 'brotli' }),
    packet: LONG,
  },
  {
    title: 'CompressedSerializer(MessagePack, deflate)',
    make: () => new CompressedSerializer(new MessagePackSerializer(), { algorithm: 'deflate', level: 9 }),
    packet: { ...LONG, blob: BINARY.blob },
  },
  {
    title: 'CompressedSerializer(CBOR, brotli)',
    make: () => new CompressedSerializer(new CBORSerializer(), { algorithm: 'brotli', level: 0 }),
    packet: { ...LONG, blob: BINARY.blob },
  },
];

/** Binary fields arrive as Buffer views; compare them as plain bytes. */
function normalized(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(normalized);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalized(v)]));
  return value;
}

/** A raw-bytes sender and a receiver using `serializer`, on the two ends of one socketpair. */
function rawTo<R>(t: ExecutionContext, serializer: Serializer<unknown, R>) {
  const [raw, other] = autoClose(t, UnixDatagramClient.socketpair(new DatagramProtocol(new BytesSerializer())));
  const receiver = autoClose(t, UnixDatagramClient.fromFd(other.dupFd(), new DatagramProtocol(serializer))); // the same socket, parsed differently
  return { raw, receiver };
}

for (const { title, make, packet } of cases) {
  test(`${title}: packets round trip through a socketpair`, async (t) => {
    const [a, b] = autoClose(t, UnixDatagramClient.socketpair(new DatagramProtocol(make())));
    await a.sendPacket(packet);
    t.deepEqual(normalized(await b.recvPacket(GUARD)), normalized(packet));
    b.sendPacketSync([packet, 'second']);
    t.deepEqual(normalized(a.recvPacketSync(GUARD)), normalized([packet, 'second']));
  });

  test(`${title}: a garbage datagram is a DatagramProtocolParseError with the raw bytes; the next packet arrives`, async (t) => {
    const serializer = make();
    const { raw, receiver } = rawTo(t, serializer);
    const garbage = Buffer.from([0xc1, 0xff, 0x1c, 0xde, 0xad]);
    await raw.sendPacket(garbage);
    await raw.sendPacket(serializer.serialize(packet));
    const err = await t.throwsAsync(receiver.recvPacket(GUARD), { instanceOf: DatagramProtocolParseError, code: 'ERR_UNIXGRAM_PARSE' });
    t.deepEqual(err.datagram, garbage);
    t.true(err.cause instanceof Error);
    t.deepEqual(normalized(await receiver.recvPacket(GUARD)), normalized(packet));
  });
}

test('MessagePack and CBOR: bytes after the first value are a parse error', async (t) => {
  for (const serializer of [new MessagePackSerializer(), new CBORSerializer()]) {
    const { raw, receiver } = rawTo(t, serializer);
    const datagram = Buffer.concat([serializer.serialize({ a: 1 }), serializer.serialize({ b: 2 })]);
    await raw.sendPacket(datagram);
    const err = await t.throwsAsync(receiver.recvPacket(GUARD), { instanceOf: DatagramProtocolParseError });
    t.deepEqual(err.datagram, datagram);
  }
});

test('CompressedSerializer: well-compressed bytes the inner serializer rejects are a parse error with the compressed datagram', async (t) => {
  const { raw, receiver } = rawTo(t, new CompressedSerializer(new JSONSerializer()));
  const datagram = zlib.deflateSync('{"not": json');
  await raw.sendPacket(datagram);
  const err = await t.throwsAsync(receiver.recvPacket(GUARD), { instanceOf: DatagramProtocolParseError });
  t.deepEqual(err.datagram, datagram);
  t.true(err.cause instanceof SyntaxError);
});

test('CompressedSerializer: a datagram that expands beyond maxDecompressedSize is a parse error', async (t) => {
  for (const algorithm of ['deflate', 'brotli'] as const) {
    const { raw, receiver } = rawTo(t, new CompressedSerializer(new JSONSerializer(), { algorithm, maxDecompressedSize: 1024 }));
    const bomb = new CompressedSerializer(new JSONSerializer(), { algorithm }).serialize('z'.repeat(100_000));
    t.true(bomb.length < 1024);
    await raw.sendPacket(bomb);
    const err = await t.throwsAsync(receiver.recvPacket(GUARD), { instanceOf: DatagramProtocolParseError });
    t.is((err.cause as { code?: string }).code, 'ERR_BUFFER_TOO_LARGE');
  }
});

test('CompressedSerializer validates its arguments', (t) => {
  const json = new JSONSerializer();
  t.throws(() => new CompressedSerializer(json, { algorithm: 'gzip' as 'deflate' }), {
    instanceOf: TypeError,
    code: 'ERR_INVALID_ARG_VALUE',
  });
  t.throws(() => new CompressedSerializer(json, { level: 10 }), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => new CompressedSerializer(json, { algorithm: 'brotli', level: 12 }), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => new CompressedSerializer(json, { maxDecompressedSize: 0 }), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => new CompressedSerializer({} as Serializer<unknown, unknown>), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' });
});

test('a missing optional peer is a clear MODULE_NOT_FOUND error naming the package', (t) => {
  const err = t.throws(() => loadOptionalPeer('unixgram-test-no-such-package', 'SomeSerializer'), { code: 'MODULE_NOT_FOUND' });
  t.is(
    err.message,
    'SomeSerializer needs the optional peer dependency unixgram-test-no-such-package: npm install unixgram-test-no-such-package',
  );
  t.true(err.cause instanceof Error);
});

test('unixgram imports and works with @msgpack/msgpack and cbor2 hidden; their serializers then say what to install', async (t) => {
  // Hide both packages from require() (how the serializers load them) and from import (so a static import would fail too).
  const code = `
import Module, { register } from 'node:module';
const hidden = ['@msgpack/msgpack', 'cbor2'];
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (hidden.includes(request)) throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: 'MODULE_NOT_FOUND' });
  return resolve.call(this, request, ...rest);
};
register('data:text/javascript,' + encodeURIComponent(
  'export async function resolve(s, c, next) { if (' + JSON.stringify(hidden) + '.includes(s)) throw Object.assign(new Error("hidden " + s), { code: "ERR_MODULE_NOT_FOUND" }); return next(s, c); }'));
const { UnixDatagramClient, DatagramProtocol, JSONSerializer, MessagePackSerializer, CBORSerializer } = await import(${JSON.stringify(path.join(REPO_ROOT, 'src/index.ts'))});
const [a, b] = UnixDatagramClient.socketpair(new DatagramProtocol(new JSONSerializer()));
a.sendPacketSync({ works: true });
const result = { packet: b.recvPacketSync({ timeout: 20 }), errors: [] };
for (const S of [MessagePackSerializer, CBORSerializer]) {
  try { new S(); } catch (err) { result.errors.push({ code: err.code, message: err.message }); }
}
console.log(JSON.stringify(result));
await Promise.all([a.close(), b.close()]);
`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let errText = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(exitCode, 0, errText);
  t.deepEqual(JSON.parse(out), {
    packet: { works: true },
    errors: [
      {
        code: 'MODULE_NOT_FOUND',
        message: 'MessagePackSerializer needs the optional peer dependency @msgpack/msgpack: npm install @msgpack/msgpack',
      },
      { code: 'MODULE_NOT_FOUND', message: 'CBORSerializer needs the optional peer dependency cbor2: npm install cbor2' },
    ],
  });
});
