// node-unix-socket 0.2.7 receiver: bind a DgramSocket, count 'data' events until the end marker.
// A DgramSocket cannot connect, so it is in the deployed setting as it is (--listen changes nothing).
import { DgramSocket } from 'node-unix-socket';
import { parseArgs, say, Counter, MARK_END } from '../lib/peer.mjs';

const args = parseArgs();
const counter = new Counter(args.size);
const sock = new DgramSocket();
sock.on('error', (err) => {
  console.error(`node-unix-socket: ${err.message}`);
  process.exit(2);
});
sock.on('data', (buf) => (buf[0] === MARK_END ? counter.end() : counter.data(buf.length)));
sock.bind(args.self);
say('ready {}');
