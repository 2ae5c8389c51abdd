// Measuring a group of rows: their rounds interleaved, the C references between rounds, and
// one record per row.
import { runPair } from './pair.mjs';
import { REFERENCES } from './scenarios.mjs';
import { median, round, pairedRatio, cAround } from './stats.mjs';

const timeoutMs = (secs) => Math.round((secs + 4) * 1000); // a hung peer costs little

/** The figures of one successful run of a row. */
function extract(row, { send, recv }) {
  if (row.metric === 'rtt') {
    return {
      value: send.p50_us,
      p99: send.p99_us,
      cpuTx: send.cpu_us / send.count,
      cpuRx: null,
      rssKb: recv.hwm_kb,
      sent: send.count,
      received: send.count,
      truncated: 0,
    };
  }
  return {
    // 'bytes': the row's datagrams (or payloads) carry `size` bytes each (shorter ones are
    // counted in the notes).
    value: (recv.count * (row.metric === 'bytes' ? row.size : 1)) / recv.elapsed,
    cpuRx: recv.cpu_us / recv.count,
    cpuTx: send.cpu_us / send.sent,
    rssKb: recv.hwm_kb,
    sent: send.sent,
    received: recv.count,
    truncated: recv.truncated ?? 0,
    // UDP receivers (issue 20): the SO_RCVBUF the kernel gave, and its own drop count if the
    // receiver reads it (unixgram's socket.drops, SO_RXQ_OVFL).
    rcvbuf: recv.rcvbuf ?? null,
    drops: recv.drops ?? null,
    mode: [recv.mode && `receiver ${recv.mode}`, send.mode && `sender ${send.mode}`].filter(Boolean).join(', '),
  };
}

/** One run of a row (or reference); `{ ok: false, error }` if a peer failed. */
export async function runOnce(row, secs) {
  const res = await runPair({
    sender: row.sender,
    receiver: row.receiver,
    size: row.size,
    secs,
    socketpair: row.socketpair,
    setting: row.setting,
    timeoutMs: timeoutMs(secs),
  });
  return res.ok ? { ok: true, ...extract(row, res) } : res;
}

/** A short C reference run of `kind` (a key of REFERENCES), at its own size if it has one; null if it failed. */
async function runReference(kind, size, secs) {
  const ref = REFERENCES[kind];
  const r = await runOnce({ metric: kind === 'rtt' ? 'rtt' : 'rate', ...ref, size: ref.size ?? size, socketpair: false }, secs);
  return r.ok ? r.value : null;
}

/** The record's `metric` for a row's kind of figure. */
export const metricName = (row) => ({ rtt: 'rtt_p50_us', bytes: 'bytes_per_s' })[row.metric] ?? 'datagrams_per_s';

/**
 * All rounds of a group of rows (one scenario and payload, or one `group`: one kind of C reference),
 * interleaved: each round runs every row once, in order, with a short C reference run
 * before the first round and after each round. The machine's speed drifts a lot within a
 * minute, so rows compared with each other (unixgram and unix-dgram, or net) are compared
 * round by round, seconds apart, and each round with the C runs on either side of it.
 * @param group - rows with the same `ref` (and scenario and payload, or `group`)
 * @param settings - `{ rounds, secs, refSecs }`
 * @returns one record per row, in order
 */
export async function measureGroup(group, { rounds, secs, refSecs }) {
  const { ref, size } = group[0];
  const refs = [await runReference(ref, size, refSecs)];
  const state = group.map(() => ({ perRound: [], runs: [], errors: [], stopped: false }));
  for (let k = 0; k < rounds; k++) {
    for (const [j, row] of group.entries()) {
      const st = state[j];
      let r = null;
      if (!st.stopped) {
        const res = await runOnce(row, secs);
        if (res.ok) r = res;
        else st.errors.push(res.error);
        // A row whose first round fails (a hang, a crash) is not tried again; a later
        // failure after a success gets one more chance.
        if (st.errors.length >= (st.runs.length || r ? 2 : 1)) st.stopped = true;
      }
      if (r) st.runs.push(r);
      st.perRound.push(r);
    }
    refs.push(await runReference(ref, size, refSecs));
  }
  return group.map((row, j) => record(row, state[j], rounds, refs));
}

