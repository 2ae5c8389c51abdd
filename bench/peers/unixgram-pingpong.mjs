// unixgram round trip over a socketpair (--fd 3). "ping": await sendPacket, then await
// recvPacket (--mode pre: start recvPacket first). "echo": send back every packet of
// iterReceivedPackets (--mode recv: a recvPacket loop). All four measured alike.
// ping --autobind: connect to --peer (a server's path) autobound, as a client of a server
// does (UnixDatagramClient.connect's default), instead of binding --self.
// --busy-poll N: the client with { busyPoll: N } (µs).
import { performance } from 'node:perf_hooks';
import { UnixDatagramClient, DatagramProtocol, BytesSerializer } from '../../dist/index.js';
import { parseArgs, say, waitGo, finish, Window, payload, budget, percentiles, MARK_END } from '../lib/peer.mjs';

const args = parseArgs();
const protocol = new DatagramProtocol(new BytesSerializer());
const tuning = args['busy-poll'] === undefined ? {} : { busyPoll: Number(args['busy-poll']) };
const connect = () =>
  args.fd !== undefined
    ? UnixDatagramClient.fromFd(args.fd, protocol, tuning)
    : args.autobind
      ? UnixDatagramClient.connect(args.peer, protocol, tuning)
      : UnixDatagramClient.connect(args.peer, protocol, { localAddress: args.self, ...tuning });

if (args.role === 'echo') {
  if (args.listen)
    throw new Error('--listen: a client cannot listen (the echo servers are unixgram-server-pingpong.mjs, unixgram-endpoint-pingpong.mjs)');
  const client = await connect();
  say('ready {}');
  let count = 0;
  if (args.mode === 'recv') {
    for (let p = await client.recvPacket(); p[0] !== MARK_END; p = await client.recvPacket()) {
      count++;
      await client.sendPacket(p);
    }
  } else {
    for await (const p of client.iterReceivedPackets({ timeout: null })) {
      if (p[0] === MARK_END) break;
      count++;
      await client.sendPacket(p);
    }
  }
  finish({ count });
} else {
  say('bound');
  await waitGo();
  const client = await connect();
  const data = payload(args.size);
  const roundTrip =
    args.mode !== 'pre'
      ? async () => {
          await client.sendPacket(data);
          await client.recvPacket();
        }
      : async () => {
          const reply = client.recvPacket();
          await client.sendPacket(data);
          await reply;
        };
  for (let i = 0; i < 200; i++) await roundTrip();
  const done = budget(args);
  const samples = [];
  const win = new Window();
  win.start();
  while (!done(samples.length)) {
    const t = performance.now();
    await roundTrip();
    samples.push((performance.now() - t) * 1000);
  }
  win.stop();
  await client.sendPacket(payload(args.size, MARK_END));
  finish({ ...percentiles(samples), cpu_us: win.cpuUs });
}
