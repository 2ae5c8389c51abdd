// Node net over a unix stream socket with 4-byte length framing: write() one frame per
// message, wait for 'drain' when write() returns false.
import net from 'node:net';
import { once } from 'node:events';
import { parseArgs, say, waitGo, finish, Window, payload, budget, MARK_END } from '../lib/peer.mjs';
import { frame } from '../lib/framing.mjs';

const args = parseArgs();
say('bound');
await waitGo();
const sock = net.connect(args.peer);
await once(sock, 'connect');

const data = frame(payload(args.size));
const done = budget(args);
const win = new Window();
let sent = 0;
win.start();
for (;;) {
  if ((sent & 63) === 0 && done(sent)) break;
  sent++;
  if (!sock.write(data)) await once(sock, 'drain');
}
win.stop();
sock.end(frame(payload(args.size, MARK_END)), () => finish({ sent, elapsed: win.elapsed, cpu_us: win.cpuUs }));
