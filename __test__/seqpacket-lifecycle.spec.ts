// Seqpacket lifecycle: socketpair ends and the end of the stream, fromFd (a seqpacket fd python
// passed; a datagram fd refused and left open), empty packets refused, and the socket file
// (removeStale, mode).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import {
  DatagramProtocol,
  SocketAncillary,
  StringSerializer,
  UnixDatagramClient,
  UnixSeqpacketClient,
  UnixSeqpacketServer,
  type SystemError,
} from '../src/index.js';
import { autoClose, fdIsOpen, startPeer, tempDir } from './helpers.js';

const strings = () => new DatagramProtocol(new StringSerializer());

/** Answers "x" with "re:x". */
const echo = async (packet: string, client: { sendPacket(p: string): Promise<void> }) => {
  await client.sendPacket(`re:${packet}`);
};

for (const closing of ['first', 'second'] as const) {
  test(`socketpair: both ends talk; closing the ${closing} ends the other's stream after its packets`, async (t) => {
    const pair = autoClose(t, UnixSeqpacketClient.socketpair(strings()));
    const [a, b] = pair;
    t.deepEqual(a.getPeerName(), { unnamed: true });
    t.deepEqual(b.getLocalName(), { unnamed: true });
    await a.sendPacket('a→b');
    await b.sendPacket('b→a');
    t.is(await b.recvPacket({ timeout: 20 }), 'a→b');
    t.is(await a.recvPacket({ timeout: 20 }), 'b→a');

    const [gone, left] = closing === 'first' ? [a, b] : [b, a];
    await gone.sendPacket('last 1');
    await gone.sendPacket('last 2');
    await gone.close();
    t.false(left.ended, 'packets are still queued');
    const rest: string[] = [];
    for await (const packet of left) rest.push(packet);
    t.deepEqual(rest, ['last 1', 'last 2']);
    t.true(left.ended);
    await t.throwsAsync(left.recvPacket({ timeout: 20 }), { code: 'ERR_UNIXGRAM_PEER_CLOSED' });
    const pipe = await t.throwsAsync<SystemError>(left.sendPacket('hello?'));
    t.is(pipe.code, 'EPIPE');
    t.is(pipe.syscall, 'send');
  });
}

test('a recvPacket waiting when the peer closes rejects with ERR_UNIXGRAM_PEER_CLOSED', async (t) => {
  const [a, b] = autoClose(t, UnixSeqpacketClient.socketpair(strings()));
  const waiting = b.recvPacket({ timeout: 20 });
  await a.close();
  const err = await t.throwsAsync<SystemError>(waiting);
  t.is(err.code, 'ERR_UNIXGRAM_PEER_CLOSED');
  t.true(b.ended);
});

test('fromFd adopts a seqpacket socket python made with socketpair and passed with SCM_RIGHTS', async (t) => {
  const sockPath = path.join(tempDir(t), 'pass.sock');
  const peer = await startPeer(t, 'seqpacket_server.py', ['pass', sockPath]);
  const carrier = autoClose(t, await UnixSeqpacketClient.connect(sockPath, strings()));
  const ancillary = new SocketAncillary();
  t.is(await carrier.recvPacket({ timeout: 20, ancillary }), 'take');
  t.is(ancillary.fdCount, 1);
  const adopted = autoClose(t, UnixSeqpacketClient.fromFd(ancillary.steal(0), strings()));
  t.deepEqual(adopted.getPeerName(), { unnamed: true });
  await adopted.sendPacket('over the passed socket');
  t.is(await adopted.recvPacket({ timeout: 20 }), 'py got over the passed socket');
  t.deepEqual(await peer.nextJson(), { got: 'over the passed socket' });
  await adopted.close(); // python waits for this end of the stream, then exits
  t.like(await peer.waitExit(), { code: 0 });
});

