// Node dgram over UDP loopback (udp4, bound at 127.0.0.1, never connected): counts what
// arrives. --rcvbuf N: SO_RCVBUF asked before anything arrives (dgram's recvBufferSize; the
// ready line and the result say what the kernel gave). UDP drops instead of waiting, so the
// end marker can be lost too: the senders repeat it, and 300 ms without a datagram also ends
// the run.
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { parseArgs, say, Counter, MARK_END, UDP_MAX } from '../lib/peer.mjs';

const args = parseArgs();
args.size = Math.min(args.size, UDP_MAX); // 64 KiB does not fit in a UDP datagram
const counter = new Counter(args.size);
let last = 0;
const options = { type: 'udp4' };
if (args.rcvbuf !== undefined) options.recvBufferSize = Number(args.rcvbuf);
const sock = dgram.createSocket(options);
let rcvbuf;
sock.on('message', (buf) => {
  if (buf[0] === MARK_END) return counter.end({ rcvbuf });
  counter.data(buf.length);
  last = performance.now();
});
setInterval(() => {
  if (counter.count > 0 && performance.now() - last > 300) {
    counter.end({ rcvbuf });
  }
}, 50).unref();
sock.bind(0, '127.0.0.1', () => {
  rcvbuf = sock.getRecvBufferSize();
  say('ready ' + JSON.stringify({ port: sock.address().port, rcvbuf }));
});
