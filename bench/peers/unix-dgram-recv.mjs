// unix-dgram 2.0.7 receiver: bind, count 'message' events until the end marker. It never
// connects, so it is in the deployed setting as it is (--listen changes nothing).
// --json: each datagram is JSON.parse'd (the "unix-dgram + JSON.parse" row).
import unix from 'unix-dgram';
import { parseArgs, say, Counter, MARK_END } from '../lib/peer.mjs';

const args = parseArgs();
const counter = new Counter(args.size);
const sock = unix.createSocket('unix_dgram');
sock.on('error', (err) => {
  console.error(`unix-dgram: ${err.message}`);
  process.exit(2);
});
sock.on(
  'message',
  args.json
    ? (buf) => (JSON.parse(buf.toString('utf8')).end === 1 ? counter.end() : counter.data(args.size))
    : (buf) => (buf[0] === MARK_END ? counter.end() : counter.data(buf.length)),
);
sock.bind(args.self);
say('ready {}');
