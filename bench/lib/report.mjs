// The table printed on stdout (also pasted into the README) and the memory summary.
import { readFileSync } from 'node:fs';
import { C_MMSG, SENDERS, HEADER, UDP_RCVBUF, UDP_MMSG, GSO_BURST, UG_BATCH, ISSUE20 } from './scenarios.mjs';

const fmtRate = (x) => (x === null ? '—' : x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${Math.round(x / 1e3)} k/s`);
const fmtBytes = (x) => (x === null ? '—' : `${Math.round(x / 1e6)} MB/s`);
const fmtRatio = (x) => (x === null || x === undefined ? '—' : `${x.toFixed(2)}×`);
const fmtNum = (x, d = 1) => (x === null || x === undefined ? '—' : x.toFixed(d));

/** The kernel's bound on a receiver's queue, as the tables' titles state it. */
const qlen = (() => {
  try {
    return `max_dgram_qlen ${readFileSync('/proc/sys/net/unix/max_dgram_qlen', 'utf8').trim()}`;
  } catch {
    return 'max_dgram_qlen unknown';
  }
})();
const DEPLOYED = 'Receive where users deploy: X bound at a path, not connected';
const FAST = `non-blocking sendmmsg ×${C_MMSG}, poll(POLLOUT) on EAGAIN`;

const TITLES = {
  recv: 'Receive: C sender → X receiver',
  send: 'Send: X sender → C receiver',
  'node-node': 'Node → Node: X at both ends',
  rtt: 'Round trip, 64 B, X at both ends (p50 / p99; ratios are X / C, lower is better)',
  'fd-pass': 'fd passing: C sender, 1 fd per datagram, received and closed by X',
  'recv-bound': `${DEPLOYED}; one C sender bound at a path, connected to it, ${FAST}; ${qlen}`,
  'recv-unnamed': `${DEPLOYED}; one unnamed C sender (like logger), connected to it, ${FAST}; ${qlen}`,
  'recv-16-bound': `${DEPLOYED}; ${SENDERS} concurrent C senders, each bound at a path and connected to it, ${FAST}, round-robin; ${qlen}`,
  'node-node-bound':
    `Node → Node where users deploy: X receiver bound at a path, not connected; X sender bound at a path, connected to it; ${qlen}` +
    ` (× C: C ${FAST} → C epoll+recv, same setting; net: a unix stream server, as before)`,
  'rtt-server':
    `Round trip through a server, 64 B: X echo bound at a path, not connected, answering each datagram at its sender's address; ` +
    `ping connected to it (C, unix-dgram: bound at a path; unixgram: autobound client); ${qlen} (p50 / p99; ratios are X / C, lower is better)`,
  'fd-pass-bound': `fd passing where users deploy: X bound at a path, not connected; one C sender bound at a path, connected to it, ${FAST}, 1 fd per 64 B datagram, closed by X; ${qlen}`,
  gather:
    `Gather send: X sender → C receiver (epoll+recv), a ${HEADER} B header + a 64 KiB body per datagram, ` +
    `sent as [header, body] (sendmsg iovecs) or concatenated per packet (× C: C → C, 65 600 B datagrams)`,
  memfd:
    `Large payloads, bytes/s at the receiver: unixgram sender bound at a path, connected → endpoint bound, not connected; ` +
    `memfd rows with largePayloads: 'memfd' at both ends; ${qlen} (× C: C blocking send() → epoll+recv, 64 KiB datagrams, same setting, in bytes/s)`,
};

// Issue 20's settings, in every title: who binds, who connects, the receive buffer, the sender.
const udpRx = (connected = '') =>
  `every receiver binds an ephemeral port on 127.0.0.1 (udp4) and never connects${connected}, asking SO_RCVBUF ${UDP_RCVBUF >> 20} MiB ` +
  '(what the kernel gave: notes); UDP_GRO on in the C and unixgram receivers (unixgram turns it on itself; dgram cannot), ' +
  'so a GSO burst arrives whole';
const UDP_COLS = 'rate: datagrams/s received; lost: share of what was sent that did not arrive (median of rounds)';
TITLES[ISSUE20.udpRecv] =
  `UDP receive: C sender → X receiver; ${udpRx(' (but the UdpClient row, connected to the sender)')}; the C sender binds an ephemeral port, connects to the receiver and sends ` +
  `sendmmsg ×${UDP_MMSG} as fast as the kernel takes it, never waiting; ${UDP_COLS} (× C: C → C, the C recvmmsg receiver with UDP_GRO)`;
TITLES[ISSUE20.udpRecvBurst] =
  `UDP receive from a sender faster than every receiver: C sender → X receiver; ${udpRx(' (but the UdpClient row, connected to the sender)')}; ` +
  `the C sender binds an ephemeral port, connects to the receiver and sends sendmmsg ×${UDP_MMSG} with UDP_SEGMENT, 64 datagrams per send ` +
  `(63 of 1 KiB), never waiting; ${UDP_COLS} (× C: the C recvmmsg receiver with UDP_GRO, same sender)`;
