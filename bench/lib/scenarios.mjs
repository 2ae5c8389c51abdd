// Which rows the bench measures: each row is a sender/receiver (or ping/echo) pair, what
// is measured, and which C reference it is compared with.
import { join } from 'node:path';
import { BENCH_DIR } from './setup.mjs';

const PEERS = join(BENCH_DIR, 'peers');
const BUILD = join(BENCH_DIR, 'build');

const c = (bin, ...args) => ({ name: `C ${bin}`, cmd: join(BUILD, bin), args });
const node = (file, ...args) => ({ name: file, cmd: process.execPath, args: [join(PEERS, file), ...args] });

// How the unixgram peers run by default (chosen by measuring both; see bench/README.md).
export const UG_RECV_MODE = 'iter';
export const UG_SEND_MODE = 'await';
export const UG_BATCH = 32; // packets per sendPackets call: 16–32 measured best, 1024 was 2–4× slower

const ugRecv = (...a) => node('unixgram-recv.mjs', '--mode', UG_RECV_MODE, ...a);
const ugSend = (...a) => node('unixgram-send.mjs', '--mode', UG_SEND_MODE, ...a);
const ugSendMany = (...a) => node('unixgram-send.mjs', '--mode', 'many', '--batch', String(UG_BATCH), ...a);

/** The C references, by kind: a short C run before and after each row gives its ratio. */
export const REFERENCES = {
  dgram: { sender: c('send'), receiver: c('recv') },
  rtt: { sender: c('pingpong', 'ping'), receiver: c('pingpong', 'echo') },
  fd: { sender: c('send', '--pass-fd'), receiver: c('recv', '--fds') },
};

export const PAYLOADS = { '64 B': 64, '1 KiB': 1024, '64 KiB': 65536 };

const UD = 'unix-dgram';
const UD_JSON = 'unix-dgram + JSON.parse';
/** The Node → Node kernel limit row: C at both ends of a socketpair, as the unixgram rows. */
export const C_SOCKETPAIR = 'C → C (socketpair, recvmmsg)';
/** unix-dgram's round-trip code run on `unixgram/compat/unix-dgram`. */
export const COMPAT = 'unixgram compat (unix-dgram code)';
/**
 * The Node → Node floor row: a C sender into unixgram's binding with no API around it, the
 * least any Node receiver pays (the kernel's receive, Node's loop, one N-API call per batch).
 */
export const BARE_RECV = 'C → bare binding (receiver floor)';
/** The round-trip floor row: unixgram's binding with no API around it. */
export const BARE = 'bare binding, both ends (floor)';

/**
 * The rows for the given payload labels. Fields: scenario, payload, size, library,
 * sender, receiver, socketpair, metric ('rate' | 'rtt'), measured ('recv' | 'send' | 'both'),
 * ref (a key of REFERENCES), udRow (the unix-dgram row this one is compared with).
 */
