// Measuring one row: rounds of one pair, the C references around it, and the record.
import { runPair } from './pair.mjs';
import { REFERENCES } from './scenarios.mjs';
import { median, mean, round } from './stats.mjs';

const timeoutMs = (secs) => Math.round((secs + 4) * 1000); // a hung peer costs little

/** The figures of one successful run of a row. */
function extract(row, { send, recv }) {
  if (row.metric === 'rtt') {
    return { value: send.p50_us, p99: send.p99_us, cpuTx: send.cpu_us / send.count, cpuRx: null, rssKb: recv.hwm_kb, sent: send.count, received: send.count, truncated: 0 };
  }
  return {
    value: recv.count / recv.elapsed,
    cpuRx: recv.cpu_us / recv.count,
    cpuTx: send.cpu_us / send.sent,
    rssKb: recv.hwm_kb,
    sent: send.sent,
    received: recv.count,
    truncated: recv.truncated ?? 0,
    mode: [recv.mode && `receiver ${recv.mode}`, send.mode && `sender ${send.mode}`].filter(Boolean).join(', '),
  };
}

/** One run of a row (or reference); `{ ok: false, error }` if a peer failed. */
export async function runOnce(row, secs) {
  const res = await runPair({ sender: row.sender, receiver: row.receiver, size: row.size, secs, socketpair: row.socketpair, timeoutMs: timeoutMs(secs) });
  return res.ok ? { ok: true, ...extract(row, res) } : res;
}

/** Short C reference runs; the one taken after a row is reused before the next row of the same kind. */
export class References {
  #last = null;
  constructor(secs) {
    this.secs = secs;
  }
  async #run(kind, size) {
    const ref = REFERENCES[kind];
    const r = await runOnce({ ...ref, size, socketpair: false, metric: kind === 'rtt' ? 'rtt' : 'rate' }, this.secs);
    return r.ok ? r.value : null;
  }
  async before(kind, size) {
    const key = `${kind}/${size}`;
    if (this.#last?.key === key && this.#last.value !== null) return this.#last.value;
    return this.#run(kind, size);
  }
  async after(kind, size) {
    const value = await this.#run(kind, size);
    this.#last = { key: `${kind}/${size}`, value };
    return value;
  }
}

/** All rounds of one row, bracketed by C references; returns the row's JSON record. */
export async function measureRow(row, { rounds, secs, refs }) {
  const before = await refs.before(row.ref, row.size);
  const runs = [];
  const errors = [];
  // A row whose first round fails (a hang, a crash) is not tried again; a later failure
  // after a success gets one more chance.
  for (let i = 0; i < rounds && errors.length < (runs.length ? 2 : 1); i++) {
    const r = await runOnce(row, secs);
    if (r.ok) runs.push(r);
    else errors.push(r.error);
  }
  const after = await refs.after(row.ref, row.size);
  const value = median(runs.map((r) => r.value));
  const cRef = mean([before, after].filter((x) => x !== null));
  const cpuRx = median(runs.map((r) => r.cpuRx).filter((x) => x !== null));
  const cpuTx = median(runs.map((r) => r.cpuTx).filter((x) => x !== null));
  const notes = notesFor(row, runs, errors, rounds);
  return {
    scenario: row.scenario,
    payload: row.payload,
    library: row.library,
    metric: row.metric === 'rtt' ? 'rtt_p50_us' : 'datagrams_per_s',
    median: round(value, row.metric === 'rtt' ? 2 : 0),
    p99_us: row.metric === 'rtt' ? round(median(runs.map((r) => r.p99)), 2) : undefined,
    ratio_to_c: value !== null && cRef ? round(value / cRef, 3) : null,
    ratio_to_unix_dgram: null, // filled in once every row of the run is measured
    cpu_us_per_datagram: round(row.measured === 'send' ? cpuTx : cpuRx, 2),
    cpu_us_rx: round(cpuRx, 2),
    cpu_us_tx: round(cpuTx, 2),
    peak_rss_mb: runs.length ? round(Math.max(...runs.map((r) => r.rssKb)) / 1024, 1) : null,
    rounds: runs.length,
    values: runs.map((r) => round(r.value, 2)),
    c_ref: { before: round(before, 2), after: round(after, 2) },
    status: runs.length === 0 ? 'failed' : errors.length ? 'partial' : 'ok',
    notes,
    udRow: row.udRow,
  };
}

function notesFor(row, runs, errors, rounds) {
  const notes = row.note ? [row.note] : [];
  if (errors.length) notes.push(`${errors.length} of ${runs.length + errors.length} rounds failed: ${errors[0]}${runs.length + errors.length < rounds ? ' (stopped)' : ''}`);
  const sent = runs.reduce((a, r) => a + r.sent, 0);
  const received = runs.reduce((a, r) => a + r.received, 0);
  if (row.metric === 'rate' && sent > received) notes.push(`lost ${(((sent - received) / sent) * 100).toFixed(1)}% of what was sent`);
  const truncated = runs.reduce((a, r) => a + r.truncated, 0);
  if (truncated) notes.push(`${truncated} of ${received} datagrams arrived shorter than the ${row.size} B sent (silent truncation)`);
  const mode = runs.find((r) => r.mode)?.mode;
  if (mode) notes.push(mode);
  if (row.library.includes('sendPackets')) notes.push(`batches of ${row.sender.args[row.sender.args.indexOf('--batch') + 1]}`);
  return notes;
}

/** Ratios to the unix-dgram row of the same scenario and payload. */
export function fillUnixDgramRatios(records) {
  for (const rec of records) {
    const ud = records.find((r) => r.scenario === rec.scenario && r.payload === rec.payload && r.library === rec.udRow);
    if (ud?.median && rec.median !== null) rec.ratio_to_unix_dgram = round(rec.median / ud.median, 3);
  }
  for (const rec of records) delete rec.udRow;
}
