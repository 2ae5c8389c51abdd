// SCM_CREDENTIALS in both directions and SO_PEERCRED.
import test from 'ava';
import path from 'node:path';
import { DatagramProtocol, JSONSerializer, SCMCredentials, SocketAncillary, UnixDatagramClient } from '../src/index.js';
import { autoClose, hex, startPeer, tempDir } from './helpers.js';

const json = () => new DatagramProtocol(new JSONSerializer());
const ours = () => ({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
const plain = (c: { pid: number; uid: number; gid: number }) => ({ pid: c.pid, uid: c.uid, gid: c.gid });

test('with passCredentials, a datagram from python carries the python process credentials', async (t) => {
  const sockPath = path.join(tempDir(t), 'sender.sock');
  const peer = await startPeer(t, 'sender.py', [sockPath, 'raw', hex('{"from":"python"}')]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json(), { passCredentials: true }));
  t.true(client.socket.getPassCredentials());
  await client.sendPacket('go');

  const ancillary = new SocketAncillary();
  t.deepEqual(await client.recvPacket({ ancillary }), { from: 'python' });
  const creds = [...ancillary.messages()].filter((m): m is SCMCredentials => m instanceof SCMCredentials);
  t.is(creds.length, 1);
  t.deepEqual(creds[0]!.credentials.map(plain), [{ pid: peer.ready.pid, uid: peer.ready.uid, gid: peer.ready.gid }]);
  t.is(ancillary.fdCount, 0);
});

test('addCredentials() sends our pid/uid/gid, which python reads with SO_PASSCRED', async (t) => {
  const sockPath = path.join(tempDir(t), 'echo.sock');
  await startPeer(t, 'echo_server.py', [sockPath]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));

  const ancillary = new SocketAncillary();
  ancillary.addCredentials();
  await client.sendPacket('describe', { ancillary });
  const reply = (await client.recvPacket()) as { creds: unknown };
  t.deepEqual(reply.creds, ours());
});

test('getPeerCredentials() is our own process on a socketpair end and null on a connect()ed client', async (t) => {
  const [a, b] = autoClose(t, UnixDatagramClient.socketpair(json()));
  t.deepEqual(plain(a.socket.getPeerCredentials()!), ours());
  t.deepEqual(plain(b.socket.getPeerCredentials()!), ours());

  const sockPath = path.join(tempDir(t), 'echo.sock');
  await startPeer(t, 'echo_server.py', [sockPath]);
  const client = autoClose(t, await UnixDatagramClient.connect(sockPath, json()));
  t.is(client.socket.getPeerCredentials(), null);
});
