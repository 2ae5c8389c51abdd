// Errors: OS errors carry code/errno/syscall/address, library errors carry their code, bad input fails early.
import test from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import util from 'node:util';
import { BytesSerializer, DatagramProtocol, JSONSerializer, SocketAncillary, UnixDatagramClient } from '../src/index.js';
import { autoClose, fdIsOpen, makeFifos, newFds, openFds, startPeer, tempDir } from './helpers.js';

const json = () => new DatagramProtocol(new JSONSerializer());

interface OsError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
}

test.serial('connecting to a missing path fails with ENOENT carrying errno, syscall, address and the path in the message', async (t) => {
  const missing = path.join(tempDir(t), 'nobody-here.sock');
  const before = openFds();
  const err = await t.throwsAsync<OsError>(UnixDatagramClient.connect(missing, json()));
  t.is(err.code, 'ENOENT');
  t.is(err.errno, -2);
  t.is(util.getSystemErrorName(err.errno), err.code);
  t.is(err.syscall, 'connect');
  t.is(err.address, missing);
  t.true(err.message.includes(missing), err.message);
  t.deepEqual(newFds(before), [], 'the socket created for the failed connect is closed');
});

test('the first send after the peer went away rejects with ECONNREFUSED', async (t) => {
  const sockPath = path.join(tempDir(t), 'echo.sock');
  const peer = await startPeer(t, 'echo_server.py', [sockPath]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));
  await peer.kill();

  const err = await t.throwsAsync<OsError>(client.sendPacket('anyone?'));
  t.is(err.code, 'ECONNREFUSED');
  t.is(err.errno, -111);
  t.is(util.getSystemErrorName(err.errno), err.code);
  t.true(['send', 'sendmsg', 'sendmmsg'].includes(err.syscall), `syscall ${err.syscall}`);
  t.is(err.address, sockPath);
  t.true(err.message.includes('ECONNREFUSED'), err.message);
  t.false(client.closed);

  // the kernel dropped the association: the next send says so, until reconnect()
  const next = await t.throwsAsync<OsError>(client.sendPacket('still nobody'));
  t.is(next.code, 'ENOTCONN');
  t.is(next.errno, -107);
  t.is(util.getSystemErrorName(next.errno), next.code);
});

test('sendPackets after the peer went away rejects with ECONNREFUSED and its address, then ENOTCONN', async (t) => {
  const sockPath = path.join(tempDir(t), 'echo.sock');
  const peer = await startPeer(t, 'echo_server.py', [sockPath]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));
  await peer.kill();

  const err = await t.throwsAsync<OsError>(client.sendPackets(['a', 'b', 'c']));
  t.is(err.code, 'ECONNREFUSED');
  t.is(err.errno, -111);
  t.is(err.address, sockPath);
  t.true(err.message.includes('nothing is receiving'), err.message);
  const next = await t.throwsAsync<OsError>(client.sendPackets(['d']));
  t.is(next.code, 'ENOTCONN');
});

test('a path longer than sun_path fails with ENAMETOOLONG and nothing is bound or truncated', async (t) => {
  const dir = tempDir(t);
  const sockPath = path.join(dir, 'echo.sock');
  await startPeer(t, 'echo_server.py', [sockPath]);
  const longPath = path.join(dir, 'L'.repeat(120));
  t.true(Buffer.byteLength(longPath) > 108);

  const asPeer = await t.throwsAsync<OsError>(UnixDatagramClient.connect(longPath, json()));
  t.is(asPeer.code, 'ENAMETOOLONG');
  t.is(asPeer.errno, -36);
  t.is(util.getSystemErrorName(asPeer.errno), asPeer.code);
  t.is(asPeer.syscall, 'connect');
  t.is(asPeer.address, longPath);
  t.true(asPeer.message.includes(longPath), asPeer.message);

  const asLocal = await t.throwsAsync<OsError>(UnixDatagramClient.connect(sockPath, json(), { localAddress: longPath }));
  t.is(asLocal.code, 'ENAMETOOLONG');
  t.is(asLocal.errno, -36);
  t.is(asLocal.syscall, 'bind');
  t.is(asLocal.address, longPath);
  t.true(asLocal.message.includes(longPath), asLocal.message);

  t.deepEqual(fs.readdirSync(dir), ['echo.sock'], 'no truncated socket file was created');
});

test('fromFd() with a pipe fd fails with ERR_UNIXGRAM_NOT_UNIX_DGRAM and leaves the fd open', (t) => {
  const fifo = makeFifos(t, tempDir(t), ['still here'])[0]!;
  const err = t.throws<OsError>(() => UnixDatagramClient.fromFd(fifo, json()));
  t.is(err.code, 'ERR_UNIXGRAM_NOT_UNIX_DGRAM');
  t.true(fdIsOpen(fifo));
  const buf = Buffer.alloc(32);
  t.is(buf.toString('utf8', 0, fs.readSync(fifo, buf, 0, 32, null)), 'still here');
});

