// A datagram the serializer rejects fails that one receive with DatagramProtocolParseError; the next one is fine.
import test from 'ava';
import path from 'node:path';
import { DatagramProtocol, DatagramProtocolParseError, JSONSerializer, StringSerializer, UnixDatagramClient } from '../src/index.js';
import { send as nativeSend } from '../src/native/binding.js';
import { autoClose, hex, startPeer, tempDir } from './helpers.js';

test('invalid JSON from python fails one recvPacket with the raw datagram; the next valid packet arrives', async (t) => {
  const sockPath = path.join(tempDir(t), 'sender.sock');
  const invalid = '{"not": json';
  await startPeer(t, 'sender.py', [sockPath, 'raw', hex(invalid), hex('{"ok":true}')]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, new DatagramProtocol(new JSONSerializer())));
  await client.sendPacket('go');

  const err = await t.throwsAsync(client.recvPacket(), { instanceOf: DatagramProtocolParseError });
  t.is(err.code, 'ERR_UNIXGRAM_PARSE');
  t.true(Buffer.isBuffer(err.datagram));
  t.deepEqual(err.datagram, Buffer.from(invalid));
  t.true(err.cause instanceof SyntaxError);

  t.deepEqual(await client.recvPacket(), { ok: true });
});

test('invalid UTF-8 for StringSerializer is a parse error carrying the raw bytes', async (t) => {
  const sockPath = path.join(tempDir(t), 'sender.sock');
  await startPeer(t, 'sender.py', [sockPath, 'raw', 'fffe41', hex('fine ✓')]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, new DatagramProtocol(new StringSerializer())));
  await client.sendPacket('go');

  const err = await t.throwsAsync(client.recvPacket(), { instanceOf: DatagramProtocolParseError, code: 'ERR_UNIXGRAM_PARSE' });
  t.deepEqual(err.datagram, Buffer.from([0xff, 0xfe, 0x41]));
  t.is(await client.recvPacket(), 'fine ✓');
});

test('text payloads: a batch of valid UTF-8 arrives whole, emoji and all; a byte-order mark is dropped as deserialize drops it; invalid UTF-8 is still a parse error, in order', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(new DatagramProtocol(new StringSerializer())));
  const texts = ['', 'a', 'é', '😀x', 'x😀', 'ünï 😀 '.repeat(500), '\u0000nul inside\u0000', 'last'];
  for (const text of texts) a.sendPacketSync(text); // queued before b reads: one batch
  for (const text of texts) t.is(await b.recvPacket({ timeout: 5 }), text);

  const raw = a.socket.fd;
  const send = (bytes: number[]): void => void nativeSend(raw, Buffer.from(bytes));
  send([0xef, 0xbb, 0xbf, 0x68, 0x69]); // BOM + "hi"
  t.is(await b.recvPacket({ timeout: 5 }), 'hi');
  send([0x61]);
  send([0xff, 0xfe, 0x41]);
  send([0x62]);
  t.is(await b.recvPacket({ timeout: 5 }), 'a');
  const err = await t.throwsAsync(b.recvPacket({ timeout: 5 }), { instanceOf: DatagramProtocolParseError });
  t.deepEqual(err.datagram, Buffer.from([0xff, 0xfe, 0x41]));
  t.is(await b.recvPacket({ timeout: 5 }), 'b');
});
