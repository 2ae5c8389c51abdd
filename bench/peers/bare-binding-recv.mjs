// Not a library option: the floor of any Node receiver on this machine. unixgram's native
// binding with no API around it (no promise, no queue, no parsing): one N-API callback per
// batch of datagrams on Node's event loop, a view per datagram to look at its first byte,
// nothing else. What it costs is the kernel's receive plus Node's loop and one N-API call
// per batch. Socketpair end on --fd N, like the unixgram rows.
import { createRequire } from 'node:module';
import { parseArgs, say, finish, Window, MARK_END } from '../lib/peer.mjs';

const binding = createRequire(import.meta.url)('../../native.cjs');
const args = parseArgs();
process.stdout; // Node opens stdout's handle lazily: not ours to count
const sock = binding.NativeSocket.fromFd(args.fd);
const win = new Window();
let count = 0;
let truncated = 0;

// A batch: meta is [count, base, len, flags, len, flags, …], payloads back to back in slab.
sock.setCallback((slab, meta) => {
  if (slab === undefined) return;
  let offset = meta[1];
  for (let m = 2; m < 2 + 2 * meta[0]; m += 2) {
    const d = new Uint8Array(slab, offset, meta[m]);
    offset += meta[m];
    if (d[0] === MARK_END) {
      win.stop();
      sock.close(); // (the callback refers to the socket, which keeps it from the GC)
      return finish({ count, elapsed: win.elapsed, cpu_us: win.cpuUs, truncated });
    }
    if (count++ === 0) win.start();
    if (d.length !== args.size) truncated++;
  }
});
sock.watch(1, true, true);
say('ready {}');