test('fromFd with a datagram socket fd throws ERR_UNIXGRAM_NOT_UNIX_DGRAM and leaves the fd open and working', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(strings()));
  const fd = a.dupFd();
  t.teardown(() => {
    if (fdIsOpen(fd)) fs.closeSync(fd);
  });
  const err = t.throws<SystemError>(() => UnixSeqpacketClient.fromFd(fd, strings()));
  t.is(err.code, 'ERR_UNIXGRAM_NOT_UNIX_DGRAM');
  t.true(err.message.endsWith(`fd ${fd} is an AF_UNIX Datagram socket, not AF_UNIX/SOCK_SEQPACKET`), err.message);
  t.true(fdIsOpen(fd));
  const serverErr = t.throws<SystemError>(() => UnixSeqpacketServer.fromFd(fd, strings(), echo));
  t.is(serverErr.code, 'ERR_UNIXGRAM_NOT_UNIX_DGRAM');
  t.true(fdIsOpen(fd));
  // still the datagram socket it was: adopted as one, it sends to the other end
  const again = autoClose(t, UnixDatagramClient.fromFd(fd, strings()));
  await again.sendPacket('still a datagram socket');
  t.is(await b.recvPacket({ timeout: 20 }), 'still a datagram socket');
});

test('an empty packet is EINVAL before anything is sent: the peer gets the next packet, not an end of stream', async (t) => {
  const [a, b] = autoClose(t, UnixSeqpacketClient.socketpair(strings()));
  const err = await t.throwsAsync<SystemError>(a.sendPacket(''));
  t.is(err.code, 'EINVAL');
  t.is(err.syscall, 'send');
  t.regex(err.message, /cannot be empty/);
  await a.sendPacket('after');
  t.is(await b.recvPacket({ timeout: 20 }), 'after', 'nothing was sent before it');
  t.false(b.ended);
});

test('sendPackets stops at an empty packet with EINVAL: those before it are sent (err.sent), none after', async (t) => {
  const [a, b] = autoClose(t, UnixSeqpacketClient.socketpair(strings()));
  const err = await t.throwsAsync<SystemError & { sent: number }>(a.sendPackets(['fine', '', 'never']));
  t.is(err.code, 'EINVAL');
  t.is(err.syscall, 'sendmmsg');
  t.is(err.sent, 1);
  await a.sendPacket('after');
  t.is(await b.recvPacket({ timeout: 20 }), 'fine');
  t.is(await b.recvPacket({ timeout: 20 }), 'after');
  t.false(b.ended);
});

test('an empty reply from a server handler is EINVAL too, and the connection keeps working', async (t) => {
  const sockPath = path.join(tempDir(t), 'empty-reply.sock');
  const errors: unknown[] = [];
  autoClose(
    t,
    await UnixSeqpacketServer.listen(sockPath, strings(), async (packet, client) => {
      try {
        await client.sendPacket('');
      } catch (err) {
        errors.push((err as SystemError).code);
      }
      await client.sendPacket(`re:${packet}`);
    }),
  );
  const client = autoClose(t, await UnixSeqpacketClient.connect(sockPath, strings()));
  await client.sendPacket('x');
  t.is(await client.recvPacket({ timeout: 20 }), 're:x');
  t.deepEqual(errors, ['EINVAL']);
  t.false(client.ended);
});

test('removeStale replaces a dead seqpacket socket file; without it, or with a live one, EADDRINUSE', async (t) => {
  const sockPath = path.join(tempDir(t), 'stale.sock');
  const stale = await startPeer(t, 'seqpacket_server.py', ['stale', sockPath]);
  await stale.waitExit();
  t.true(fs.lstatSync(sockPath).isSocket(), 'python left its socket file behind');

  const refused = await t.throwsAsync<SystemError>(UnixSeqpacketServer.listen(sockPath, strings(), echo));
  t.is(refused.code, 'EADDRINUSE');
  t.is(refused.syscall, 'bind');
  t.is(refused.address, sockPath);
  t.regex(refused.message, /removeStale/);

  const server = autoClose(t, await UnixSeqpacketServer.listen(sockPath, strings(), echo, { removeStale: true }));
  const client = autoClose(t, await UnixSeqpacketClient.connect(sockPath, strings()));
  await client.sendPacket('new server?');
  t.is(await client.recvPacket({ timeout: 20 }), 're:new server?');

  // a live one, ours: refused, and left serving
  const live = await t.throwsAsync<SystemError>(UnixSeqpacketServer.listen(sockPath, strings(), echo, { removeStale: true }));
  t.is(live.code, 'EADDRINUSE');
  t.is(live.address, sockPath);
  t.regex(live.message, /listening/);
  await client.sendPacket('still you?');
  t.is(await client.recvPacket({ timeout: 20 }), 're:still you?');
  await server.close();
  t.false(fs.existsSync(sockPath), 'the server unlinked its own file');
});