test('fromFd() with a TCP or unix stream socket fails with ERR_UNIXGRAM_NOT_UNIX_DGRAM and leaves the socket working', async (t) => {
  const tcp = net.createServer((conn) => conn.end('tcp ok'));
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  t.teardown(() => tcp.close());
  const streamPath = path.join(tempDir(t), 'stream.sock');
  const stream = net.createServer((conn) => conn.end('stream ok'));
  await new Promise<void>((resolve) => stream.listen(streamPath, resolve));
  t.teardown(() => stream.close());

  for (const [server, expected, target] of [
    [tcp, 'tcp ok', (tcp.address() as net.AddressInfo).port],
    [stream, 'stream ok', streamPath],
  ] as const) {
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    t.true(fd > 2);
    const err = t.throws<OsError>(() => UnixDatagramClient.fromFd(fd, json()));
    t.is(err.code, 'ERR_UNIXGRAM_NOT_UNIX_DGRAM');
    t.true(fdIsOpen(fd));
    const reply = await new Promise<string>((resolve, reject) => {
      const conn = typeof target === 'number' ? net.connect(target, '127.0.0.1') : net.connect(target);
      let text = '';
      conn
        .setEncoding('utf8')
        .on('data', (d) => (text += String(d)))
        .on('end', () => resolve(text))
        .on('error', reject);
    });
    t.is(reply, expected);
  }
});

test('every method of a closed client fails with ERR_UNIXGRAM_CLOSED', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  await a.close();
  t.true(a.closed);
  const closed = { code: 'ERR_UNIXGRAM_CLOSED' };

  await t.throwsAsync(() => a.sendPacket('x'), closed);
  await t.throwsAsync(() => a.recvPacket(), closed);
  await t.throwsAsync(() => a.recvPacket({ timeout: 0 }), closed);
  await t.throwsAsync(() => a.reconnect(), closed);
  t.throws(() => a.getPeerName(), closed);
  t.throws(() => a.getLocalName(), closed);
  t.throws(() => a.socket.getSendBufferSize(), closed);
  t.throws(() => a.socket.setSendBufferSize(65536), closed);
  t.throws(() => a.socket.getReceiveBufferSize(), closed);
  t.throws(() => a.socket.getPassCredentials(), closed);
  t.throws(() => a.socket.setPassCredentials(true), closed);
  t.throws(() => a.socket.getPeerCredentials(), closed);
  t.false(b.closed, 'closing one end does not close the other');
});

test('iterating a closed client is use after close: the first next() rejects with ERR_UNIXGRAM_CLOSED', async (t) => {
  const [a] = autoClose(t, UnixDatagramClient.socketpair(json()));
  await a.close();
  // an iterator started after close() is a bug in the caller, not an empty stream
  await t.throwsAsync(() => a.iterReceivedPackets().next(), { code: 'ERR_UNIXGRAM_CLOSED' });
  await t.throwsAsync(() => a.iterReceivedPackets({ timeout: null }).next(), { code: 'ERR_UNIXGRAM_CLOSED' });
});

test('closing twice, or twice at once, is fine', async (t) => {
  const [a, b] = UnixDatagramClient.socketpair(json());
  await a.close();
  await a.close();
  await Promise.all([b.close(), b.close(), b[Symbol.asyncDispose]()]);
  t.true(a.closed);
  t.true(b.closed);
});

test('bad arguments fail with TypeError/RangeError before any syscall', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  const devNull = fs.openSync('/dev/null', 'r');
  t.teardown(() => fs.closeSync(devNull));

  await t.throwsAsync(async () => b.recvPacket({ timeout: -1 }), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' });
  await t.throwsAsync(async () => b.recvPacket({ timeout: 'x' as unknown as number }), {
    instanceOf: TypeError,
    code: 'ERR_INVALID_ARG_TYPE',
  });
  t.throws(() => new SocketAncillary().addFds([-1]), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' });

  // 254 fds (SCM_MAX_FD is 253): refused when added or when sent, and nothing reaches the peer
  const tooMany = Array.from({ length: 254 }, () => devNull);
  await t.throwsAsync(
    async () => {
      const ancillary = new SocketAncillary();
      ancillary.addFds(tooMany);
      await a.sendPacket('with 254 fds', { ancillary });
    },
    { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' },
  );

  // options that are not an object: refused, not ignored (a number has no .ancillary)
  for (const bad of [5, 'x', null, true]) {
    const options = bad as unknown as object;
    const invalid = { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE', message: /"options" argument/ };
    await t.throwsAsync(a.sendPacket('not sent', options), invalid);
    await t.throwsAsync(a.sendPackets(['not sent either'], options), invalid);
  }

  // the failed calls consumed nothing: the next packet is the first one received
  await a.sendPacket('marker');
  t.is(await b.recvPacket(), 'marker');
  t.true(fdIsOpen(devNull), 'our fd was not closed by the failed send');
});

test('a datagram larger than the kernel limit fails with EMSGSIZE stating the limit, and the client still works', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(new DatagramProtocol(new BytesSerializer())));
  const size = 8 * 1024 * 1024;
  const err = await t.throwsAsync<OsError>(a.sendPacket(Buffer.alloc(size)));
  t.is(err.code, 'EMSGSIZE');
  t.is(err.errno, -90);
  t.is(util.getSystemErrorName(err.errno), err.code);
  t.true(['send', 'sendmsg', 'sendmmsg'].includes(err.syscall), `syscall ${err.syscall}`);
  t.true(err.message.includes(String(size)), `message names the datagram size: ${err.message}`);
  const numbers = (err.message.match(/\d+/g) ?? []).map(Number);
  t.true(
    numbers.some((n) => n >= 1024 * 1024 && n < size),
    `message states a limit between 1 MiB and 8 MiB: ${err.message}`,
  );

  await a.sendPacket(Buffer.from('small'));
  t.deepEqual(await b.recvPacket(), Buffer.from('small'));
});
