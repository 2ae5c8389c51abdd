// The memory target: 5 M datagrams into a unixgram receiver; RSS after the first 100 000 and
// at the end, open descriptors before, during and after.
import { runPair } from './pair.mjs';
import { REFERENCES } from './scenarios.mjs';
import { join } from 'node:path';
import { BENCH_DIR } from './setup.mjs';
import { round } from './stats.mjs';

export const MEMORY_DATAGRAMS = 5_000_000;

export async function measureMemory(count = MEMORY_DATAGRAMS) {
  const receiver = { name: 'unixgram-recv.mjs', cmd: process.execPath, args: [join(BENCH_DIR, 'peers', 'unixgram-recv.mjs'), '--memory'] };
  const res = await runPair({ sender: REFERENCES.dgram.sender, receiver, size: 64, count, timeoutMs: 240_000 });
  const base = { scenario: 'memory', payload: '64 B', library: 'unixgram', metric: 'rss_growth_mb', rounds: 1 };
  if (!res.ok) return { ...base, median: null, status: 'failed', notes: [res.error] };
  const r = res.recv;
  const growth = (r.rss_end_kb - r.rss_warm_kb) / 1024;
  const fdLeak = r.fds_after_close !== r.fds_before || r.fds_open_end !== r.fds_warm;
  return {
    ...base,
    median: round(growth, 1),
    received: r.count,
    rate: round(r.count / r.elapsed, 0),
    rss_warm_mb: round(r.rss_warm_kb / 1024, 1),
    rss_end_mb: round(r.rss_end_kb / 1024, 1),
    rss_growth_mb: round(growth, 1),
    peak_rss_mb: round(r.hwm_kb / 1024, 1),
    fds_before: r.fds_before,
    fds_warm: r.fds_warm,
    fds_open_end: r.fds_open_end,
    fds_after_close: r.fds_after_close,
    fd_leak: fdLeak,
    status: 'ok',
    notes: r.count === count ? [] : [`received ${r.count} of ${count}`],
  };
}
