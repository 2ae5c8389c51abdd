// unixgram UnixDatagramServer receiver: listens on --self (bound, never connected, the
// deployed setting; --listen is implied) and counts packets until the end marker.
// Default: a per-packet handler `(packet, client) => …`. --conversation: a conversation
// handler `{ async *handle(client) { for (;;) { const p = yield; … } } }`, the first packet
// arriving as the value of the first `yield` (an unnamed sender's conversation is one packet).
// With several senders the end marker (the last datagram queued) may be handled before
// packets of other senders read in the same batch: the result is taken in a setImmediate,
// once every handler step already dispatched (microtasks) has run.
// --seqpacket (issue 20): a UnixSeqpacketServer listening on --self, the same handlers, one
// conversation per accepted connection. --udp: a UdpServer bound at 127.0.0.1 (an ephemeral
// port, sent in the ready line) with --rcvbuf N as its receiveBufferSize; the ready line and
// the result say the SO_RCVBUF the kernel gave, the result also socket.drops.
import * as unixgram from '../../dist/index.js';
import { parseArgs, say, finish, Window, exported, MARK_END } from '../lib/peer.mjs';

const { UnixDatagramServer, DatagramProtocol, BytesSerializer } = unixgram;
const args = parseArgs();
const Server = args.seqpacket ? exported(unixgram, 'UnixSeqpacketServer') : UnixDatagramServer;
const protocol = new DatagramProtocol(new BytesSerializer());
const win = new Window();
let count = 0;
let truncated = 0;
let ending = false;

function onPacket(p) {
  if (p[0] === MARK_END) {
    if (!ending) setImmediate(end);
    ending = true;
    return;
  }
  if (count++ === 0) win.start();
  if (p.length !== args.size) truncated++;
}

const ready = {};
let server;
function end() {
  win.stop();
  const udp = args.udp ? { rcvbuf: ready.rcvbuf, drops: server.socket.drops } : {};
  finish({ count, elapsed: win.elapsed, cpu_us: win.cpuUs, truncated, ...udp });
}

const onError = (err) => {
  console.error('server error:', err);
  process.exit(2);
};
const handler = args.conversation
  ? {
      async *handle() {
        for (;;) onPacket(yield);
      },
    }
  : (packet) => onPacket(packet);
if (args.udp) {
  const options = { onError };
  if (args.rcvbuf !== undefined) options.receiveBufferSize = Number(args.rcvbuf);
  server = await exported(unixgram, 'UdpServer').listen({ address: '127.0.0.1', port: 0 }, protocol, handler, options);
  ready.port = server.getLocalName().port;
  ready.rcvbuf = server.socket.getReceiveBufferSize?.();
} else server = await Server.listen(args.self, protocol, handler, { onError });
say(`ready ${JSON.stringify(ready)}`);
