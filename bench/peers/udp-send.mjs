// Node dgram over UDP loopback: a connected udp4 socket, send() with at most --window (64)
// callbacks pending; --window 0: no callbacks, 64 sends per turn of the event loop. Nothing tells the sender about drops; the receiver counts them. The end
// marker is repeated until the receiver has gone (sendEndMarkers).
import dgram from 'node:dgram';
import { once } from 'node:events';
import { parseArgs, say, waitGo, finish, Window, payload, budget, sendEndMarkers, MARK_END, UDP_MAX } from '../lib/peer.mjs';

const args = parseArgs();
args.size = Math.min(args.size, UDP_MAX); // 64 KiB does not fit in a UDP datagram
const width = Number(args.window ?? 64);
const sock = dgram.createSocket('udp4');
sock.bind(0, '127.0.0.1');
await once(sock, 'listening');
say('bound');
const { port } = await waitGo();
sock.connect(port, '127.0.0.1');
await once(sock, 'connect');

const data = payload(args.size);
const done = budget(args);
const win = new Window();
let sent = 0;
let inFlight = 0;
win.start();
if (width === 0) {
  // --window 0: no callbacks, 64 sends per turn of the loop (a send error is an 'error' event).
  while (!done(sent)) {
    for (let i = 0; i < 64; i++) sock.send(data);
    sent += 64;
    await new Promise((resolve) => setImmediate(resolve));
  }
} else
  await new Promise((resolve, reject) => {
    const onSent = (err) => {
      if (err) return reject(err);
      inFlight--;
      sent++;
      if (inFlight <= width / 2) pump();
    };
    let stopping = false;
    function pump() {
      while (!stopping && inFlight < width) {
        if (done(sent)) stopping = true;
        else {
          inFlight++;
          sock.send(data, onSent);
        }
      }
      if (stopping && inFlight === 0) resolve();
    }
    pump();
  });
win.stop();
// ECONNREFUSED (ICMP port unreachable) once the receiver has gone: dgram reports it as an
// 'error' event, not to the send callback.
let refused = null;
sock.on('error', (err) => {
  if (err.code === 'ECONNREFUSED') refused = err;
});
const end = payload(args.size, MARK_END);
const markers = await sendEndMarkers(
  () => new Promise((resolve, reject) => (refused ? reject(refused) : sock.send(end, (err) => (err ? reject(err) : resolve())))),
);
finish({ sent, elapsed: win.elapsed, cpu_us: win.cpuUs, end_markers: markers });