export function rows(payloads) {
  const out = [];
  const add = (r) => out.push({ socketpair: false, metric: 'rate', ref: 'dgram', udRow: UD, ...r });
  for (const payload of payloads) {
    const size = PAYLOADS[payload];
    const base = { payload, size };
    // Receive: C sender -> X receiver.
    const recv = { ...base, scenario: 'recv', measured: 'recv', sender: c('send') };
    add({ ...recv, library: 'C (epoll+recv)', receiver: c('recv') });
    add({ ...recv, library: 'C (recvmmsg)', receiver: c('recv', '--mmsg') });
    add({ ...recv, library: 'unixgram', receiver: ugRecv() });
    add({ ...recv, library: UD, receiver: node('unix-dgram-recv.mjs') });
    add({ ...recv, library: 'node-unix-socket', receiver: node('node-unix-socket-recv.mjs') });
    // Send: X sender -> C receiver.
    const send = { ...base, scenario: 'send', measured: 'send', receiver: c('recv') };
    add({ ...send, library: 'unixgram sendPacket', sender: ugSend() });
    add({ ...send, library: 'unixgram sendPackets', sender: ugSendMany() });
    add({ ...send, library: UD, sender: node('unix-dgram-send.mjs') });
    add({ ...send, library: 'node-unix-socket', sender: node('node-unix-socket-send.mjs') });
    // Node -> Node: X at both ends.
    const nn = { ...base, scenario: 'node-node', measured: 'both' };
    // The kernel's limit for the unixgram rows' setting: C at both ends of a socketpair (no
    // receive-queue bound, only the send buffer), where the C reference uses named sockets.
    add({
      ...nn,
      library: C_SOCKETPAIR,
      sender: c('send'),
      receiver: c('recv', '--mmsg'),
      socketpair: true,
      note: 'the limit for a socketpair',
    });
    add({ ...nn, library: 'unixgram sendPacket', sender: ugSend(), receiver: ugRecv(), socketpair: true });
    add({ ...nn, library: 'unixgram sendPackets', sender: ugSendMany(), receiver: ugRecv(), socketpair: true });
    // Not an option users have: the most any Node receiver can take here (64 B only).
    if (size === 64)
      add({
        ...nn,
        library: BARE_RECV,
        sender: c('send'),
        receiver: node('bare-binding-recv.mjs'),
        socketpair: true,
        note: 'floor, not an option: no API',
      });
    add({ ...nn, library: UD, sender: node('unix-dgram-send.mjs'), receiver: node('unix-dgram-recv.mjs') });
    add({ ...nn, library: 'node-unix-socket', sender: node('node-unix-socket-send.mjs'), receiver: node('node-unix-socket-recv.mjs') });
    add({ ...nn, library: 'net (unix stream, framed)', sender: node('net-send.mjs'), receiver: node('net-recv.mjs') });
    add({
      ...nn,
      library: 'dgram (UDP loopback)',
      sender: node('udp-send.mjs'),
      receiver: node('udp-recv.mjs'),
      note: size > 65_507 ? 'sends 65 507 B, the UDP maximum' : undefined,
    });
  }
  // Small JSON objects, Node -> Node (payload ~70 B of JSON).
  const json = { scenario: 'node-node', payload: 'JSON obj', size: 64, measured: 'both', udRow: UD_JSON };
  add({ ...json, library: 'unixgram JSONSerializer', sender: ugSend('--json'), receiver: ugRecv('--json'), socketpair: true });
  add({ ...json, library: 'unixgram JSON sendPackets', sender: ugSendMany('--json'), receiver: ugRecv('--json'), socketpair: true });
  add({ ...json, library: UD_JSON, sender: node('unix-dgram-send.mjs', '--json'), receiver: node('unix-dgram-recv.mjs', '--json') });
  // Round trip, 64 B, X at both ends.
  const rtt = { scenario: 'rtt', payload: '64 B', size: 64, metric: 'rtt', measured: 'send', ref: 'rtt' };
  const pp = (file, role, ...a) => node(file, role, ...a);
  add({ ...rtt, library: 'C (epoll)', sender: REFERENCES.rtt.sender, receiver: REFERENCES.rtt.receiver });
  add({
    ...rtt,
    library: 'unixgram',
    sender: pp('unixgram-pingpong.mjs', 'ping'),
    receiver: pp('unixgram-pingpong.mjs', 'echo'),
    socketpair: true,
  });
  // Not an option users have: the floor of any Node peer (Node's loop plus one N-API call
  // each way, no API). Shows how close to C a round trip through Node can get.
  add({
    ...rtt,
    library: BARE,
    sender: pp('bare-binding-pingpong.mjs', 'ping'),
    receiver: pp('bare-binding-pingpong.mjs', 'echo'),
    socketpair: true,
    note: 'floor, not an option: no API',
  });
  for (const [library, file] of [
    [UD, 'unix-dgram-pingpong.mjs'],
    ['node-unix-socket', 'node-unix-socket-pingpong.mjs'],
    ['net (unix stream, framed)', 'net-pingpong.mjs'],
    ['dgram (UDP loopback)', 'udp-pingpong.mjs'],
  ]) {
    add({ ...rtt, library, sender: pp(file, 'ping'), receiver: pp(file, 'echo') });
  }
  // unix-dgram's own ping/echo code on unixgram's drop-in module (what a migrating user runs).
  add({
    ...rtt,
    library: COMPAT,
    sender: pp('unix-dgram-pingpong.mjs', 'ping', '--compat'),
    receiver: pp('unix-dgram-pingpong.mjs', 'echo', '--compat'),
  });
  // fd passing: C sender, 1 fd per 64 B datagram; the receiver closes each fd.
  const fd = {
    scenario: 'fd-pass',
    payload: '64 B + 1 fd',
    size: 64,
    measured: 'recv',
    ref: 'fd',
    udRow: null,
    sender: REFERENCES.fd.sender,
  };
  add({ ...fd, library: 'C (epoll+recvmsg)', receiver: REFERENCES.fd.receiver });
  add({ ...fd, library: 'unixgram', receiver: ugRecv('--mode', 'fds') });
  return out;
}
