// Not a library option: the floor of any Node peer on this machine. unixgram's native
// binding with no API around it (no promise, no queue, no parsing): one N-API callback per
// batch on Node's event loop, one raw send per datagram, at both ends. What a round trip
// costs here is what Node's loop and one N-API call each way cost, before any API.
// Socketpair end on --fd 3, like the unixgram row.
import { createRequire } from 'node:module';
import { parseArgs, say, waitGo, finish, payload, pinger, eachDatagram, MARK_END } from '../lib/peer.mjs';

const binding = createRequire(import.meta.url)('../../native.cjs');
const args = parseArgs();
const sock = binding.NativeSocket.fromFd(args.fd);
const send = (buf) => {
  // A full queue cannot happen: one datagram in flight. Other failures throw.
  if (binding.send(args.fd, buf) === binding.WOULD_BLOCK) throw new Error('send: the peer queue is full');
};

if (args.role === 'echo') {
  let count = 0;
  sock.setCallback(
    eachDatagram(binding, (d) => {
      if (d[0] === MARK_END) {
        sock.close(); // (the callbacks refer to the socket, which keeps it from the GC)
        return finish({ count });
      }
      count++;
      send(d);
    }),
  );
  sock.watch(1, true, true);
  say('ready {}');
} else {
  say('bound');
  await waitGo();
  const data = payload(args.size);
  const sendEnd = () => {
    send(payload(args.size, MARK_END));
    sock.close(); // (the callbacks refer to the socket, which keeps it from the GC)
  };
  const p = pinger(args, () => send(data), sendEnd);
  sock.setCallback(eachDatagram(binding, () => p.reply()));
  sock.watch(1, true, true);
  p.start();
}
