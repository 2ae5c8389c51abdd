// Which rows the bench measures: each row is a sender/receiver (or ping/echo) pair, what
// is measured, and which C reference it is compared with.
import { join } from 'node:path';
import { BENCH_DIR } from './setup.mjs';
import { hasEndpoint } from './pair.mjs';

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

/** The C sender of the deployed rows: non-blocking, sendmmsg batches, poll(POLLOUT) on EAGAIN. */
export const C_MMSG = 256;
const cFast = (...a) => c('send', '--nonblock', '--mmsg', String(C_MMSG), ...a);
/** How many concurrent senders the "16 senders" rows run. */
export const SENDERS = 16;

/**
 * The C references, by kind: a short C run before and after each row gives its ratio. The
 * deployed kinds (`setting: 'listen'`) are the C receiver in the same setting as their rows:
 * bound at a path, not connected, the same sender.
 */
export const REFERENCES = {
  dgram: { sender: c('send'), receiver: c('recv') },
  rtt: { sender: c('pingpong', 'ping'), receiver: c('pingpong', 'echo') },
  fd: { sender: c('send', '--pass-fd'), receiver: c('recv', '--fds') },
  listen: { sender: cFast(), receiver: c('recv'), setting: 'listen' },
  'listen-unnamed': { sender: cFast('--unnamed'), receiver: c('recv'), setting: 'listen' },
  'listen-senders': { sender: cFast('--senders', String(SENDERS)), receiver: c('recv'), setting: 'listen' },
  'rtt-listen': { sender: c('pingpong', 'ping'), receiver: c('pingpong', 'echo'), setting: 'listen', metric: 'rtt' },
  'fd-listen': { sender: cFast('--pass-fd'), receiver: c('recv', '--fds'), setting: 'listen' },
  // The memfd group's figure is bytes/s: its reference is C moving bytes as 64 KiB datagrams
  // (blocking send(), connected to a receiver bound at a path, the setting of its rows),
  // whatever the payload of the row.
  bytes: { sender: c('send'), receiver: c('recv'), setting: 'listen', size: 65536, metric: 'bytes' },
  // Issue 20: C at both ends of UDP loopback (sendmmsg ×64 → epoll + recvmmsg, the receiver
  // at the same SO_RCVBUF as every UDP receiver), and of a SOCK_SEQPACKET connection.
  // UDP_GRO on, as unixgram's UDP receivers have it.
  udp: { sender: c('udp-send'), receiver: c('udp-recv', '--gro', '--rcvbuf', String(4 << 20)) },
  // The same receiver with the C sender in GSO bursts (64 datagrams per send, 63 of 1 KiB).
  'udp-burst': { sender: c('udp-send', '--gso', '64'), receiver: c('udp-recv', '--gro', '--rcvbuf', String(4 << 20)) },
  seqpacket: { sender: c('send', '--seqpacket'), receiver: c('recv', '--seqpacket', '--mmsg') },
};

export const PAYLOADS = { '64 B': 64, '1 KiB': 1024, '64 KiB': 65536, '256 KiB': 262144 };
/**
 * Payloads past 64 KiB (256 KiB, issue 18) have receive and Node → Node rows only, and no
 * UDP row (a UDP datagram carries 65 507 B at most) and no node-unix-socket row (it receives
 * 65 535 B at most, silently truncating the rest).
 */
const isLarge = (size) => size > 65536;

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
/** The C receiver into a 32 MiB ring, each datagram in memory of its own (64 KiB, diagnostic). */
export const C_RING = 'C (epoll+recv) into a 32 MiB ring';
/** The unixgram client receiving into its one lent buffer (`reuseReceiveBuffer`), 64 KiB and up. */
export const UG_REUSE = 'unixgram (reused receive buffer)';
/** Node → Node, the receiver with `reuseReceiveBuffer` (64 KiB and up). */
export const NN_REUSE = 'unixgram sendPackets → reused receive buffer';
/** The round-trip floor row: unixgram's binding with no API around it. */
export const BARE = 'bare binding, both ends (floor)';
/** The client ↔ client round trip with busy polling off at both ends (`busyPoll: 0`). */
export const UG_NO_SPIN = 'unixgram (busyPoll: 0)';
/** The round trip through a server with busy polling off at both ends. */
export const D_SERVER_NO_SPIN = 'unixgram server (busyPoll: 0)';
/**
 * C spinning on `recv` before it sleeps in epoll, as long as unixgram's adaptive busy
 * polling at most spins (the binding's `BUSY_POLL_ADAPTIVE_MICROS`): the limit of the
 * unixgram rows that busy-poll (the default).
 */
export const C_BUSY = 'C (recv spinning, then epoll)';
const NO_SPIN_NOTE = 'busyPoll: 0 at both ends (no spinning; the default is adaptive)';
/** The unixgram peers' argument for busy polling off. */
const NO_SPIN = ['--busy-poll', '0'];
/**
 * The C spinning row of a round-trip group (its group's fields come from the caller): C
 * pingpong at both ends with `--spin` as long as unixgram's adaptive window at most.
 */
