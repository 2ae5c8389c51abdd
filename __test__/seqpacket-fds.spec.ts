// Descriptors (SCM_RIGHTS) and credentials (SO_PASSCRED) over seqpacket connections: they reach
// the handler readable, are closed after it unless stolen, and never leak; python sends them too.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { DatagramProtocol, JSONSerializer, SocketAncillary, UnixSeqpacketClient, UnixSeqpacketServer } from '../src/index.js';
import { autoClose, fdIsOpen, makeFifos, newFds, openFds, startPeer, tempDir } from './helpers.js';

const json = () => new DatagramProtocol(new JSONSerializer());

function readFd(fd: number): string {
  const buf = Buffer.alloc(256);
  return buf.toString('utf8', 0, fs.readSync(fd, buf, 0, buf.length, null));
}

/** Yields to the event loop until `cond()` holds; fails after `guardMs` (a failure guard, not synchronisation). */
async function until(cond: () => boolean, what: string, guardMs = 20_000): Promise<void> {
  const deadline = Date.now() + guardMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after ${guardMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const own = () => ({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
const plain = (c: { pid: number; uid: number; gid: number } | undefined) => c && { pid: c.pid, uid: c.uid, gid: c.gid };

test.serial('3 fds from our client reach the handler readable; every one is closed after it, none leaks', async (t) => {
  const dir = tempDir(t);
  const sockPath = path.join(dir, 'fds.sock');
  let handlerFds: number[] = [];
  autoClose(
    t,
    await UnixSeqpacketServer.listen(sockPath, json(), async (packet, client) => {
      const fds = [...client.ancillary.iterFds()];
      if (fds.length > 0) handlerFds = fds;
      await client.sendPacket({ packet, contents: fds.map(readFd) });
    }),
  );
  const client = autoClose(t, await UnixSeqpacketClient.connect(sockPath, json()));
  const contents = ['pipe-0', 'pipe-1 ✓', 'pipe-2'];
  const fifos = makeFifos(t, dir, contents);
  await client.sendPacket('hello');
  t.deepEqual(await client.recvPacket({ timeout: 20 }), { packet: 'hello', contents: [] });
  const baseline = openFds(); // the accepted connection exists now

  const sending = new SocketAncillary();
  sending.addFds(fifos);
  await client.sendPacket('three fds', { ancillary: sending });
  t.deepEqual(await client.recvPacket({ timeout: 20 }), { packet: 'three fds', contents });
  // packets of one connection are handled in order: once this is answered, the first handler run has ended
  await client.sendPacket('sync');
  t.deepEqual(await client.recvPacket({ timeout: 20 }), { packet: 'sync', contents: [] });

  t.is(handlerFds.length, 3);
  t.true(
    handlerFds.every((fd) => !fifos.includes(fd)),
    'the handler got new descriptors, not ours',
  );
  t.false(handlerFds.some(fdIsOpen), 'every received fd is closed');
  t.deepEqual(newFds(baseline), []);
  t.true(fifos.every(fdIsOpen), 'the sender keeps its own fds');
});

test.serial('a handler that steals one of 3 fds keeps it open after the packet; the other two are closed', async (t) => {
  const dir = tempDir(t);
  const sockPath = path.join(dir, 'steal.sock');
  let stolen = -1;
  let others: number[] = [];
  autoClose(
    t,
    await UnixSeqpacketServer.listen(sockPath, json(), async (packet, client) => {
      if (client.ancillary.fdCount === 3) {
        const fds = [...client.ancillary.iterFds()];
        stolen = client.ancillary.steal(1);
        others = [fds[0]!, fds[2]!];
      }
      await client.sendPacket(packet);
    }),
  );
  const client = autoClose(t, await UnixSeqpacketClient.connect(sockPath, json()));
  const fifos = makeFifos(t, dir, ['a', 'stolen one', 'c']);
  await client.sendPacket(0);
  t.is(await client.recvPacket({ timeout: 20 }), 0);
  const baseline = openFds();

  const sending = new SocketAncillary();
  sending.addFds(fifos);
  await client.sendPacket(1, { ancillary: sending });
  t.is(await client.recvPacket({ timeout: 20 }), 1);
  await client.sendPacket(2);
  t.is(await client.recvPacket({ timeout: 20 }), 2);

  t.true(fdIsOpen(stolen));
  t.false(others.some(fdIsOpen));
  t.deepEqual(newFds(baseline), [stolen]);
  t.is(readFd(stolen), 'stolen one');
  fs.closeSync(stolen);
  t.deepEqual(newFds(baseline), []);
});

test.serial('a reply can carry an fd back to our client, which owns it until close()', async (t) => {
  const dir = tempDir(t);
  const sockPath = path.join(dir, 'reply-fd.sock');
  const [fifo] = makeFifos(t, dir, ['from the server']);
  autoClose(
    t,
    await UnixSeqpacketServer.listen(sockPath, json(), async (packet, client) => {
      const ancillary = new SocketAncillary();
      ancillary.addFds([fifo!]);
      await client.sendPacket({ re: packet }, { ancillary });
    }),
  );
  const client = autoClose(t, await UnixSeqpacketClient.connect(sockPath, json()));
  await client.sendPacket('warm up');
  t.deepEqual(await client.recvPacket({ timeout: 20, ancillary: new SocketAncillary() }), { re: 'warm up' });
  const baseline = openFds();

  await client.sendPacket('give me an fd');
  const received = new SocketAncillary();
  t.deepEqual(await client.recvPacket({ timeout: 20, ancillary: received }), { re: 'give me an fd' });
  const [fd] = [...received.iterFds()];
  t.is(received.fdCount, 1);
  t.deepEqual(newFds(baseline), [fd]);
  t.is(readFd(fd!), 'from the server');
  received.close();
  t.deepEqual(newFds(baseline), []);
});

test.serial('passCredentials: the handler sees our pid, uid and gid; our client sees the server’s on the reply', async (t) => {
  const sockPath = path.join(tempDir(t), 'creds.sock');
  const seen: unknown[] = [];
  autoClose(
    t,
    await UnixSeqpacketServer.listen(
      sockPath,
      json(),
      async (packet, client) => {
        seen.push(plain(client.credentials));
        await client.sendPacket(packet);
      },
      { passCredentials: true },
    ),
  );
  const client = autoClose(t, await UnixSeqpacketClient.connect(sockPath, json(), { passCredentials: true }));
  const received = new SocketAncillary();
  await client.sendPacket('who am i');
  t.is(await client.recvPacket({ timeout: 20, ancillary: received }), 'who am i');
  t.deepEqual(seen, [own()]);
  t.deepEqual(received.credentials.map(plain), [own()]);
});

test.serial('without passCredentials the handler gets no credentials', async (t) => {
  const sockPath = path.join(tempDir(t), 'nocreds.sock');
  const seen: unknown[] = [];
  autoClose(
    t,
    await UnixSeqpacketServer.listen(sockPath, json(), async (packet, client) => {
      seen.push(client.credentials);
      await client.sendPacket(packet);
    }),
  );
  const client = autoClose(t, await UnixSeqpacketClient.connect(sockPath, json()));
  await client.sendPacket(1);
  t.is(await client.recvPacket({ timeout: 20 }), 1);
  t.deepEqual(seen, [undefined]);
});

test.serial('python sends 3 pipe fds with sendmsg + SCM_RIGHTS: the handler reads them and sees its pid; nothing leaks', async (t) => {
  const sockPath = path.join(tempDir(t), 'python-fds.sock');
  const server = autoClose(
    t,
    await UnixSeqpacketServer.listen(
      sockPath,
      json(),
      async (packet, client) => {
        const fds = [...client.ancillary.iterFds()];
        await client.sendPacket({ packet, contents: fds.map(readFd), credentials: plain(client.credentials) });
      },
      { passCredentials: true },
    ),
  );
  const baseline = openFds();
  const peer = await startPeer(t, 'seqpacket_client.py', ['fds', sockPath, '3']);
  const { reply } = await peer.nextJson();
  t.deepEqual(reply, {
    packet: { from: 'python', pid: peer.ready.pid },
    contents: ['py-fd-0', 'py-fd-1', 'py-fd-2'],
    credentials: { pid: peer.ready.pid, uid: process.getuid!(), gid: process.getgid!() },
  });
  await peer.waitExit(); // its stdio pipes are closed now
  await until(() => server.connections === 0, 'back to 0 connections');
  t.deepEqual(newFds(baseline), [], 'the received fds and the connection are all closed');
});

// With passCredentials, a packet a peer (without SO_PASSCRED of its own) sends in the moment
// between accept(2) and the server's setsockopt on the accepted socket used to come without
// credentials ({ pid: 0, uid: 65534, gid: 65534 }). About 2 in 1000 connections hit that
// window here; the peer stops at the first. SO_PASSCRED on the listener closes it.
test.serial(
  'passCredentials: a python peer that sends right after connecting still gets its credentials seen (5000 connections)',
  async (t) => {
    t.timeout(120_000);
    const sockPath = path.join(tempDir(t), 'race.sock');
    const missing: unknown[] = [];
    const pids = new Set<number>();
    autoClose(
      t,
      await UnixSeqpacketServer.listen(
        sockPath,
        json(),
        async (_packet, client) => {
          const ok = client.credentials !== undefined && client.credentials.pid !== 0;
          if (ok) pids.add(client.credentials.pid);
          else missing.push(plain(client.credentials));
          await client.sendPacket(ok);
        },
        { passCredentials: true },
      ),
    );
    const peer = await startPeer(t, 'seqpacket_client.py', ['race', sockPath, '5000', '0.0006']);
    const result = await peer.nextJson(100_000);
    t.deepEqual(missing, [], `seen instead of the sender's credentials, after ${result.connections} connections`);
    t.deepEqual([...pids], [peer.ready.pid]);
    t.deepEqual(result, { connections: 5000, missing: 0 });
  },
);
