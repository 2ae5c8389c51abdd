// UdpEndpoint and UdpClient against peers that are not ours: Node's own dgram sockets in both
// directions (IPv4 and IPv6, addresses as dgram's rinfo and address() give them), and socat's
// UDP-SENDTO / UDP-RECVFROM (binary datagrams through its stdin and stdout).
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { BytesSerializer, DatagramProtocol, StringSerializer, UdpClient, UdpEndpoint } from '../src/index.js';
import { autoClose, pattern } from './helpers.js';

const bytes = () => new DatagramProtocol(new BytesSerializer());
const strings = () => new DatagramProtocol(new StringSerializer());
const GUARD_MS = 20_000;

/** Binary contents, distinct per index: a label, then every byte value from i on. */
const contents = (i: number): Buffer =>
  Buffer.concat([Buffer.from(`#${i}\0\n`), Buffer.from(Array.from({ length: 256 }, (_, k) => (i + k) % 256))]);

interface Received {
  msg: Buffer;
  rinfo: dgram.RemoteInfo;
}

/** A bound dgram socket that records what arrives; `next(n)` waits until n messages are there. */
async function dgramPeer(t: ExecutionContext, type: 'udp4' | 'udp6', address: string) {
  const socket = dgram.createSocket({ type, recvBufferSize: 4 << 20 });
  const received: Received[] = [];
  let wake: (() => void) | undefined;
  socket.on('message', (msg, rinfo) => {
    received.push({ msg, rinfo });
    wake?.();
  });
  socket.bind(0, address);
  await once(socket, 'listening');
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return {
    socket,
    received,
    /** Waits until `count` messages have arrived in all (a failure guard, not synchronisation). */
    async until(count: number): Promise<Received[]> {
      const deadline = Date.now() + GUARD_MS;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`dgram got ${received.length} of ${count} messages`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 100);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return received.slice(0, count);
    },
  };
}

/** A port on `address` that nobody is bound to: the kernel picks it, we let it go. */
async function unusedPort(address: string): Promise<number> {
  const probe = await UdpEndpoint.bind({ address, port: 0 }, bytes());
  const { port } = probe.getLocalName();
  await probe.close();
  return port;
}

