// Abstract names are exact (no NUL padding) in both directions, checked against python's view of them.
import test from 'ava';
import { DatagramProtocol, JSONSerializer, UnixDatagramClient } from '../src/index.js';
import { abstractName, atName, autoClose, hex, startPeer } from './helpers.js';

const json = () => new DatagramProtocol(new JSONSerializer());

test('a python abstract name is reached exactly as { abstract: name } and as "\\0name"', async (t) => {
  const name = abstractName('addr');
  const peer = await startPeer(t, 'echo_server.py', [atName(name)]);
  t.deepEqual(peer.ready.address, { abstract_hex: hex(name) });

  for (const address of [{ abstract: name }, `\0${name}`]) {
    const client = autoClose(t, await UnixDatagramClient.connect(address, json()));
    t.deepEqual(client.getPeerName(), { abstract: name });
    await client.sendPacket({ address: typeof address });
    t.deepEqual(await client.recvPacket(), { address: typeof address });
  }
});

test('a name one character shorter or longer than the python one is not reached', async (t) => {
  const name = abstractName('near');
  await startPeer(t, 'echo_server.py', [atName(name)]);
  await t.throwsAsync(UnixDatagramClient.connect({ abstract: name.slice(0, -1) }, json()), { code: 'ECONNREFUSED' });
  await t.throwsAsync(UnixDatagramClient.connect({ abstract: `${name}\0` }, json()), { code: 'ECONNREFUSED' });
});

test('our abstract bind is seen by python with its exact length', async (t) => {
  const serverName = abstractName('srv');
  const ourName = abstractName('ours');
  await startPeer(t, 'echo_server.py', [atName(serverName)]);
  const client = autoClose(t, await UnixDatagramClient.connect({ abstract: serverName }, json(), { localAddress: { abstract: ourName } }));
  t.deepEqual(client.getLocalName(), { abstract: ourName });

  await client.sendPacket('describe');
  const reply = (await client.recvPacket()) as { sender: unknown };
  t.deepEqual(reply.sender, { abstract_hex: hex(ourName) });
});

test('the autobind name python sees is the one getLocalName() reports', async (t) => {
  const serverName = abstractName('auto');
  await startPeer(t, 'echo_server.py', [atName(serverName)]);
  const client = autoClose(t, await UnixDatagramClient.connect(`\0${serverName}`, json()));
  const local = client.getLocalName() as { abstract: string };

  await client.sendPacket('describe');
  const reply = (await client.recvPacket()) as { sender: unknown };
  t.deepEqual(reply.sender, { abstract_hex: hex(local.abstract) });
});