function record(row, { perRound, runs, errors }, rounds, refs) {
  const value = median(runs.map((r) => r.value));
  const cpuRx = median(runs.map((r) => r.cpuRx).filter((x) => x !== null));
  const cpuTx = median(runs.map((r) => r.cpuTx).filter((x) => x !== null));
  const values = perRound.map((r) => (r ? round(r.value, 2) : null));
  const cPerRound = perRound.map((_, k) => cAround(refs, k));
  return {
    scenario: row.scenario,
    payload: row.payload,
    library: row.library,
    metric: metricName(row),
    median: round(value, row.metric === 'rtt' ? 2 : 0),
    p99_us: row.metric === 'rtt' ? round(median(runs.map((r) => r.p99)), 2) : undefined,
    ratio_to_c: round(pairedRatio(values, cPerRound), 3),
    ratio_to_unix_dgram: null, // filled in once every row of the group is measured
    cpu_us_per_datagram: round(row.measured === 'send' ? cpuTx : cpuRx, 2),
    cpu_us_rx: round(cpuRx, 2),
    cpu_us_tx: round(cpuTx, 2),
    peak_rss_mb: runs.length ? round(Math.max(...runs.map((r) => r.rssKb)) / 1024, 1) : null,
    rss_values_mb: perRound.map((r) => (r ? round(r.rssKb / 1024, 1) : null)),
    rounds: runs.length,
    values,
    // Lossy rows (UDP): the share of what was sent that did not arrive, in %, per round and
    // its median.
    loss_pct: row.lossy ? round(median(runs.map(lossPct)), 2) : undefined,
    loss_values: row.lossy ? perRound.map((r) => (r ? round(lossPct(r), 2) : null)) : undefined,
    c_refs: refs.map((x) => round(x, 2)),
    status: runs.length === 0 ? 'failed' : errors.length ? 'partial' : 'ok',
    notes: notesFor(row, runs, errors, rounds),
    udRow: row.udRow,
  };
}

const lossPct = (r) => (r.sent ? ((r.sent - Math.min(r.received, r.sent)) / r.sent) * 100 : 0);
const mib = (bytes) => `${(bytes / (1 << 20)).toFixed(bytes % (1 << 20) ? 2 : 0)} MiB`;

function notesFor(row, runs, errors, rounds) {
  const notes = row.note ? [row.note] : [];
  if (errors.length)
    notes.push(
      `${errors.length} of ${runs.length + errors.length} rounds failed: ${errors[0]}${runs.length + errors.length < rounds ? ' (stopped)' : ''}`,
    );
  const sent = runs.reduce((a, r) => a + r.sent, 0);
  const received = runs.reduce((a, r) => a + r.received, 0);
  if (row.metric !== 'rtt' && !row.lossy && sent > received)
    notes.push(`lost ${(((sent - received) / sent) * 100).toFixed(1)}% of what was sent`);
  const truncated = runs.reduce((a, r) => a + r.truncated, 0);
  if (truncated) notes.push(`${truncated} of ${received} datagrams arrived shorter than the ${row.size} B sent (silent truncation)`);
  const rcvbufs = [...new Set(runs.map((r) => r.rcvbuf).filter((x) => x !== null && x !== undefined))];
  if (rcvbufs.length) notes.push(`SO_RCVBUF from the kernel: ${rcvbufs.map(mib).join(', ')}`);
  const drops = runs.filter((r) => r.drops !== null && r.drops !== undefined);
  if (drops.length)
    notes.push(
      `kernel counted ${drops.reduce((a, r) => a + r.drops, 0)} drops (SO_RXQ_OVFL, one per dropped skb: a GSO burst counts once) of ${drops.reduce((a, r) => a + r.sent - r.received, 0)} lost`,
    );
  const mode = runs.find((r) => r.mode)?.mode;
  if (mode) notes.push(mode);
  if (row.metric === 'bytes' && runs.length) notes.push(`${Math.round(median(runs.map((r) => r.value)) / row.size)} × ${row.payload}/s`);
  if (row.library.includes('sendPackets')) notes.push(`batches of ${row.sender.args[row.sender.args.indexOf('--batch') + 1]}`);
  return notes;
}

/**
 * Ratios to the row each row is compared with (`udRow`: the unix-dgram row of the same
 * scenario and payload, or in issue 20's groups the dgram row, or the SOCK_DGRAM socketpair
 * row with the same send call), round by round. Against unix-dgram: `ratio_to_unix_dgram`;
 * against another row: `ratio_to_row`, that row's name in `compared_with`.
 */
export function fillUnixDgramRatios(records) {
  for (const rec of records) {
    if (!rec.udRow) continue;
    const other = records.find((r) => r.scenario === rec.scenario && r.payload === rec.payload && r.library === rec.udRow);
    const ratio = other?.median && rec.median !== null ? round(pairedRatio(rec.values, other.values), 3) : null;
    if (rec.udRow.startsWith('unix-dgram')) rec.ratio_to_unix_dgram = ratio;
    else Object.assign(rec, { ratio_to_row: ratio, compared_with: rec.udRow });
  }
  for (const rec of records) delete rec.udRow;
}
