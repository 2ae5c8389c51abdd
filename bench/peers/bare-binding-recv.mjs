// Not a library option: the floor of any Node receiver on this machine. unixgram's native
// binding with no API around it (no promise, no queue, no parsing): one N-API callback per
// batch of datagrams on Node's event loop, a view per datagram to look at its first byte,
// nothing else. What it costs is the kernel's receive plus Node's loop and one N-API call
// per batch. Socketpair end on --fd N, like the unixgram rows, or (the deployed setting) a
// socket the harness bound at a path and handed over as --fd 3. --addresses: the binding
// reports each datagram's sender, as it does for an endpoint or a server (the kernel copies
// the address out, the binding tells JS of a new sender), and JS ignores it.
import { createRequire } from 'node:module';
import { parseArgs, say, Counter, eachDatagram, MARK_END } from '../lib/peer.mjs';

const binding = createRequire(import.meta.url)('../../native.cjs');
const args = parseArgs();
const sock = binding.NativeSocket.fromFd(args.fd);
if (args.addresses) sock.setWantAddress(true);
const counter = new Counter(args.size);
sock.setCallback(
  eachDatagram(binding, (d) => {
    if (d[0] !== MARK_END) return counter.data(d.length);
    sock.close(); // (the callback refers to the socket, which keeps it from the GC)
    counter.end();
  }),
);
sock.watch(1, true, true);
say('ready {}');
