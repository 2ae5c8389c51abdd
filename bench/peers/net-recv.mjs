// Node net over a unix stream socket with 4-byte length framing: a server on --self that
// counts frames until the end marker.
import net from 'node:net';
import { parseArgs, say, Counter, MARK_END } from '../lib/peer.mjs';
import { deframer } from '../lib/framing.mjs';

const args = parseArgs();
const counter = new Counter(args.size);
const server = net.createServer((conn) => {
  conn.on(
    'data',
    deframer((msg) => (msg[0] === MARK_END ? counter.end() : counter.data(msg.length))),
  );
});
server.listen(args.self, () => say('ready {}'));
