// unix-dgram 2.0.7 sender: connected send(); on 'congestion' (EAGAIN) the datagram was
// dropped, so wait for 'writable' and send it again (what its README asks users to do).
// --json: JSON.stringify a small object per datagram. --header N: each datagram is
// Buffer.concat([header, body]) made per datagram, an N-byte header and a body of --size
// minus N bytes (the gather group's reference; unix-dgram has no gather send).
import unix from 'unix-dgram';
import { parseArgs, say, waitGo, finish, Window, payload, budget, jsonObject, JSON_END, MARK_END } from '../lib/peer.mjs';

const args = parseArgs();
const sock = unix.createSocket('unix_dgram');
sock.on('error', (err) => {
  console.error(`unix-dgram: ${err.message}`);
  process.exit(2);
});
sock.bind(args.self);
say('bound');
await waitGo();
sock.connect(args.peer);

const data = payload(args.size);
const next = args.json ? (i) => Buffer.from(JSON.stringify(jsonObject(i))) : args.header !== undefined ? concatenated() : () => data;
const done = budget(args);
const win = new Window();
let sent = 0;
let congestions = 0;
let congested = false;
const onSent = (err) => {
  if (!err) return;
  if (err.message !== 'congestion') throw err;
  congested = true;
};

// Send `buf`; on congestion wait for 'writable' and retry. Returns false if it must wait.
function trySend(buf, resume) {
  sock.send(buf, onSent);
  if (!congested) return true;
  congested = false;
  congestions++;
  sock.once('writable', resume);
  return false;
}

function pump() {
  for (let i = 0; ; i++) {
    if ((i & 63) === 0 && done(sent)) return end();
    if (!trySend(next(sent), pump)) return;
    sent++;
  }
}

function end() {
  win.stop();
  const last = args.json ? Buffer.from(JSON.stringify(JSON_END)) : payload(args.size, MARK_END);
  const sendLast = () => {
    if (trySend(last, sendLast)) finish({ sent, elapsed: win.elapsed, cpu_us: win.cpuUs, congestions });
  };
  sendLast();
}

win.start();
pump();

function concatenated() {
  const head = payload(Number(args.header));
  const body = Buffer.alloc(args.size - head.length);
  return () => Buffer.concat([head, body]);
}