TITLES[ISSUE20.udpNodeNode] =
  `UDP Node → Node: X sender → X receiver; ${udpRx()}; the sender binds an ephemeral port and connects to the receiver ` +
  `(unixgram: UdpClient.connect, an await sendPacket loop or sendPackets ×${UG_BATCH}; dgram: connect(), send() without callback, 64 per turn of the loop, its fastest here; ` +
  `C: sendmmsg ×${UDP_MMSG}, without and with UDP_SEGMENT, ${UG_BATCH} datagrams per send). "64 KiB with GSO": 1 KiB datagrams sent in 64 KiB bursts, unixgram sendPackets of ${GSO_BURST} equal ` +
  `1 KiB packets (UDP GSO), C sendmmsg with UDP_SEGMENT, dgram its fastest send of the same datagrams; ${UDP_COLS} (× C: C → C without GSO)`;
TITLES[ISSUE20.seqpacket] =
  'SOCK_SEQPACKET Node → Node, 64 B: unixgram UnixSeqpacketServer binds a path and listens, UnixSeqpacketClient connects to it ' +
  "(C: bind + listen + accept one; connect); beside it the harness's socketpairs as fd 3, SOCK_SEQPACKET (UnixSeqpacketClient.socketpair) " +
  'and SOCK_DGRAM (connected both ways, exempt from max_dgram_qlen), with the client iterator receiving, and ' +
  'net over a unix stream server (4-byte framing); senders block (C) or await (unixgram) when the socket is full ' +
  '(× C: C → C over SOCK_SEQPACKET; × row: the SOCK_DGRAM socketpair row with the same send call)';
/** The comparison column of issue 20's tables: its header (ratio_to_row). */
const VERSUS = {
  [ISSUE20.udpRecv]: '× dgram',
  [ISSUE20.udpRecvBurst]: '× dgram',
  [ISSUE20.udpNodeNode]: '× dgram',
  [ISSUE20.seqpacket]: '× SOCK_DGRAM pair',
};
const fmtPct = (x) => (x === null || x === undefined ? '—' : `${x < 0.1 && x > 0 ? x.toFixed(2) : x.toFixed(1)}%`);

/** A Markdown table per scenario. */
export function table(records) {
  const out = [];
  for (const scenario of Object.keys(TITLES)) {
    const recs = records.filter((r) => r.scenario === scenario);
    if (!recs.length) continue;
    const rtt = recs[0].metric === 'rtt_p50_us';
    const bytes = recs[0].metric === 'bytes_per_s';
    const versus = VERSUS[scenario];
    const lossy = recs.some((r) => r.loss_pct !== undefined);
    out.push(`### ${TITLES[scenario]}`, '');
    out.push(
      `| payload | library | ${rtt ? 'p50 / p99 µs' : bytes ? 'bytes/s' : 'rate'} |${lossy ? ' lost |' : ''} × C | ${versus ?? '× unix-dgram'} | CPU µs/${bytes ? 'payload' : 'dgram'} rx / tx | peak RSS rx MB | notes |`,
    );
    out.push(`|---|---|--:|${lossy ? '--:|' : ''}--:|--:|--:|--:|---|`);
    for (const r of recs) {
      const value =
        r.status === 'failed'
          ? 'failed'
          : rtt
            ? `${fmtNum(r.median)} / ${fmtNum(r.p99_us)}`
            : bytes
              ? fmtBytes(r.median)
              : fmtRate(r.median);
      const cpu = `${fmtNum(r.cpu_us_rx, 2)} / ${fmtNum(r.cpu_us_tx, 2)}`;
      const notes = r.notes.join('; ').replace(/\|/g, '/');
      const loss = lossy ? ` ${r.status === 'failed' ? '—' : fmtPct(r.loss_pct)} |` : '';
      const other = versus ? r.ratio_to_row : r.ratio_to_unix_dgram;
      out.push(
        `| ${r.payload} | ${r.library} | ${value} |${loss} ${fmtRatio(r.ratio_to_c)} | ${fmtRatio(other)} | ${cpu} | ${fmtNum(r.peak_rss_mb)} | ${notes} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

export function memoryLine(m) {
  if (!m) return '';
  if (m.status === 'failed') return `Memory (5 M datagrams into unixgram): failed: ${m.notes.join('; ')}`;
  return (
    `Memory: ${m.received} datagrams into unixgram: RSS ${fmtNum(m.rss_warm_mb)} MB after 100 k → ${fmtNum(m.rss_end_mb)} MB at the end ` +
    `(+${fmtNum(m.rss_growth_mb)} MB); open fds ${m.fds_before} before, ${m.fds_warm} after 100 k, ${m.fds_open_end} at the end, ${m.fds_after_close} after close`
  );
}
