// unixgram sender: sends until the time (or count) budget is spent, then the end marker.
// --mode await (await each sendPacket, the default) | window (up to --window N sendPacket
// promises in flight) | many (sendPackets with --batch N packets per call).
// --json: JSONSerializer, a small object per packet. --header N: each datagram is an N-byte
// header and a body of --size minus N bytes, made per packet as Buffer.concat([header, body])
// or, with --gather, passed as [header, body] (one datagram from both, sendmsg iovecs).
// --memfd: connect with { largePayloads: 'memfd', maxPayloadSize: --max-payload N }: a payload
// too big for the socket goes as a sealed memfd. Socket: --fd N or --self P --peer P
// (connects at "go": unixgram binds and connects in one call).
// --transport seqpacket (issue 20): UnixSeqpacketClient.connect(--peer) (or fromFd: one end
// of a socketpair), closed after the end marker. --transport udp: UdpClient.connect to 127.0.0.1 at the port of the go line, bound
// at 127.0.0.1 (an ephemeral port); the end marker is repeated until the receiver has gone
// (a full queue drops it like any datagram). sendPackets of equal-size packets to one peer
// goes out with UDP GSO.
import * as unixgram from '../../dist/index.js';
import {
  parseArgs,
  say,
  waitGo,
  finish,
  Window,
  payload,
  budget,
  sendEndMarkers,
  exported,
  jsonObject,
  JSON_END,
  MARK_END,
} from '../lib/peer.mjs';

const { UnixDatagramClient, DatagramProtocol, BytesSerializer, JSONSerializer } = unixgram;
const args = parseArgs();
const mode = args.mode ?? 'await';
const transport = args.transport ?? 'unix';
const protocol = new DatagramProtocol(args.json ? new JSONSerializer() : new BytesSerializer());
if (args.memfd && args.fd !== undefined) throw new Error('--memfd is an option of connect(), not of fromFd (--fd)');
const options = { localAddress: args.self };
if (args.memfd) Object.assign(options, { largePayloads: 'memfd', maxPayloadSize: Number(args['max-payload'] ?? 64 << 20) });
say('bound');
const ready = await waitGo();
const client = await connect();
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
const end = args.json ? JSON_END : payload(args.size, MARK_END);
let markers = 1;
if (transport === 'udp') markers = await sendEndMarkers(() => client.sendPacket(end));
else await client.sendPacket(end);
if (transport === 'seqpacket') await client.close();
const modeNote = args.gather ? `${mode}, gather` : mode;
finish({ sent, elapsed: win.elapsed, cpu_us: win.cpuUs, mode: modeNote, end_markers: markers });

/** The client of --transport, connected to the receiver. */
async function connect() {
  if (transport === 'udp') {
    const local = { address: '127.0.0.1', port: 0 };
    return exported(unixgram, 'UdpClient').connect({ address: '127.0.0.1', port: ready.port }, protocol, { localAddress: local });
  }
  if (transport === 'seqpacket') {
    const Client = exported(unixgram, 'UnixSeqpacketClient');
    return args.fd !== undefined ? Client.fromFd(args.fd, protocol) : Client.connect(args.peer, protocol);
  }
  if (transport !== 'unix') throw new Error(`unknown --transport ${transport}`);
  return args.fd !== undefined ? UnixDatagramClient.fromFd(args.fd, protocol) : UnixDatagramClient.connect(args.peer, protocol, options);
}

/** `next(i)`: packet number `i`. */
function packets({ json, header, gather, size }) {
  if (json) return (i) => jsonObject(i);
  if (header === undefined) return () => data;
  const head = payload(Number(header));
  const body = Buffer.alloc(size - head.length);
  return gather ? () => [head, body] : () => Buffer.concat([head, body]);
}
