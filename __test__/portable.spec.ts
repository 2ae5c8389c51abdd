// The portable subset: what must work on every platform unixgram ships a binary for (Linux,
// macOS, FreeBSD), with nothing Linux-only in the test itself (no /proc, no abstract names,
// no python peers). The release workflow runs this file on macOS and FreeBSD, where the rest
// of the suite (abstract names, credentials, /proc) cannot run; on Linux it runs with the rest.
// It also pins down the Linux-only features: they work on Linux and are refused elsewhere with
// ERR_UNIXGRAM_UNSUPPORTED before any syscall.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';

import { BytesSerializer, DatagramProtocol, SocketAncillary, UnixDatagramClient, UnixDatagramServer } from '../src/index.js';
import { autoClose, tempDir } from './helpers.js';

const bytes = () => new DatagramProtocol(new BytesSerializer());
const isLinux = process.platform === 'linux';

test('a server and a client bound to socket files talk both ways', async (t) => {
  const dir = tempDir(t);
  const [pa, pb] = [path.join(dir, 'a.sock'), path.join(dir, 'b.sock')];
  // The server binds its file; the client binds its own and connects to the server.
  const server = await UnixDatagramServer.listen(pa, bytes(), {
    async *handle(client) {
      const packet: Buffer = yield;
      await client.sendPacket(Buffer.concat([Buffer.from('echo:'), packet]));
    },
  });
  t.teardown(() => server.close());
  const b = autoClose(t, await UnixDatagramClient.connect(pa, bytes(), { localAddress: pb }));
  await b.sendPacket(Buffer.from('hello'));
  t.is((await b.recvPacket({ timeout: 10 })).toString(), 'echo:hello');
  t.deepEqual(b.getLocalName(), { path: pb });
});

test('a socketpair carries 500 datagrams in order through sendPackets and iteration', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(bytes()));
  const sent = Array.from({ length: 500 }, (_, i) => Buffer.from(`packet ${i}`));
  const receiving = (async () => {
    const got: string[] = [];
    for await (const p of b.iterReceivedPackets({ timeout: 10 })) {
      got.push(p.toString());
      if (got.length === sent.length) break;
    }
    return got;
  })();
  for (let i = 0; i < sent.length; i += 50) await a.sendPackets(sent.slice(i, i + 50));
  t.deepEqual(await receiving, sent.map(String));
});

test('a file descriptor sent with a datagram arrives open and reads the same file', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'data.txt');
  fs.writeFileSync(file, 'passed by fd');
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(bytes()));
  const fd = fs.openSync(file, 'r');
  t.teardown(() => fs.closeSync(fd));
  const out = new SocketAncillary();
  out.addFds([fd]);
  await a.sendPacket(Buffer.from('with fd'), { ancillary: out });
  const received = new SocketAncillary();
  t.is((await b.recvPacket({ ancillary: received, timeout: 10 })).toString(), 'with fd');
  t.is(received.fdCount, 1);
  const theirs = received.steal(0);
  t.not(theirs, fd);
  try {
    t.is(fs.readFileSync(theirs, 'utf8'), 'passed by fd');
  } finally {
    fs.closeSync(theirs);
  }
});

test('Linux-only features work on Linux and are ERR_UNIXGRAM_UNSUPPORTED elsewhere', async (t) => {
  const abstract = `\0unixgram-portable-${process.pid}`;
  const unsupported = { code: 'ERR_UNIXGRAM_UNSUPPORTED' };
  if (isLinux) {
    const server = await UnixDatagramServer.listen(abstract, bytes(), {
      async *handle(client) {
        const packet: Buffer = yield;
        await client.sendPacket(packet);
      },
    });
    t.teardown(() => server.close());
    // Default local address: autobind, so the server can answer.
    const client = autoClose(t, await UnixDatagramClient.connect(abstract, bytes(), { passCredentials: true }));
    await client.sendPacket(Buffer.from('ping'));
    t.is((await client.recvPacket({ timeout: 10 })).toString(), 'ping');
  } else {
    await t.throwsAsync(UnixDatagramServer.listen(abstract, bytes(), { async *handle() {} }), unsupported);
    const dir = tempDir(t);
    const target = path.join(dir, 't.sock');
    const server = await UnixDatagramServer.listen(target, bytes(), { async *handle() {} });
    t.teardown(() => server.close());
    await t.throwsAsync(UnixDatagramClient.connect(target, bytes(), { passCredentials: true }), unsupported);
    await t.throwsAsync(UnixDatagramClient.connect(target, bytes(), { passPidfd: true }), unsupported);
    // No autobind: the default is to stay unnamed, which still sends.
    const client = autoClose(t, await UnixDatagramClient.connect(target, bytes()));
    await t.notThrowsAsync(client.sendPacket(Buffer.from('one way')));
    t.false(client.socket.getPassPidfd());
    client.socket.setPassPidfd(false); // off is fine: it is never on
    t.throws(() => client.socket.getPeerPidfd(), unsupported);
  }
});