async function cSpinRow() {
  const { BUSY_POLL_ADAPTIVE_MICROS } = await import('../../dist/index.js');
  const spin = ['--spin', String(BUSY_POLL_ADAPTIVE_MICROS)];
  return {
    library: C_BUSY,
    sender: c('pingpong', 'ping', ...spin),
    receiver: c('pingpong', 'echo', ...spin),
    note: `spins ${BUSY_POLL_ADAPTIVE_MICROS} µs, unixgram's adaptive limit: the limit of its default rows, not a library`,
  };
}

// The deployed rows' libraries (check-targets.mjs finds them by these names).
export const D_C = 'C (epoll+recv)';
export const D_C_BLOCKING = 'C (epoll+recv) ← blocking send()';
export const D_ENDPOINT = 'unixgram endpoint (iterator)';
export const D_ENDPOINT_RCVBUF = 'unixgram endpoint (iterator), SO_RCVBUF raised';
export const D_ADOPTED = 'unixgram client (adopted fd, iterator)';
export const D_BOUND = 'unixgram client (bind, iterator)';
export const D_ENDPOINT_REUSE = 'unixgram endpoint (reused receive buffer)';
export const D_ADOPTED_REUSE = 'unixgram client (adopted fd, reused receive buffer)';
export const D_SERVER = 'unixgram server (packet handler)';
export const D_CONVERSATION = 'unixgram server (conversation handler)';
/** Not a library option: the most any Node receiver can take in the deployed setting. */
export const D_FLOOR = 'bare binding, adopted fd (receiver floor)';
/** The deployed scenarios: receive with one bound / one unnamed / 16 bound C senders, round trip, Node → Node, fd passing. */
export const DEPLOYED = {
  bound: 'recv-bound',
  unnamed: 'recv-unnamed',
  senders: 'recv-16-bound',
  rtt: 'rtt-server',
  nodeNode: 'node-node-bound',
  fd: 'fd-pass-bound',
};
/** The payloads of the deployed scenarios with all their rows. */
const DEPLOYED_PAYLOADS = ['64 B', '1 KiB'];
/** Log-sized payloads (issue 18): one bound C sender and fewer rows. */
const DEPLOYED_LARGE = ['64 KiB', '256 KiB'];
// Node -> Node rows of the deployed setting that check-targets.mjs finds by name.
export const D_NN_C = 'C (sendmmsg → epoll+recv)';
export const D_NN_ENDPOINT = 'unixgram sendPacket → endpoint';
/** The same, log-sized: `sendPackets` into an endpoint with `reuseReceiveBuffer`. */
export const D_NN_ENDPOINT_REUSE = 'unixgram sendPackets → endpoint (reused receive buffer)';

/**
 * The rows for the given payload labels. Fields: scenario, payload, size, library,
 * sender, receiver, socketpair, setting (runPair's: 'listen' | 'adopt' for the deployed
 * rows), metric ('rate': datagrams/s | 'bytes': bytes/s | 'rtt'), measured ('recv' | 'send'
 * | 'both'), ref (a key of REFERENCES), udRow (the unix-dgram row this one is compared
 * with), group (rows of several payloads measured as one group; default: one group per
 * scenario and payload). The rows of
 * `UnixDatagramEndpoint` (and the client adopting a bound fd, which the harness binds with
 * it) are there only if dist/ exports it.
 */
export async function rows(payloads) {
  const endpoint = await hasEndpoint();
  const cSpin = await cSpinRow();
  const out = todayRows(payloads, cSpin);
  out.push(...deployedRows(payloads, endpoint, cSpin));
  out.push(...largePayloadRows(payloads, endpoint));
  out.push(...issue20Rows(payloads));
  return out;
}

