// Run one sender/receiver pair (or ping/echo pair) to completion.
// Rendezvous: the sender starts first and binds its path ("bound"), then the receiver binds
// its own path and, if it connects, connects to the sender's ("ready {json}"), then the
// sender is told "go {json}" and connects to the receiver. Two unixgram ends (whose connect
// binds and connects in one call) get the two ends of a socketpair instead, as fd 3.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Peer } from './proc.mjs';

const SENDER_CPU = 0;
const RECEIVER_CPU = 1;

/**
 * @param {object} o
 * @param {{cmd: string, args: string[], name: string}} o.sender - also the "ping" side
 * @param {{cmd: string, args: string[], name: string}} o.receiver - also the "echo" side
 * @param {number} o.size - payload bytes
 * @param {number} [o.secs] - the sender's time budget
 * @param {number} [o.count] - or a fixed number of datagrams
 * @param {boolean} [o.socketpair] - hand both ends a socketpair
 * @param {number} o.timeoutMs - hard limit per process
 * @returns {Promise<{ok: true, send: object, recv: object} | {ok: false, error: string}>}
 */
export async function runPair({ sender, receiver, size, secs = 1, count = 0, socketpair = false, timeoutMs }) {
  const dir = mkdtempSync(join(tmpdir(), 'ugbench-'));
  const budget = count ? ['--count', String(count)] : ['--secs', String(secs)];
  const common = ['--size', String(size), ...budget];
  let pair = null;
  if (socketpair) pair = await makeSocketpair();
  const addr = (self, peer, i) => (pair ? ['--fd', '3'] : ['--self', join(dir, self), '--peer', join(dir, peer)]);
  const fds = (i) => (pair ? [pair.fds[i]] : []);
  const peers = [];
  try {
    const s = new Peer({
      ...sender,
      args: [...sender.args, ...addr('s.sock', 'r.sock'), ...common],
      cpu: SENDER_CPU,
      timeoutMs,
      extraFds: fds(0),
    });
    peers.push(s);
    if ((await s.waitLine('bound')) === null) return { ok: false, error: await s.failure() };
    const r = new Peer({
      ...receiver,
      args: [...receiver.args, ...addr('r.sock', 's.sock'), ...common],
      cpu: RECEIVER_CPU,
      timeoutMs,
      extraFds: fds(1),
    });
    peers.push(r);
    pair?.close();
    pair = null;
    const ready = await r.waitLine('ready');
    if (ready === null) return { ok: false, error: await r.failure() };
    s.send(`go ${ready || '{}'}`);
    const [send, recv] = await Promise.all([s.waitLine('result'), r.waitLine('result')]);
    if (send === null || recv === null) {
      // One side failed: stop the other, report the first cause.
      for (const p of peers) p.kill();
      return { ok: false, error: await (send === null ? s : r).failure() };
    }
    await Promise.all(peers.map((p) => p.exited));
    return { ok: true, send: JSON.parse(send), recv: JSON.parse(recv) };
  } finally {
    for (const p of peers) p.kill();
    pair?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// A connected AF_UNIX/SOCK_DGRAM pair made with unixgram itself (Node has no other way).
async function makeSocketpair() {
  const { UnixDatagramClient, DatagramProtocol, BytesSerializer } = await import('../../dist/index.js');
  const [a, b] = UnixDatagramClient.socketpair(new DatagramProtocol(new BytesSerializer()));
  return {
    fds: [a.socket.fd, b.socket.fd],
    close: () => void Promise.all([a.close(), b.close()]),
  };
}
