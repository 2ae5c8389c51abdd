// node-unix-socket 0.2.7 round trip: both ends bind; sendTo() the other's path.
import { DgramSocket } from 'node-unix-socket';
import { parseArgs, say, waitGo, finish, payload, pinger, MARK_END } from '../lib/peer.mjs';

const args = parseArgs();
const sock = new DgramSocket();
sock.on('error', (err) => {
  console.error(`node-unix-socket: ${err.message}`);
  process.exit(2);
});
const sendTo = (buf) => sock.sendTo(buf, 0, buf.length, args.peer);
sock.bind(args.self);
if (args.role === 'echo') {
  let count = 0;
  sock.on('data', (buf) => {
    if (buf[0] === MARK_END) return finish({ count });
    count++;
    sendTo(buf);
  });
  say('ready {}');
} else {
  say('bound');
  await waitGo();
  const data = payload(args.size);
  const p = pinger(
    args,
    () => sendTo(data),
    () => sendTo(payload(args.size, MARK_END)),
  );
  sock.on('data', () => p.reply());
  p.start();
}