test('removeStale refuses a socket file a live python seqpacket server listens on, and leaves it', async (t) => {
  const sockPath = path.join(tempDir(t), 'live.sock');
  await startPeer(t, 'seqpacket_server.py', ['hold', sockPath]);
  const before = fs.lstatSync(sockPath);
  const err = await t.throwsAsync<SystemError>(UnixSeqpacketServer.listen(sockPath, strings(), echo, { removeStale: true }));
  t.is(err.code, 'EADDRINUSE');
  t.is(err.errno, -98);
  t.is(err.syscall, 'bind');
  t.is(err.address, sockPath);
  t.is(err.message, `bind EADDRINUSE ${sockPath}: a server is listening on it (a probe connected); it is left in place`);
  t.is(fs.lstatSync(sockPath).ino, before.ino, 'the live socket file is untouched');
});

test('removeStale refuses a live datagram socket at the path (a socket of another type)', async (t) => {
  const sockPath = path.join(tempDir(t), 'dgram.sock');
  await startPeer(t, 'bound_receiver.py', [sockPath, '1', '0']);
  const err = await t.throwsAsync<SystemError>(UnixSeqpacketServer.listen(sockPath, strings(), echo, { removeStale: true }));
  t.is(err.code, 'EADDRINUSE');
  t.regex(err.message, /another type/);
  t.true(fs.lstatSync(sockPath).isSocket());
});

for (const mode of [0o600, 0o660, 0o666] as const) {
  test.serial(`mode: 0o${mode.toString(8)} gives the socket file exactly that mode, whatever the umask`, async (t) => {
    const sockPath = path.join(tempDir(t), `mode-${mode.toString(8)}.sock`);
    const previous = process.umask(0o077);
    t.teardown(() => process.umask(previous));
    autoClose(t, await UnixSeqpacketServer.listen(sockPath, strings(), echo, { mode }));
    t.is(fs.statSync(sockPath).mode & 0o7777, mode);
    const client = autoClose(t, await UnixSeqpacketClient.connect(sockPath, strings()));
    await client.sendPacket('m');
    t.is(await client.recvPacket({ timeout: 20 }), 're:m');
  });
}

test('a zero-length packet from python is the end of the stream for our client (as in Go); what follows is not read', async (t) => {
  const sockPath = path.join(tempDir(t), 'empty-from-python.sock');
  const peer = await startPeer(t, 'seqpacket_server.py', ['empty', sockPath]);
  const client = autoClose(t, await UnixSeqpacketClient.connect(sockPath, strings()));
  const got: string[] = [];
  for await (const packet of client) got.push(packet);
  t.deepEqual(got, ['one']);
  t.true(client.ended);
  await t.throwsAsync(client.recvPacket({ timeout: 20 }), { code: 'ERR_UNIXGRAM_PEER_CLOSED' });
  await client.close();
  t.deepEqual(await peer.nextJson(), { eof: true });
});

test('a zero-length packet from a python client ends its conversation and the server closes the connection', async (t) => {
  const sockPath = path.join(tempDir(t), 'empty-to-server.sock');
  const got: string[] = [];
  let finished = false;
  const server = autoClose(
    t,
    await UnixSeqpacketServer.listen(sockPath, strings(), {
      async *handle(client) {
        try {
          for (;;) {
            const packet = yield;
            got.push(packet);
            await client.sendPacket(`re:${packet}`);
          }
        } finally {
          finished = true;
        }
      },
    }),
  );
  const peer = await startPeer(t, 'seqpacket_client.py', ['empty', sockPath]);
  t.deepEqual(await peer.nextJson(), { reply: 're:hello', then: null }, 'python reads the end of the stream: we closed');
  t.deepEqual(got, ['hello']);
  t.true(finished);
  t.is(server.connections, 0);
});
