// The table printed on stdout (also pasted into the README) and the memory summary.
import { readFileSync } from 'node:fs';
import { C_MMSG, SENDERS, HEADER } from './scenarios.mjs';

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

/** A Markdown table per scenario. */
export function table(records) {
  const out = [];
  for (const scenario of Object.keys(TITLES)) {
    const recs = records.filter((r) => r.scenario === scenario);
    if (!recs.length) continue;
    const rtt = recs[0].metric === 'rtt_p50_us';
    const bytes = recs[0].metric === 'bytes_per_s';
    out.push(`### ${TITLES[scenario]}`, '');
    out.push(
      `| payload | library | ${rtt ? 'p50 / p99 µs' : bytes ? 'bytes/s' : 'rate'} | × C | × unix-dgram | CPU µs/${bytes ? 'payload' : 'dgram'} rx / tx | peak RSS rx MB | notes |`,
    );
    out.push('|---|---|--:|--:|--:|--:|--:|---|');
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
      out.push(
        `| ${r.payload} | ${r.library} | ${value} | ${fmtRatio(r.ratio_to_c)} | ${fmtRatio(r.ratio_to_unix_dgram)} | ${cpu} | ${fmtNum(r.peak_rss_mb)} | ${notes} |`,
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
