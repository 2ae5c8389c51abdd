// unixgram receiver: counts datagrams until the end marker.
// --mode iter (for await over iterReceivedPackets, the default) | recv (await recvPacket in a
// loop) | fds (recvPacket with a SocketAncillary; each received fd is stolen and closed in JS).
// --json: JSONSerializer (small objects). --memory: report RSS and open fds at datagram
// 100 000 and at the end. Socket: --fd N (inherited: connected, or with --listen a socket
// bound at a path and not connected, which the client adopts), --listen --self P (the
// client binds P itself: UnixDatagramClient.bind, receive-only), or --self P --peer P.
// --transport udp (issue 20): a UdpClient bound at 127.0.0.1 (an ephemeral port, sent in the
// ready line), connected to the sender's port (--sender {"port":N}, from its bound line),
// with --rcvbuf N as its receiveBufferSize; the result says the SO_RCVBUF the kernel gave and
// its drop count (socket.drops). --transport seqpacket: UnixSeqpacketClient.fromFd(--fd N),
// one end of a SOCK_SEQPACKET socketpair. --reuse: the Unix client with reuseReceiveBuffer.
import { closeSync } from 'node:fs';
import * as unixgram from '../../dist/index.js';
import { parseArgs, say, finish, Window, statusKb, openFds, exported, MARK_END } from '../lib/peer.mjs';

const { UnixDatagramClient, DatagramProtocol, BytesSerializer, JSONSerializer, SocketAncillary } = unixgram;
const args = parseArgs();
const udp = args.transport === 'udp';
const mode = args.mode ?? 'iter';
process.stdout; // Node opens stdout's handle lazily: not ours to count
const fdsBefore = openFds();
const protocol = new DatagramProtocol(args.json ? new JSONSerializer() : new BytesSerializer());
const ready = {};
let client;
if (udp) {
  if (args.sender === undefined) throw new Error('--transport udp: the sender did not say its port (--sender {"port":N})');
  const options = { localAddress: { address: '127.0.0.1', port: 0 } };
  if (args.rcvbuf !== undefined) options.receiveBufferSize = Number(args.rcvbuf);
  const remote = { address: '127.0.0.1', port: JSON.parse(args.sender).port };
  client = await exported(unixgram, 'UdpClient').connect(remote, protocol, options);
  ready.port = client.getLocalName().port;
  ready.rcvbuf = client.socket.getReceiveBufferSize?.();
} else if (args.transport === 'seqpacket') {
  client = exported(unixgram, 'UnixSeqpacketClient').fromFd(args.fd, protocol);
} else {
  const reuse = args.reuse ? { reuseReceiveBuffer: true } : {};
  client =
    args.fd !== undefined
      ? UnixDatagramClient.fromFd(args.fd, protocol, reuse)
      : args.listen
        ? await UnixDatagramClient.bind(args.self, protocol, reuse)
        : await UnixDatagramClient.connect(args.peer, protocol, { localAddress: args.self, ...reuse });
}
say(`ready ${JSON.stringify(ready)}`);
const isEnd = args.json ? (p) => p.end === 1 : (p) => p[0] === MARK_END;
const win = new Window();
let count = 0;
let truncated = 0;
let fdsClosed = 0;
const memory = {};

// Called for every data packet; the hot loops below stay tiny.
function onPacket(p) {
  if (count === 0) win.start();
  count++;
  if (!args.json && p.length !== args.size) truncated++;
  if (args.memory && count === 100_000) Object.assign(memory, { rss_warm_kb: statusKb('VmRSS'), fds_warm: openFds() });
}

if (mode === 'iter') {
  for await (const p of client.iterReceivedPackets({ timeout: null })) {
    if (isEnd(p)) break;
    onPacket(p);
  }
} else if (mode === 'recv') {
  for (;;) {
    const p = await client.recvPacket();
    if (isEnd(p)) break;
    onPacket(p);
  }
} else if (mode === 'fds') {
  const ancillary = new SocketAncillary();
  for (;;) {
    const p = await client.recvPacket({ ancillary });
    if (isEnd(p)) break;
    for (let i = 0; i < ancillary.fdCount; i++) {
      closeSync(ancillary.steal(i));
      fdsClosed++;
    }
    ancillary.clear();
    onPacket(p);
  }
} else {
  throw new Error(`unknown --mode ${mode}`);
}
win.stop();
if (args.memory) Object.assign(memory, { rss_end_kb: statusKb('VmRSS'), fds_open_end: openFds() });
if (udp) Object.assign(memory, { rcvbuf: ready.rcvbuf, drops: client.socket.drops });
await client.close();
if (args.memory) Object.assign(memory, { fds_before: fdsBefore, fds_after_close: openFds() });
finish({ count, elapsed: win.elapsed, cpu_us: win.cpuUs, truncated, fds_closed: fdsClosed, mode, ...memory });
