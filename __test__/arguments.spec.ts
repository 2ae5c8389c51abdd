// Every argument is checked before any syscall or fd take-over, and every mistake is a coded
// JS error: wrong types (ERR_INVALID_ARG_TYPE), unknown option keys (ERR_INVALID_ARG_VALUE,
// naming the key and the known ones), and the library's own helpers.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import {
  BytesSerializer,
  CompressedSerializer,
  DatagramProtocol,
  JSONSerializer,
  SCMCredentials,
  SCMRights,
  SocketAncillary,
  StringSerializer,
  UnixDatagramClient,
  UnixDatagramServer,
  formatAddress,
} from '../src/index.js';
import { autoClose, newFds, openFds, startNodeFixture, startPeer, tempDir } from './helpers.js';

const strings = () => new DatagramProtocol(new StringSerializer());
const typeError = { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' };
const BAD_PROTOCOLS: unknown[] = [undefined, null, 5, {}, 'json', new StringSerializer()];

test("fromFd with a bad protocol throws before taking the fd: it stays open and the caller's, through garbage collections", async (t) => {
  const child = startNodeFixture(t, 'from-fd-bad-protocol.ts', [], { nodeFlags: ['--expose-gc'] });
  t.deepEqual(await child.waitExit(), { code: 0, signal: null }, child.stderr);
  t.deepEqual(JSON.parse(child.lines[0]!), {
    codes: Array(5).fill('ERR_INVALID_ARG_TYPE'),
    socketOpen: true,
    fileOpen: true,
    works: true,
  });
});

test.serial('socketpair, connect and listen check the protocol and handler before creating a socket', async (t) => {
  const dir = tempDir(t);
  const server = path.join(dir, 'server.sock');
  const local = path.join(dir, 'local.sock');
  await startPeer(t, 'echo_server.py', [server]);
  const before = openFds();
  for (const bad of BAD_PROTOCOLS) {
    t.throws(() => UnixDatagramClient.socketpair(bad as never), {
      ...typeError,
      message: /"protocol" argument must be an instance of DatagramProtocol/,
    });
    await t.throwsAsync(UnixDatagramClient.connect(server, bad as never, { localAddress: local }), typeError);
    await t.throwsAsync(
      UnixDatagramServer.listen(path.join(dir, 'never.sock'), bad as never, () => {}),
      typeError,
    );
  }
  for (const bad of [undefined, 5, {}, { handle: 1 }, async function* () {}]) {
    await t.throwsAsync(UnixDatagramServer.listen(path.join(dir, 'never.sock'), strings(), bad as never), {
      ...typeError,
      message: /"handler" argument/,
    });
  }
  t.deepEqual(newFds(before), [], 'no socket was created');
  t.deepEqual(fs.readdirSync(dir).sort(), ['server.sock'], 'nothing was bound');
});

test("the library's own errors carry codes: serializers, addresses, ancillary data, protocols", async (t) => {
  t.throws(() => new StringSerializer().serialize(5 as never), { ...typeError, message: /"packet" argument must be of type string/ });
  t.throws(() => new StringSerializer().serializeText({} as never), typeError);
  t.throws(() => new BytesSerializer().serialize('text' as never), { ...typeError, message: /Uint8Array or Buffer/ });
  t.throws(() => new JSONSerializer().serialize(undefined), {
    instanceOf: TypeError,
    code: 'ERR_INVALID_ARG_VALUE',
    message: /no JSON form/,
  });
  t.throws(() => formatAddress(0 as never), typeError);
  t.throws(() => formatAddress({ path: 1 } as never), typeError);
  t.throws(() => new SCMRights({} as never), typeError);
  t.throws(() => new SCMRights([-1]), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => new SCMCredentials({} as never), typeError);
  t.throws(() => new SCMCredentials([null] as never), typeError);
  t.throws(() => new SCMCredentials([{ pid: 1, uid: -1, gid: 0 }]), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => new SocketAncillary().addCredentials(null as never), typeError);
  t.throws(() => new SocketAncillary().addFds(undefined as never), typeError);
  t.throws(() => new SocketAncillary().addFds(null as never), typeError);
  t.throws(() => strings().buildPacketFromDatagram(null as never), { ...typeError, message: /"datagram" argument must be a Buffer/ });
  t.throws(() => new DatagramProtocol(undefined as never), typeError);
  t.throws(() => new DatagramProtocol({} as never), {
    instanceOf: TypeError,
    code: 'ERR_INVALID_ARG_VALUE',
    message: /serialize\(\) and deserialize\(\)/,
  });
  // Through a client: the serializer's error, and nothing sent.
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(strings()));
  await t.throwsAsync(a.sendPacket(42 as never), typeError);
  await t.throwsAsync(a.sendPackets(['fine', 42 as never]), typeError);
  await a.sendPacket('only this');
  t.is(await b.recvPacket(), 'only this');
  t.is(await b.recvPacket({ timeout: 0 }).catch((err: NodeJS.ErrnoException) => err.code), 'ETIMEDOUT');
});

