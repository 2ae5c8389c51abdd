// node-unix-socket 0.2.7 sender: sendTo() with callbacks, at most --window (64) unfinished
// at once (its internal queue is unbounded; each callback fires once the datagram is sent).
// The socket is never closed: closing with callbacks pending aborts the process.
import { DgramSocket } from 'node-unix-socket';
import { parseArgs, say, waitGo, finish, Window, payload, budget, MARK_END } from '../lib/peer.mjs';

const args = parseArgs();
const width = Number(args.window ?? 64);
const sock = new DgramSocket();
sock.on('error', (err) => {
  console.error(`node-unix-socket: ${err.message}`);
  process.exit(2);
});
sock.bind(args.self);
say('bound');
await waitGo();

const data = payload(args.size);
const done = budget(args);
const win = new Window();
let sent = 0;
let inFlight = 0;
let stopping = false;
let pumping = false;

function onWrite(err) {
  if (err) {
    console.error(`node-unix-socket: ${err.message ?? err}`);
    process.exit(2);
  }
  inFlight--;
  sent++;
  if (!pumping && inFlight <= width / 2) pump();
}

function pump() {
  pumping = true;
  while (!stopping && inFlight < width) {
    if (done(sent)) stopping = true;
    else {
      inFlight++;
      sock.sendTo(data, 0, data.length, args.peer, onWrite);
    }
  }
  pumping = false;
  if (stopping && inFlight === 0) end();
}

function end() {
  win.stop();
  const last = payload(args.size, MARK_END);
  sock.sendTo(last, 0, last.length, args.peer, () => finish({ sent, elapsed: win.elapsed, cpu_us: win.cpuUs }));
}

win.start();
pump();