/** The rows of the settings measured before issue 17 (unchanged, plus one fd-passing row). */
function todayRows(payloads, cSpin) {
  const out = [];
  const add = (r) => out.push({ socketpair: false, metric: 'rate', ref: 'dgram', udRow: UD, ...r });
  for (const payload of payloads) {
    const size = PAYLOADS[payload];
    const base = { payload, size };
    // Receive: C sender -> X receiver.
    const recv = { ...base, scenario: 'recv', measured: 'recv', sender: c('send') };
    add({ ...recv, library: 'C (epoll+recv)', receiver: c('recv') });
    add({ ...recv, library: 'C (recvmmsg)', receiver: c('recv', '--mmsg') });
    // Not an option: what the C receiver's one reused buffer is worth (64 KiB only). Each
    // datagram lands in memory of its own (a 32 MiB ring), as in a receiver that hands out
    // a Buffer per datagram.
    if (size === 65536)
      add({
        ...recv,
        library: C_RING,
        receiver: c('recv', '--size', String(size), '--ring', '32'),
        note: 'not an option: fresh memory per datagram',
      });
    add({ ...recv, library: 'unixgram', receiver: ugRecv() });
    if (size >= 65536) add({ ...recv, library: UG_REUSE, receiver: ugRecv('--reuse'), note: 'reuseReceiveBuffer: true' });
    add({ ...recv, library: UD, receiver: node('unix-dgram-recv.mjs') });
    if (!isLarge(size)) add({ ...recv, library: 'node-unix-socket', receiver: node('node-unix-socket-recv.mjs') });
    // Send: X sender -> C receiver (up to 64 KiB).
    const send = { ...base, scenario: 'send', measured: 'send', receiver: c('recv') };
    if (!isLarge(size)) {
      add({ ...send, library: 'unixgram sendPacket', sender: ugSend() });
      add({ ...send, library: 'unixgram sendPackets', sender: ugSendMany() });
      add({ ...send, library: UD, sender: node('unix-dgram-send.mjs') });
      add({ ...send, library: 'node-unix-socket', sender: node('node-unix-socket-send.mjs') });
    }
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
    if (size >= 65536)
      add({
        ...nn,
        library: NN_REUSE,
        sender: ugSendMany(),
        receiver: ugRecv('--reuse'),
        socketpair: true,
        note: 'reuseReceiveBuffer: true',
      });
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
    if (!isLarge(size))
      add({ ...nn, library: 'node-unix-socket', sender: node('node-unix-socket-send.mjs'), receiver: node('node-unix-socket-recv.mjs') });
    add({ ...nn, library: 'net (unix stream, framed)', sender: node('net-send.mjs'), receiver: node('net-recv.mjs') });
    if (!isLarge(size))
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
  add({ ...rtt, ...cSpin });
  add({
    ...rtt,
    library: UG_NO_SPIN,
    sender: pp('unixgram-pingpong.mjs', 'ping', ...NO_SPIN),
    receiver: pp('unixgram-pingpong.mjs', 'echo', ...NO_SPIN),
    socketpair: true,
    note: NO_SPIN_NOTE,
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
  // The same through the iterator, which closes the fds nobody asks for (natively).
  add({ ...fd, library: FD_ITER, receiver: ugRecv('--mode', 'iter'), note: 'fds closed by the library' });
  return out;
}

/** The fd-passing row through the client's iterator. */
export const FD_ITER = 'unixgram iterReceivedPackets';

/**
 * Where users deploy a receiver (issue 17): it binds a well-known path and never connects,
 * so the kernel bounds its queue at net.unix.max_dgram_qlen for every sender (a receiver
 * connected to its sender exempts that sender); senders connect to it. The C senders are
 * non-blocking sendmmsg ×256 with poll(POLLOUT) on EAGAIN, fast enough to keep the queue
 * full. Every group's C reference is the C receiver in the same setting with the same sender.
 */
function deployedRows(payloads, endpoint, cSpin) {
  const out = [];
  const add = (r) => out.push({ socketpair: false, metric: 'rate', setting: 'listen', udRow: UD, ...r });
  // `large`: the log-sized payloads, whose groups have the rows issue 18 judges only.
  const receivers = (base, large = false) => {
    add({ ...base, library: D_C, receiver: c('recv') });
    if (!large) add({ ...base, library: 'C (recvmmsg)', receiver: c('recv', '--mmsg') });
    if (base.scenario === DEPLOYED.bound && !large)
      add({ ...base, library: D_C_BLOCKING, sender: c('send'), receiver: c('recv'), note: 'blocking send() sender' });
    if (endpoint) {
      add({ ...base, library: D_ENDPOINT, receiver: node('unixgram-endpoint-recv.mjs') });
      if (base.scenario === DEPLOYED.bound && large)
        add({
          ...base,
          library: D_ENDPOINT_REUSE,
          receiver: node('unixgram-endpoint-recv.mjs', '--reuse'),
          note: 'reuseReceiveBuffer: true',
        });
      // SO_RCVBUF does not bound a unix datagram receive queue (max_dgram_qlen does): shown.
      if (base.scenario === DEPLOYED.bound && !large)
        add({
          ...base,
          library: D_ENDPOINT_RCVBUF,
          receiver: node('unixgram-endpoint-recv.mjs', '--rcvbuf', String(8 << 20)),
          note: 'SO_RCVBUF set to 8 MiB (the kernel caps it at 2 × rmem_max)',
        });
      // The harness binds the path (UnixDatagramEndpoint) and hands the socket over as fd 3.
      add({ ...base, library: D_ADOPTED, receiver: ugRecv(), setting: 'adopt', note: 'UnixDatagramClient.fromFd(3)' });
      // The same client on a socket it binds itself: a sink, told no sender.
      if (!large) add({ ...base, library: D_BOUND, receiver: ugRecv(), note: 'UnixDatagramClient.bind(path)' });
      // The floor of the rows above: the binding with no API around it, told to report
      // senders as the endpoint's and the server's are.
      if (!large)
        add({
          ...base,
          library: D_FLOOR,
          receiver: node('bare-binding-recv.mjs', '--addresses'),
          setting: 'adopt',
          note: 'floor, not an option: no API; senders reported as to an endpoint',
        });
      if (base.scenario === DEPLOYED.bound && large)
        add({
          ...base,
          library: D_ADOPTED_REUSE,
          receiver: ugRecv('--reuse'),
          setting: 'adopt',
          note: 'UnixDatagramClient.fromFd(3, …, { reuseReceiveBuffer: true })',
        });
    }
    add({ ...base, library: D_SERVER, receiver: node('unixgram-server-recv.mjs') });
    if (!large) add({ ...base, library: D_CONVERSATION, receiver: node('unixgram-server-recv.mjs', '--conversation') });
    add({ ...base, library: UD, receiver: node('unix-dgram-recv.mjs') });
    if (!large) add({ ...base, library: 'node-unix-socket', receiver: node('node-unix-socket-recv.mjs') });
  };
  for (const payload of payloads.filter((p) => DEPLOYED_PAYLOADS.includes(p))) {
    const size = PAYLOADS[payload];
    const base = { payload, size, measured: 'recv' };
    // Receive: one C sender bound at a path / one unnamed / 16 bound, each connected to X.
    receivers({ ...base, scenario: DEPLOYED.bound, ref: 'listen', sender: REFERENCES.listen.sender });
    receivers({ ...base, scenario: DEPLOYED.unnamed, ref: 'listen-unnamed', sender: REFERENCES['listen-unnamed'].sender });
    receivers({ ...base, scenario: DEPLOYED.senders, ref: 'listen-senders', sender: REFERENCES['listen-senders'].sender });
  }
  // Log-sized datagrams (issue 18): one bound C sender; C, the endpoint, the adopted-fd
  // client, the server and unix-dgram.
  for (const payload of payloads.filter((p) => DEPLOYED_LARGE.includes(p))) {
    const base = { payload, size: PAYLOADS[payload], measured: 'recv' };
    receivers({ ...base, scenario: DEPLOYED.bound, ref: 'listen', sender: REFERENCES.listen.sender }, true);
  }
  // Round trip through a server, 64 B: the echo binds a path, does not connect, and answers
  // each datagram at its sender's address; the ping connects to the echo's path.
  const rtt = { scenario: DEPLOYED.rtt, payload: '64 B', size: 64, metric: 'rtt', measured: 'send', ref: 'rtt-listen' };
  const ugPing = node('unixgram-pingpong.mjs', 'ping', '--autobind');
  add({ ...rtt, library: 'C (epoll)', sender: REFERENCES['rtt-listen'].sender, receiver: REFERENCES['rtt-listen'].receiver });
  add({ ...rtt, library: 'unixgram server', sender: ugPing, receiver: node('unixgram-server-pingpong.mjs', 'echo') });
  add({ ...rtt, ...cSpin });
  add({
    ...rtt,
    library: D_SERVER_NO_SPIN,
    sender: node('unixgram-pingpong.mjs', 'ping', '--autobind', ...NO_SPIN),
    receiver: node('unixgram-server-pingpong.mjs', 'echo', ...NO_SPIN),
    note: NO_SPIN_NOTE,
  });
  if (endpoint) add({ ...rtt, library: 'unixgram endpoint', sender: ugPing, receiver: node('unixgram-endpoint-pingpong.mjs', 'echo') });
  add({
    ...rtt,
    library: UD,
    sender: node('unix-dgram-pingpong.mjs', 'ping'),
    receiver: node('unix-dgram-pingpong.mjs', 'echo'),
    note: 'echo answers rinfo.path (sendto)',
  });
  add({
    ...rtt,
    library: 'node-unix-socket',
    sender: node('node-unix-socket-pingpong.mjs', 'ping'),
    receiver: node('node-unix-socket-pingpong.mjs', 'echo'),
    note: 'ping unconnected too (sendTo)',
  });
  // Node -> Node: a Node receiver bound at a path, not connected; a Node sender bound at a
  // path and connected to it. Reference: the C pair in the same setting.
  // Log-sized payloads (issue 18): C, unixgram sendPacket into the endpoint, unix-dgram.
  for (const payload of payloads.filter((p) => DEPLOYED_PAYLOADS.includes(p) || DEPLOYED_LARGE.includes(p))) {
    const size = PAYLOADS[payload];
    const large = DEPLOYED_LARGE.includes(payload);
    const nn = { scenario: DEPLOYED.nodeNode, payload, size, measured: 'both', ref: 'listen' };
    add({ ...nn, library: D_NN_C, sender: REFERENCES.listen.sender, receiver: c('recv') });
    const server = node('unixgram-server-recv.mjs');
    if (!large) {
      add({ ...nn, library: 'unixgram sendPacket → server', sender: ugSend(), receiver: server });
      add({ ...nn, library: 'unixgram sendPackets → server', sender: ugSendMany(), receiver: server });
    }
    if (endpoint) {
      const ep = node('unixgram-endpoint-recv.mjs');
      add({ ...nn, library: D_NN_ENDPOINT, sender: ugSend(), receiver: ep });
      if (!large) add({ ...nn, library: 'unixgram sendPackets → endpoint', sender: ugSendMany(), receiver: ep });
      if (large)
        add({
          ...nn,
          library: D_NN_ENDPOINT_REUSE,
          sender: ugSendMany(),
          receiver: node('unixgram-endpoint-recv.mjs', '--reuse'),
          note: 'reuseReceiveBuffer: true',
        });
    }
    add({ ...nn, library: UD, sender: node('unix-dgram-send.mjs'), receiver: node('unix-dgram-recv.mjs') });
    if (!large) add({ ...nn, library: 'net (unix stream, framed)', sender: node('net-send.mjs'), receiver: node('net-recv.mjs') });
  }
  // fd passing: the fast C sender, 1 fd per 64 B datagram; X closes each fd.
  const fd = {
    scenario: DEPLOYED.fd,
    payload: '64 B + 1 fd',
    size: 64,
    measured: 'recv',
    ref: 'fd-listen',
    udRow: null,
    sender: REFERENCES['fd-listen'].sender,
  };
  add({ ...fd, library: 'C (epoll+recvmsg)', receiver: REFERENCES['fd-listen'].receiver });
  if (endpoint) {
    add({ ...fd, library: D_ENDPOINT, receiver: node('unixgram-endpoint-recv.mjs', '--fds'), note: 'ancillary.close()' });
    add({ ...fd, library: D_ADOPTED, receiver: ugRecv('--mode', 'iter'), setting: 'adopt', note: 'fds closed by the library' });
    add({ ...fd, library: D_BOUND, receiver: ugRecv('--mode', 'iter'), note: 'UnixDatagramClient.bind(path); fds closed by the library' });
    add({ ...fd, library: 'unixgram client (adopted fd, recvPacket + ancillary)', receiver: ugRecv('--mode', 'fds'), setting: 'adopt' });
  }
  add({ ...fd, library: D_SERVER, receiver: node('unixgram-server-recv.mjs'), note: 'fds closed when the handler returns' });
  return out;
}

/** The header of the gather rows: a 64 B header before a 64 KiB body, one datagram of 65 600 B. */
export const HEADER = 64;
/** The gather rows (check-targets.mjs finds them by these names). */
export const GATHER = {
  packet: 'unixgram sendPacket([header, body]) (gather)',
  packetConcat: 'unixgram sendPacket(Buffer.concat([header, body]))',
  packets: 'unixgram sendPackets([[header, body], …]) (gather)',
  packetsConcat: 'unixgram sendPackets([Buffer.concat([header, body]), …])',
  unixDgram: 'unix-dgram send(Buffer.concat([header, body]))',
};
/** The memfd rows: bytes/s at the receiver, every row in one group (check-targets.mjs finds them by these names). */
export const MEMFD = {
  c: 'C (send → epoll+recv), plain datagrams',
  plain: 'unixgram sendPacket → endpoint, plain datagrams',
  memfd: 'unixgram sendPacket → endpoint, memfd (largePayloads)',
  packet64k: 'unixgram sendPacket → endpoint, 64 KiB datagrams',
  packets64k: 'unixgram sendPackets → endpoint, 64 KiB datagrams',
  /** Not an option: the memfd path in C, the most any sender and receiver get from it. */
  cMemfd: 'C memfd (memfd_create + pwrite + seals → recvmsg + mmap)',
};
export const MEMFD_MAX_PAYLOAD = 64 << 20;

/**
 * Log-sized payloads (issue 18), in the full run only (not --quick):
 * - gather: a unixgram sender → the C receiver, a 64 B header + a 64 KiB body per datagram,
 *   sent as `[header, body]` (gathered by sendmsg, no copy) or as `Buffer.concat` of the two
 *   made per packet, as today's code must; unix-dgram with the concatenation as a reference.
 * - memfd: unixgram sender (bound, connected) → endpoint (bound, not connected), 1 MiB and
 *   16 MiB payloads with `largePayloads: 'memfd'` at both ends (a payload too big for the
 *   socket goes as a sealed memfd), against the same bytes as plain datagrams where they fit
 *   (1 MiB; 16 MiB is past what the kernel allocates for one datagram) and as 64 KiB
 *   datagrams. One group, so every row runs in the same rounds; the figure is bytes/s.
 */
function largePayloadRows(payloads, endpoint) {
  const out = [];
  if (!payloads.includes('64 KiB')) return out;
  const add = (r) => out.push({ socketpair: false, metric: 'rate', ...r });
  const g = {
    scenario: 'gather',
    payload: '64 B + 64 KiB',
    size: HEADER + 65536,
    measured: 'send',
    ref: 'dgram',
    receiver: c('recv'),
    udRow: GATHER.unixDgram,
  };
  const header = ['--header', String(HEADER)];
  add({ ...g, library: GATHER.packet, sender: ugSend(...header, '--gather') });
  add({ ...g, library: GATHER.packetConcat, sender: ugSend(...header) });
  add({ ...g, library: GATHER.packets, sender: ugSendMany(...header, '--gather') });
  add({ ...g, library: GATHER.packetsConcat, sender: ugSendMany(...header) });
  add({ ...g, library: GATHER.unixDgram, sender: node('unix-dgram-send.mjs', ...header) });
  if (!endpoint) return out;
  const m = { scenario: 'memfd', group: 'memfd', metric: 'bytes', measured: 'both', ref: 'bytes', setting: 'listen', udRow: null };
  const MiB = 1 << 20;
  const memfd = ['--memfd', '--max-payload', String(MEMFD_MAX_PAYLOAD)];
  const ep = (...a) => node('unixgram-endpoint-recv.mjs', ...a);
  add({ ...m, payload: '1 MiB', size: MiB, library: MEMFD.c, sender: c('send'), receiver: c('recv') });
  add({ ...m, payload: '1 MiB', size: MiB, library: MEMFD.plain, sender: ugSend(), receiver: ep() });
  add({ ...m, payload: '1 MiB', size: MiB, library: MEMFD.memfd, sender: ugSend(...memfd), receiver: ep(...memfd) });
  add({ ...m, payload: '16 MiB', size: 16 * MiB, library: MEMFD.memfd, sender: ugSend(...memfd), receiver: ep(...memfd) });
  // The same protocol in C: what the kernel's memfd path costs with nothing around it.
  for (const [payload, size] of [
    ['1 MiB', MiB],
    ['16 MiB', 16 * MiB],
  ])
    add({
      ...m,
      payload,
      size,
      library: MEMFD.cMemfd,
      sender: c('send', '--memfd'),
      receiver: c('recv', '--memfd'),
      note: 'the limit of the memfd path, not an option',
    });
  add({ ...m, payload: '64 KiB', size: 65536, library: MEMFD.packet64k, sender: ugSend(), receiver: ep() });
  add({ ...m, payload: '64 KiB', size: 65536, library: MEMFD.packets64k, sender: ugSendMany(), receiver: ep() });
  return out;
}

/** The SO_RCVBUF every UDP receiver asks for (issue 20); Linux gives twice that, up to 2 × rmem_max. */
export const UDP_RCVBUF = 4 << 20;
/** The UDP C sender's datagrams per sendmmsg. */
export const UDP_MMSG = 64;
/** Datagrams per sendPackets call of the GSO rows: 64 × 1 KiB, one 64 KiB burst. */
export const GSO_BURST = 64;
/** The payload label of the GSO group (1 KiB datagrams sent in 64 KiB bursts). */
export const GSO_PAYLOAD = '64 KiB with GSO';
/** Issue 20's scenarios and the rows check-targets.mjs finds by name. */
export const ISSUE20 = {
  udpRecv: 'udp-recv',
  udpRecvBurst: 'udp-recv-burst',
  cRecvNoGro: 'C (recvmmsg, no UDP_GRO)',
  udpNodeNode: 'udp-node-node',
  seqpacket: 'seqpacket',
  cRecv: 'C (recvmmsg, UDP_GRO)',
  dgramRecv: 'dgram',
  ugRecv: 'unixgram UdpEndpoint (iterReceivedPacketsFrom)',
  ugClientRecv: 'unixgram UdpClient connected to the sender (iterReceivedPackets)',
  ugServerRecv: 'unixgram UdpServer (packet handler)',
  cPair: 'C → C (sendmmsg → recvmmsg)',
  cPairGso: `C → C (sendmmsg with UDP_SEGMENT, ${UG_BATCH} per send → recvmmsg)`,
  ugPacket: 'unixgram UdpClient sendPacket → UdpEndpoint',
  ugPackets: `unixgram UdpClient sendPackets ×${UG_BATCH} → UdpEndpoint`,
  dgramPair: 'dgram send() ×64 per loop turn, no callback → dgram',
  cGso: `C sendmmsg with UDP_SEGMENT (${GSO_BURST} × 1 KiB asked, cut to 63 per sendmsg) → C recvmmsg`,
  ugGso: `unixgram UdpClient sendPackets(${GSO_BURST} × 1 KiB) → UdpEndpoint`,
  dgramGso: 'dgram send(1 KiB) ×64 per loop turn, no callback → dgram',
  cSeq: 'C → C (SOCK_SEQPACKET, connect/accept, recvmmsg)',
  cDgramPair: 'C → C (SOCK_DGRAM socketpair, recvmmsg)',
  seqPacket: 'unixgram UnixSeqpacketClient sendPacket → UnixSeqpacketServer',
  seqPackets: `unixgram UnixSeqpacketClient sendPackets ×${UG_BATCH} → UnixSeqpacketServer`,
  seqPairPacket: 'unixgram UnixSeqpacketClient.socketpair sendPacket → iterReceivedPackets',
  seqPairPackets: `unixgram UnixSeqpacketClient.socketpair sendPackets ×${UG_BATCH} → iterReceivedPackets`,
  pairPacket: 'unixgram SOCK_DGRAM socketpair sendPacket → iterReceivedPackets',
  pairPackets: `unixgram SOCK_DGRAM socketpair sendPackets ×${UG_BATCH} → iterReceivedPackets`,
  net: 'net (unix stream, framed)',
};

/**
 * Issue 20: UDP and SOCK_SEQPACKET.
 * - udp-recv (64 B, 1 KiB): the C sender (sendmmsg ×64, never waiting) → the C recvmmsg
 *   receiver (the limit), dgram, and unixgram's UdpEndpoint. unixgram's UDP receivers turn
 *   UDP_GRO on (a GSO burst arrives whole and is split in the binding), so the C receivers do
 *   too; dgram cannot. Every receiver binds an
 *   ephemeral port on 127.0.0.1, never connects, and asks SO_RCVBUF 4 MiB; the sender binds
 *   an ephemeral port and connects to it. Figures: datagrams/s received, and the share lost.
 * - udp-node-node (64 B, 1 KiB): the same setting with X at both ends; and '64 KiB with GSO':
 *   1 KiB datagrams sent in 64 KiB bursts (unixgram's sendPackets of 64 equal packets: one
 *   GSO sendmsg), against dgram's fastest send of the same datagrams and C with UDP_SEGMENT.
 * - seqpacket (64 B): unixgram's UnixSeqpacketClient → UnixSeqpacketServer (the server
 *   binds and listens, the client connects), against unixgram's SOCK_DGRAM socketpair, C at
 *   both ends of each, and net over a unix stream.
 * The unixgram UDP and SEQPACKET peers need `UdpClient`, `UdpEndpoint` and
 * `UnixSeqpacketClient` / `UnixSeqpacketServer` in dist/: without them their rows fail.
 */
function issue20Rows(payloads) {
  const out = [];
  const add = (r) => out.push({ socketpair: false, metric: 'rate', ...r });
  const rcvbuf = ['--rcvbuf', String(UDP_RCVBUF)];
  const cRecv = c('udp-recv', '--gro', ...rcvbuf);
  const dgramRecv = node('udp-recv.mjs', ...rcvbuf);
  const ugRecvUdp = node('unixgram-endpoint-recv.mjs', '--udp', ...rcvbuf);
  const ugClientRecvUdp = node('unixgram-recv.mjs', '--mode', UG_RECV_MODE, '--transport', 'udp', ...rcvbuf);
  const ugServerRecvUdp = node('unixgram-server-recv.mjs', '--udp', ...rcvbuf);
  const ugUdp = (...a) => node('unixgram-send.mjs', '--transport', 'udp', ...a);
  // dgram's fastest send measured here: no callbacks, 64 sends per loop turn (~7% over 64
  // callbacks pending, whose window size made no difference).
  const dgramFast = node('udp-send.mjs', '--window', '0');
  const udp = { ref: 'udp', lossy: true };
  for (const payload of payloads.filter((p) => p === '64 B' || p === '1 KiB')) {
    const size = PAYLOADS[payload];
    const recv = { ...udp, payload, size, scenario: ISSUE20.udpRecv, measured: 'recv', sender: c('udp-send'), udRow: ISSUE20.dgramRecv };
    add({ ...recv, library: ISSUE20.cRecv, receiver: cRecv, note: 'the limit' });
    add({ ...recv, library: ISSUE20.dgramRecv, receiver: dgramRecv });
    add({ ...recv, library: ISSUE20.ugRecv, receiver: ugRecvUdp });
    add({
      ...recv,
      library: ISSUE20.ugClientRecv,
      receiver: ugClientRecvUdp,
      note: 'connected to the C sender (its port from the bound line)',
    });
    add({ ...recv, library: ISSUE20.ugServerRecv, receiver: ugServerRecvUdp });
    // The same receivers with a sender faster than all of them: C in GSO bursts of 64.
    const burst = { ...recv, scenario: ISSUE20.udpRecvBurst, ref: 'udp-burst', sender: REFERENCES['udp-burst'].sender };
    add({ ...burst, library: ISSUE20.cRecv, receiver: cRecv, note: 'the limit' });
    add({ ...burst, library: ISSUE20.cRecvNoGro, receiver: c('udp-recv', ...rcvbuf), note: 'the kernel splits each burst' });
    add({ ...burst, library: ISSUE20.dgramRecv, receiver: dgramRecv });
    add({ ...burst, library: ISSUE20.ugRecv, receiver: ugRecvUdp });
    add({ ...burst, library: ISSUE20.ugClientRecv, receiver: ugClientRecvUdp, note: 'connected to the C sender' });
    add({ ...burst, library: ISSUE20.ugServerRecv, receiver: ugServerRecvUdp });
    const nn = { ...udp, payload, size, scenario: ISSUE20.udpNodeNode, measured: 'both', udRow: ISSUE20.dgramPair };
    add({ ...nn, library: ISSUE20.cPair, sender: c('udp-send'), receiver: cRecv, note: 'the limit without GSO' });
    // The limit of a sender that uses GSO, as unixgram's sendPackets does for equal packets.
    add({
      ...nn,
      library: ISSUE20.cPairGso,
      sender: c('udp-send', '--gso', String(UG_BATCH)),
      receiver: cRecv,
      note: 'the limit with GSO',
    });
    add({ ...nn, library: ISSUE20.ugPacket, sender: ugUdp('--mode', UG_SEND_MODE), receiver: ugRecvUdp });
    add({ ...nn, library: ISSUE20.ugPackets, sender: ugUdp('--mode', 'many', '--batch', String(UG_BATCH)), receiver: ugRecvUdp });
    add({ ...nn, library: ISSUE20.dgramPair, sender: dgramFast, receiver: dgramRecv });
  }
  if (payloads.includes('1 KiB')) {
    const gso = { ...udp, payload: GSO_PAYLOAD, size: 1024, scenario: ISSUE20.udpNodeNode, measured: 'both', udRow: ISSUE20.dgramGso };
    add({ ...gso, library: ISSUE20.cGso, sender: c('udp-send', '--gso', String(GSO_BURST)), receiver: cRecv, note: 'the limit' });
    add({
      ...gso,
      library: ISSUE20.ugGso,
      sender: ugUdp('--mode', 'many', '--batch', String(GSO_BURST)),
      receiver: ugRecvUdp,
      // strace, 2026-12-02: sendmmsg of 2 messages, 63 iovecs with UDP_SEGMENT and 1 alone.
      note: 'one sendmmsg per call: 63 datagrams as one GSO send, 1 alone (one IP packet holds 63 × 1 KiB)',
    });
    add({ ...gso, library: ISSUE20.dgramGso, sender: dgramFast, receiver: dgramRecv });
  }
  if (payloads.includes('64 B')) {
    const seq = { payload: '64 B', size: 64, scenario: ISSUE20.seqpacket, measured: 'both', ref: 'seqpacket' };
    const server = node('unixgram-server-recv.mjs', '--seqpacket');
    const ugSeq = (...a) => node('unixgram-send.mjs', '--transport', 'seqpacket', ...a);
    add({ ...seq, library: ISSUE20.cSeq, sender: REFERENCES.seqpacket.sender, receiver: REFERENCES.seqpacket.receiver });
    add({ ...seq, library: ISSUE20.cDgramPair, sender: c('send'), receiver: c('recv', '--mmsg'), socketpair: true });
    add({ ...seq, library: ISSUE20.seqPacket, sender: ugSeq('--mode', UG_SEND_MODE), receiver: server, udRow: ISSUE20.pairPacket });
    add({
      ...seq,
      library: ISSUE20.seqPackets,
      sender: ugSeq('--mode', 'many', '--batch', String(UG_BATCH)),
      receiver: server,
      udRow: ISSUE20.pairPackets,
    });
    // The same two ends as the SOCK_DGRAM socketpair rows below, over a SOCK_SEQPACKET pair.
    const seqPair = { ...seq, socketpair: 'seqpacket', receiver: ugRecv('--transport', 'seqpacket') };
    add({ ...seqPair, library: ISSUE20.seqPairPacket, sender: ugSeq('--mode', UG_SEND_MODE), udRow: ISSUE20.pairPacket });
    add({
      ...seqPair,
      library: ISSUE20.seqPairPackets,
      sender: ugSeq('--mode', 'many', '--batch', String(UG_BATCH)),
      udRow: ISSUE20.pairPackets,
    });
    add({ ...seq, library: ISSUE20.pairPacket, sender: ugSend(), receiver: ugRecv(), socketpair: true });
    add({ ...seq, library: ISSUE20.pairPackets, sender: ugSendMany(), receiver: ugRecv(), socketpair: true });
    add({ ...seq, library: ISSUE20.net, sender: node('net-send.mjs'), receiver: node('net-recv.mjs') });
  }
  return out;
}