test('listen where the path cannot be looked at names the operation (bind), the path and why', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'regular');
  fs.writeFileSync(file, '');
  const address = path.join(file, 'server.sock'); // under a regular file: ENOTDIR
  const err = await t.throwsAsync(
    UnixDatagramServer.listen(address, strings(), () => {}),
    { code: 'ENOTDIR' },
  );
  t.like(err, { syscall: 'bind', address, errno: -20 });
  t.regex(err.message, /^bind ENOTDIR .*server\.sock: cannot look at the path \(lstat: /);
});

test('unknown option keys are refused, naming the key and the known ones, before anything happens', async (t) => {
  const dir = tempDir(t);
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(strings()));
  const unknown = (key: string, known: RegExp) => ({
    instanceOf: TypeError,
    code: 'ERR_INVALID_ARG_VALUE',
    message: new RegExp(`'options\\.${key}' is not an option of this call \\(the known options are ${known.source}\\)`),
  });

  // A misspelt timeout would otherwise wait forever.
  await t.throwsAsync(b.recvPacket({ timout: 1 } as never), unknown('timout', /timeout, signal, ancillary/));
  for (const key of ['destination', 'flags', 'peek']) {
    await t.throwsAsync(a.sendPacket('x', { [key]: 1 }), unknown(key, /ancillary, signal, timeout/));
    await t.throwsAsync(b.recvPacket({ [key]: 1 }), unknown(key, /timeout, signal, ancillary/));
  }
  await t.throwsAsync(a.sendPackets(['x'], { flags: 1 } as never), unknown('flags', /ancillary, signal, timeout/));
  t.throws(() => b.iterReceivedPackets({ budget: 1 } as never), unknown('budget', /timeout, signal/));
  t.throws(() => b.recvPacketSync({ signal: undefined } as never), unknown('signal', /timeout, ancillary/));
  t.throws(() => a.sendPacketSync('x', { peek: true } as never), unknown('peek', /timeout, ancillary/));
  await t.throwsAsync(
    UnixDatagramClient.connect(path.join(dir, 'none.sock'), strings(), { local: '/x' } as never),
    unknown('local', /localAddress, passCredentials, passPidfd, signal, largePayloads, maxPayloadSize, reuseReceiveBuffer, busyPoll/),
  );
  await t.throwsAsync(
    UnixDatagramServer.listen(path.join(dir, 's.sock'), strings(), () => {}, { umask: 0 } as never),
    unknown('umask', /mode, removeStale, passCredentials, passPidfd, onError, signal, largePayloads, maxPayloadSize, busyPoll/),
  );
  t.false(fs.existsSync(path.join(dir, 's.sock')), 'nothing was bound');
  t.throws(
    () => new CompressedSerializer(new JSONSerializer(), { lvl: 3 } as never),
    unknown('lvl', /algorithm, level, maxDecompressedSize/),
  );
  t.throws(() => new SocketAncillary().addCredentials({ pid: 1, user: 0 } as never), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /'options\.user'/,
  });

  const server = autoClose(t, await UnixDatagramServer.listen(path.join(dir, 'ok.sock'), strings(), () => {}));
  await t.throwsAsync(server.serveForever({ sig: 1 } as never), unknown('sig', /signal/));

  // None of the refused calls consumed or sent anything.
  await a.sendPacket('after');
  t.is(await b.recvPacket(), 'after');
});