/** socat with its stdout collected as bytes and its `-d -d` log on stderr; killed at teardown. */
function startSocat(t: ExecutionContext, args: string[], stdin?: Buffer) {
  const child = spawn('socat', ['-d', '-d', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  if (stdin) child.stdin.end(stdin);
  return {
    stdout: () => Buffer.concat(stdout),
    stderr: () => stderr,
    /** Waits until socat logs a line matching `re` (it logs "receiving on" once it is bound). */
    async logged(re: RegExp): Promise<RegExpExecArray> {
      const deadline = Date.now() + GUARD_MS;
      for (;;) {
        const match = re.exec(stderr);
        if (match) return match;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`socat did not log ${re}; stderr:\n${stderr}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 100);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    async exitCode(): Promise<number | null> {
      return exited;
    },
  };
}

for (const [type, host, family] of [
  ['udp4', '127.0.0.1', 'IPv4'],
  ['udp6', '::1', 'IPv6'],
] as const) {
  test(`dgram (${type}) → UdpEndpoint: datagrams arrive intact, in order, from dgram's address(); answers reach dgram from our local name`, async (t) => {
    const peer = await dgramPeer(t, type, host);
    const endpoint = autoClose(t, await UdpEndpoint.bind({ address: host, port: 0 }, bytes()));
    const local = endpoint.getLocalName();
    const sent = Array.from({ length: 30 }, (_, i) => contents(i));
    for (const msg of sent) {
      await new Promise<void>((resolve, reject) => peer.socket.send(msg, local.port, host, (err) => (err ? reject(err) : resolve())));
    }
    const dgramAddress = peer.socket.address();
    t.is(dgramAddress.family, family);
    for (const [i, expected] of sent.entries()) {
      const { packet, address } = await endpoint.recvPacketFrom({ timeout: 20 });
      t.true(packet.equals(expected), `datagram ${i}`);
      t.deepEqual(address, { address: dgramAddress.address, family: dgramAddress.family, port: dgramAddress.port });
      await endpoint.sendPacketTo(Buffer.concat([Buffer.from('re:'), packet]), address);
    }
    const answers = await peer.until(sent.length);
    answers.forEach(({ msg, rinfo }, i) => {
      t.true(msg.equals(Buffer.concat([Buffer.from('re:'), sent[i]!])), `answer ${i}`);
      t.like(rinfo, { address: local.address, family: local.family, port: local.port, size: msg.length });
    });
  });

  test(`UdpClient → dgram (${type}): sendPacket and a GSO sendPackets arrive as separate datagrams from our local name; dgram's answer comes back`, async (t) => {
    const peer = await dgramPeer(t, type, host);
    const target = peer.socket.address();
    const client = autoClose(t, await UdpClient.connect({ address: target.address, port: target.port }, strings()));
    t.deepEqual(client.getPeerName(), { address: target.address, family: target.family, port: target.port });
    const local = client.getLocalName();
    t.is(local.family, family);
    t.is(local.address, host, 'connect bound it to the loopback address the route uses');

    const texts = ['first', 'ünïcödé ✓', '', ...Array.from({ length: 50 }, (_, i) => `equal-${String(i).padStart(3, '0')}`), 'last'];
    await client.sendPacket(texts[0]!);
    await client.sendPacket(texts[1]!);
    await client.sendPacket(texts[2]!);
    await client.sendPackets(texts.slice(3));
    const got = await peer.until(texts.length);
    t.deepEqual(
      got.map(({ msg }) => msg.toString()),
      texts,
    );
    for (const { rinfo } of got) t.like(rinfo, { address: local.address, family: local.family, port: local.port });

    const { rinfo } = got[0]!;
    peer.socket.send('from dgram', rinfo.port, rinfo.address);
    t.is(await client.recvPacket({ timeout: 20 }), 'from dgram');
    t.is(peer.received.length, texts.length, 'nothing more arrived');
  });
}

for (const [v, host, shown] of [
  ['4', '127.0.0.1', '127.0.0.1'],
  ['6', '::1', '[::1]'],
] as const) {
  test(`socat UDP${v}-SENDTO: a binary datagram from its stdin arrives intact from the address socat bound`, async (t) => {
    const endpoint = autoClose(t, await UdpEndpoint.bind({ address: host, port: 0 }, bytes()));
    const sourcePort = await unusedPort(host);
    const data = Buffer.concat([pattern(1000), Buffer.from('\0\r\n\xff end')]);
    const socat = startSocat(t, ['-u', '-', `UDP${v}-SENDTO:${shown}:${endpoint.getLocalName().port},bind=${shown}:${sourcePort}`], data);
    const { packet, address } = await endpoint.recvPacketFrom({ timeout: 20 });
    t.true(packet.equals(data), `${packet.length} bytes, expected ${data.length}`);
    t.deepEqual(address, { address: host, family: v === '4' ? 'IPv4' : 'IPv6', port: sourcePort });
    t.is(await socat.exitCode(), 0, socat.stderr());
  });

  test(`socat UDP${v}-RECVFROM: our binary datagram reaches its stdout intact, and socat logs our local name as the sender`, async (t) => {
    const port = await unusedPort(host);
    const socat = startSocat(t, ['-u', `UDP${v}-RECVFROM:${port},bind=${shown},reuseaddr`, '-']);
    await socat.logged(/receiving on/);
    const client = autoClose(t, await UdpClient.connect({ address: host, port }, bytes()));
    const data = Buffer.concat([Buffer.from([0, 255, 10, 13]), pattern(4000), Buffer.from('tail')]);
    await client.sendPacket(data);
    t.is(await socat.exitCode(), 0, socat.stderr());
    t.true(socat.stdout().equals(data), `${socat.stdout().length} bytes on socat's stdout, expected ${data.length}`);
    const local = client.getLocalName();
    const [, from] = /received packet with \d+ bytes from AF=\d+ (\S+)/.exec(socat.stderr()) ?? [];
    // socat writes IPv6 in full (0000:…:0001); a URL's host is the canonical form.
    const sender = new URL(`udp://${from}`);
    t.deepEqual([sender.hostname, Number(sender.port)], [local.family === 'IPv6' ? `[${local.address}]` : local.address, local.port]);
  });
}
