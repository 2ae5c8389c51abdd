// Run one sender/receiver pair (or ping/echo pair) to completion.
// Rendezvous: the sender starts first and binds its path ("bound", or "bound {json}" with its
// UDP port, handed to the receiver as --sender {json}), then the receiver binds
// its own path and, if it connects, connects to the sender's ("ready {json}"), then the
// sender is told "go {json}" and connects to the receiver. Two unixgram ends (whose connect
// binds and connects in one call) get the two ends of a socketpair instead, as fd 3.
// Settings (`setting`) for where users deploy a receiver: 'listen': the receiver (or echo)
// is told `--listen`: it binds r.sock and never connects; the sender (or ping) connects to
// it. 'adopt': the same, but the harness binds r.sock itself (unixgram's
// UnixDatagramEndpoint) and hands the receiver that socket as fd 3, as a service manager
// hands a daemon its socket.
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
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
 * @param {boolean | 'seqpacket'} [o.socketpair] - hand both ends a socketpair (SOCK_DGRAM, or SOCK_SEQPACKET)
 * @param {'listen' | 'adopt'} [o.setting] - the deployed settings (see above); default: today's
 * @param {number} o.timeoutMs - hard limit per process
 * @returns {Promise<{ok: true, send: object, recv: object} | {ok: false, error: string}>}
 */
export async function runPair({ sender, receiver, size, secs = 1, count = 0, socketpair = false, setting, timeoutMs }) {
  const dir = mkdtempSync(join(tmpdir(), 'ugbench-'));
  const budget = count ? ['--count', String(count)] : ['--secs', String(secs)];
  const common = ['--size', String(size), ...budget];
  const listen = setting === 'listen' || setting === 'adopt' ? ['--listen'] : [];
  let pair = null;
  let bound = null; // 'adopt': the receiver's socket, bound by the harness
  if (socketpair) {
    try {
      pair = await makeSocketpair(socketpair === 'seqpacket' ? 'UnixSeqpacketClient' : 'UnixDatagramClient');
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      return { ok: false, error: `harness: socketpair failed: ${err.message}` };
    }
  }
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
    // "bound {json}": where the sender is (a UDP sender's port), for a receiver that connects to it.
    const boundInfo = await s.waitLine('bound');
    if (boundInfo === null) return { ok: false, error: await s.failure() };
    const senderInfo = boundInfo ? ['--sender', boundInfo] : [];
    if (setting === 'adopt') {
      try {
        bound = await bindForChild(join(dir, 'r.sock'));
      } catch (err) {
        return { ok: false, error: `harness: UnixDatagramEndpoint.bind failed: ${err.message}` };
      }
    }
    const r = new Peer({
      ...receiver,
      args: [...receiver.args, ...(bound ? ['--fd', '3'] : addr('r.sock', 's.sock')), ...listen, ...senderInfo, ...common],
      cpu: RECEIVER_CPU,
      timeoutMs,
      extraFds: bound ? [bound.fd] : fds(1),
    });
    peers.push(r);
    pair?.close();
    pair = null;
    bound?.closeFd(); // the child has its own copy now
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
    await bound?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether unixgram's dist/ has `UnixDatagramEndpoint` (the 'adopt' setting and the endpoint rows need it). */
export async function hasEndpoint() {
  try {
    return typeof (await import('../../dist/index.js')).UnixDatagramEndpoint?.bind === 'function';
  } catch {
    return false;
  }
}

/**
 * A socket bound at `path` for a child: `fd` (a duplicate, for the child's stdio), closed
 * here with `closeFd()` once the child has it. The harness keeps its endpoint open, unread,
 * until `close()` (as a service manager keeps the socket it hands a daemon): nothing reads
 * from it while nobody waits for a packet, and closing it may unlink the socket file.
 */
async function bindForChild(path) {
  const { UnixDatagramEndpoint, DatagramProtocol, BytesSerializer } = await import('../../dist/index.js');
  const endpoint = await UnixDatagramEndpoint.bind(path, new DatagramProtocol(new BytesSerializer()));
  endpoint.unref?.();
  let fd = endpoint.dupFd();
  return {
    fd,
    closeFd() {
      if (fd >= 0) closeSync(fd);
      fd = -1;
    },
    async close() {
      this.closeFd();
      await endpoint.close();
    },
  };
}

// A connected AF_UNIX/SOCK_DGRAM (or SOCK_SEQPACKET) pair made with unixgram itself (Node has
// no other way).
async function makeSocketpair(clientClass) {
  const unixgram = await import('../../dist/index.js');
  const { DatagramProtocol, BytesSerializer } = unixgram;
  if (!unixgram[clientClass]) throw new Error(`dist/index.js exports no ${clientClass}`);
  const [a, b] = unixgram[clientClass].socketpair(new DatagramProtocol(new BytesSerializer()));
  return {
    fds: [a.socket.fd, b.socket.fd],
    close: () => void Promise.all([a.close(), b.close()]),
  };
}
