// unix-dgram 2.0.7 round trip: both ends bind and connect to each other; "echo" sends back
// every 'message', "ping" sends the next datagram from its 'message' listener.
// echo --listen: bound at --self and never connected, as a server: answers each 'message'
// to the sender's path (`rinfo.path`) with an unconnected send (sendto).
import { parseArgs, say, waitGo, finish, payload, pinger, MARK_END } from '../lib/peer.mjs';

const args = parseArgs();
// --compat: the same code on unixgram's drop-in module instead of unix-dgram.
const { default: unix } = await import(args.compat ? '../../dist/compat/unix-dgram.js' : 'unix-dgram');
const sock = unix.createSocket('unix_dgram');
sock.on('error', (err) => {
  console.error(`unix-dgram: ${err.message}`);
  process.exit(2);
});
const fail = (err) => {
  if (err) {
    console.error(`unix-dgram: ${err.message}`);
    process.exit(2);
  }
};
sock.bind(args.self);
if (args.role === 'echo' && args.listen) {
  let count = 0;
  sock.on('message', (buf, rinfo) => {
    if (buf[0] === MARK_END) return finish({ count });
    count++;
    sock.send(buf, 0, buf.length, rinfo.path, fail);
  });
  say('ready {}');
} else if (args.role === 'echo') {
  sock.connect(args.peer);
  let count = 0;
  sock.on('message', (buf) => {
    if (buf[0] === MARK_END) return finish({ count });
    count++;
    sock.send(buf, fail);
  });
  say('ready {}');
} else {
  say('bound');
  await waitGo();
  sock.connect(args.peer);
  const data = payload(args.size);
  const p = pinger(
    args,
    () => sock.send(data, fail),
    () => sock.send(payload(args.size, MARK_END), fail),
  );
  sock.on('message', () => p.reply());
  p.start();
}
