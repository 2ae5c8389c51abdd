// unixgram UnixDatagramServer receiver: listens on --self (bound, never connected, the
// deployed setting; --listen is implied) and counts packets until the end marker.
// Default: a per-packet handler `(packet, client) => …`. --conversation: a conversation
// handler `{ async *handle(client) { for (;;) { const p = yield; … } } }`, the first packet
// arriving as the value of the first `yield` (an unnamed sender's conversation is one packet).
// With several senders the end marker (the last datagram queued) may be handled before
// packets of other senders read in the same batch: the result is taken in a setImmediate,
// once every handler step already dispatched (microtasks) has run.
// --seqpacket (issue 20): a UnixSeqpacketServer listening on --self, the same handlers, one
// conversation per accepted connection.
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

function end() {
  win.stop();
  finish({ count, elapsed: win.elapsed, cpu_us: win.cpuUs, truncated });
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
await Server.listen(args.self, protocol, handler, { onError });
say('ready {}');
