// Traps of the binding itself, seen through the internal native API.
import test from 'ava';

import { UnixDatagramClient, DatagramProtocol, StringSerializer } from '../src/index.js';
import { startNodeFixture } from './helpers.js';

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
