// Node dgram over UDP loopback (udp4, 127.0.0.1): counts what arrives. UDP drops instead of
// waiting, so the end marker can be lost too: 300 ms without a datagram also ends the run.
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { parseArgs, say, Counter, MARK_END, UDP_MAX } from '../lib/peer.mjs';

const args = parseArgs();
args.size = Math.min(args.size, UDP_MAX); // 64 KiB does not fit in a UDP datagram
const counter = new Counter(args.size);
let last = 0;
const sock = dgram.createSocket('udp4');
sock.on('message', (buf) => {
  if (buf[0] === MARK_END) return counter.end();
  counter.data(buf.length);
  last = performance.now();
});
setInterval(() => {
  if (counter.count > 0 && performance.now() - last > 300) {
    counter.end();
  }
}, 50).unref();
sock.bind(0, '127.0.0.1', () => say('ready ' + JSON.stringify({ port: sock.address().port })));
