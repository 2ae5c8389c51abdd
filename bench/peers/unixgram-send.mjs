// unixgram sender: sends until the time (or count) budget is spent, then the end marker.
// --mode await (await each sendPacket, the default) | window (up to --window N sendPacket
// promises in flight) | many (sendPackets with --batch N packets per call).
// --json: JSONSerializer, a small object per packet. --header N: each datagram is an N-byte
// header and a body of --size minus N bytes, made per packet as Buffer.concat([header, body])
// or, with --gather, passed as [header, body] (one datagram from both, sendmsg iovecs).
// --memfd: connect with { largePayloads: 'memfd', maxPayloadSize: --max-payload N }: a payload
// too big for the socket goes as a sealed memfd. Socket: --fd N or --self P --peer P
// (connects at "go": unixgram binds and connects in one call).
import { UnixDatagramClient, DatagramProtocol, BytesSerializer, JSONSerializer } from '../../dist/index.js';
import { parseArgs, say, waitGo, finish, Window, payload, budget, jsonObject, JSON_END, MARK_END } from '../lib/peer.mjs';

const args = parseArgs();
const mode = args.mode ?? 'await';
const protocol = new DatagramProtocol(args.json ? new JSONSerializer() : new BytesSerializer());
if (args.memfd && args.fd !== undefined) throw new Error('--memfd is an option of connect(), not of fromFd (--fd)');
const options = { localAddress: args.self };
if (args.memfd) Object.assign(options, { largePayloads: 'memfd', maxPayloadSize: Number(args['max-payload'] ?? 64 << 20) });
say('bound');
await waitGo();
const client =
  args.fd !== undefined ? UnixDatagramClient.fromFd(args.fd, protocol) : await UnixDatagramClient.connect(args.peer, protocol, options);
// Room for a few large datagrams in flight (the library would raise it for one); a memfd
// payload goes as an empty datagram.
if (args.size > 200_000 && !args.memfd) client.socket.setSendBufferSize(args.size * 2 + 4096);
const data = payload(args.size);
const next = packets(args);
const done = budget(args);
const win = new Window();
let sent = 0;
win.start();

if (mode === 'await') {
  while (!done(sent)) {
    for (let i = 0; i < 64; i++) await client.sendPacket(next(sent++));
  }
} else if (mode === 'window') {
  const width = Number(args.window ?? 32);
  const inFlight = [];
  while (!done(sent)) {
    for (let i = 0; i < width; i++) inFlight.push(client.sendPacket(next(sent++)));
    await Promise.all(inFlight);
    inFlight.length = 0;
  }
} else if (mode === 'many') {
  const batch = Array.from({ length: Number(args.batch ?? 256) }, (_, i) => next(i));
  // Packets made per packet (JSON objects, concatenations, [header, body]) are made again per call.
  const fresh = args.json || args.header !== undefined;
  while (!done(sent)) {
    if (fresh) for (let i = 0; i < batch.length; i++) batch[i] = next(sent + i);
    await client.sendPackets(batch);
    sent += batch.length;
  }
} else {
  throw new Error(`unknown --mode ${mode}`);
}
win.stop();
await client.sendPacket(args.json ? JSON_END : payload(args.size, MARK_END));
finish({ sent, elapsed: win.elapsed, cpu_us: win.cpuUs, mode: args.gather ? `${mode}, gather` : mode });

/** `next(i)`: packet number `i`. */
function packets({ json, header, gather, size }) {
  if (json) return (i) => jsonObject(i);
  if (header === undefined) return () => data;
  const head = payload(Number(header));
  const body = Buffer.alloc(size - head.length);
  return gather ? () => [head, body] : () => Buffer.concat([head, body]);
}
