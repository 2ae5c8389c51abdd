// bench/check-targets.mjs on a results file made up here: the verdicts come from the median
// ratios, and "met in k of n rounds" counts the rounds (paired with the C runs on either side,
// or with another row of the same round) that meet each bar. No timing is measured.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { REPO_ROOT, tempDir } from './helpers.js';

interface Row {
  scenario: string;
  payload: string;
  library: string;
  median: number;
  values: number[];
  c_refs: number[];
  ratio_to_c?: number;
  ratio_to_unix_dgram?: number;
  peak_rss_mb?: number;
  rss_values_mb?: number[];
  cpu_us_tx?: number;
}

const row = (scenario: string, payload: string, library: string, values: number[], extra: Partial<Row> = {}): Row => ({
  scenario,
  payload,
  library,
  median: [...values].sort((a, b) => a - b)[values.length >> 1] as number,
  values,
  c_refs: [10, 10, 12, 12],
  ...extra,
});

function checkTargets(t: ExecutionContext, rows: Row[]): string[] {
  const file = join(tempDir(t), 'results.json');
  writeFileSync(file, JSON.stringify({ rows }));
  const out = execFileSync(process.execPath, [join(REPO_ROOT, 'bench/check-targets.mjs'), file], { encoding: 'utf8' });
  return out.trim().split('\n');
}

const line = (lines: string[], name: string): string => lines.find((l) => l.includes(name)) ?? `no line for ${name}`;

test('check-targets: a ratio target counts the rounds that meet its bar', (t) => {
  // Per round against C (10, 11, 12 from the runs on either side): 1.00, 0.73, 0.83.
  // Against unix-dgram (4, 4, 4): 2.5, 2.0, 2.5.
  const lines = checkTargets(t, [
    row('recv', '64 B', 'unixgram', [10, 8, 10], { ratio_to_c: 0.833, ratio_to_unix_dgram: 2.5 }),
    row('recv', '64 B', 'unix-dgram', [4, 4, 4]),
  ]);
  t.regex(line(lines, '≥ 0.8× C'), /^PASS .*0\.83×, met in 2 of 3 rounds/);
  t.regex(line(lines, '≥ 2.5× unix-dgram'), /^PASS .*2\.50×, met in 2 of 3 rounds/);
  t.regex(line(lines, 'Node → Node 64 B, unixgram: ≥ 1.5× net'), /^n\/a /);
});

test('check-targets: Node → Node against net, with the C socketpair and the floor in the same rounds', (t) => {
  const lines = checkTargets(t, [
    row('node-node', '64 B', 'unixgram sendPacket', [150, 140, 160]),
    row('node-node', '64 B', 'net (unix stream, framed)', [100, 100, 100]),
    row('node-node', '64 B', 'C → C (socketpair, recvmmsg)', [200, 140, 160]),
    row('node-node', '64 B', 'C → bare binding (receiver floor)', [180, 120, 150]),
  ]);
  const nn = line(lines, '≥ 1.5× net');
  t.regex(nn, /^PASS .*1\.50×, met in 2 of 3 rounds/);
  t.regex(nn, /C → C ≥ 1\.5× net in 2 of 3 rounds/);
  t.regex(nn, /≥ 1\.5× in 2 of 3 rounds\)$/);
});

test('check-targets: the round trip is compared with the fastest alternative of each round', (t) => {
  // Fastest alternative per round: 11, 10, 11 (net in round 2); unixgram 10, 10.5, 9: faster in
  // rounds 1 and 3 (in all three against unix-dgram alone).
  const lines = checkTargets(t, [
    row('rtt', '64 B', 'unixgram', [10, 10.5, 9], { ratio_to_c: 0.91 }),
    row('rtt', '64 B', 'unix-dgram', [11, 11, 11]),
    row('rtt', '64 B', 'net (unix stream, framed)', [13, 10, 13]),
    row('rtt', '64 B', 'C (epoll)', [5, 5, 5]),
  ]);
  t.regex(line(lines, 'faster than every Node option'), /^PASS .*10 µs vs unix-dgram 11 µs, faster in 2 of 3 rounds/);
  // Against C per round (10, 11, 12): 1.0, 0.95, 0.75, all ≤ 1.2.
  t.regex(line(lines, '≤ 1.2× C'), /^PASS .*0\.91×, met in 3 of 3 rounds/);
});

test('check-targets: a median under the bar fails even when some rounds meet it', (t) => {
  // Per round against unix-dgram: 1.1, 0.9, 0.95: median 0.95.
  const lines = checkTargets(t, [
    row('send', '64 B', 'unixgram sendPacket', [110, 90, 95], { ratio_to_unix_dgram: 0.95 }),
    row('send', '64 B', 'unix-dgram', [100, 100, 100]),
  ]);
  t.regex(line(lines, 'sendPacket loop'), /^FAIL .*0\.95×, met in 1 of 3 rounds/);
});

test('check-targets: Node → Node without a unixgram row is n/a, with net and the C socketpair present', (t) => {
  const lines = checkTargets(t, [
    row('node-node', '64 B', 'net (unix stream, framed)', [100, 100, 100]),
    row('node-node', '64 B', 'C → C (socketpair, recvmmsg)', [200, 140, 160]),
  ]);
  t.regex(line(lines, '≥ 1.5× net'), /^n\/a .*row missing or failed/);
});

test("check-targets: issue 18's receive 64 KiB in both settings, and Node → Node against the C socketpair", (t) => {
  const lines = checkTargets(t, [
    // Against C per round (10, 11, 12): 0.9, 0.73, 0.83; against unix-dgram: 1.5, 1.33, 1.25.
    row('recv', '64 KiB', 'unixgram', [9, 8, 10], { ratio_to_c: 0.833, ratio_to_unix_dgram: 1.333 }),
    row('recv', '64 KiB', 'unix-dgram', [6, 6, 8]),
    // Bound, not connected: 1.0, 1.0, 1.0 against C; 1.0, 1.1, 1.2 against unix-dgram.
    row('recv-bound', '64 KiB', 'unixgram endpoint (iterator)', [10, 11, 12], { ratio_to_c: 1, ratio_to_unix_dgram: 1.1 }),
    row('recv-bound', '64 KiB', 'C (epoll+recv)', [10, 11, 12]),
    row('recv-bound', '64 KiB', 'unix-dgram', [10, 10, 10]),
    // The faster unixgram row (sendPacket) against the socketpair: 0.8, 0.7, 0.9.
    row('node-node', '64 KiB', 'unixgram sendPacket', [80, 70, 90]),
    row('node-node', '64 KiB', 'unixgram sendPackets', [60, 60, 60]),
    row('node-node', '64 KiB', 'C → C (socketpair, recvmmsg)', [100, 100, 100]),
  ]);
  t.regex(line(lines, 'receiver connected to its sender: ≥ 0.85× C'), /^FAIL .*0\.83×, met in 1 of 3 rounds/);
  t.regex(line(lines, 'receiver connected to its sender: ≥ 1.3× unix-dgram'), /^PASS .*1\.33×, met in 2 of 3 rounds/);
  const bound = 'Receive 64 KiB, bound unconnected receiver, one bound C sender: unixgram endpoint (iterator)';
  t.regex(line(lines, `${bound} ≥ 0.85× C`), /^PASS .*1\.00×, met in 3 of 3 rounds; 1\.00× the C \(epoll\+recv\) row/);
  t.regex(line(lines, `${bound} ≥ 1.3× unix-dgram`), /^FAIL .*1\.10×, met in 0 of 3 rounds/);
  t.regex(
    line(lines, '64 KiB, bound unconnected receiver, one bound C sender: unixgram client (adopted fd, iterator) ≥ 0.85× C'),
    /^n\/a /,
  );
  t.regex(line(lines, 'Node → Node 64 KiB, unixgram: ≥ 0.8×'), /^PASS .*unixgram sendPacket: 0\.80×, met in 2 of 3 rounds/);
});

test("check-targets: issue 18's peak RSS per round, gather against concatenation, memfd against 64 KiB datagrams", (t) => {
  const MB = 1e6;
  const lines = checkTargets(t, [
    // RSS per round against unix-dgram: 1.0, 1.3, 1.1.
    row('recv', '64 KiB', 'unixgram', [9, 9, 9], { peak_rss_mb: 130, rss_values_mb: [100, 130, 110] }),
    row('recv', '64 KiB', 'unix-dgram', [6, 6, 6], { peak_rss_mb: 100, rss_values_mb: [100, 100, 100] }),
    // No per-round RSS (an older results file): the peaks, 150 against 100.
    row('recv-bound', '64 KiB', 'unixgram endpoint (iterator)', [9, 9, 9], { peak_rss_mb: 150 }),
    row('recv-bound', '64 KiB', 'unix-dgram', [6, 6, 6], { peak_rss_mb: 100 }),
    // Gathered against concatenated, per round: 1.1, 1.0, 1.2.
    row('gather', '64 B + 64 KiB', 'unixgram sendPacket([header, body]) (gather)', [22, 20, 24], { cpu_us_tx: 8 }),
    row('gather', '64 B + 64 KiB', 'unixgram sendPacket(Buffer.concat([header, body]))', [20, 20, 20], { cpu_us_tx: 9 }),
    // 16 MiB memfd against the faster 64 KiB row (sendPacket), per round: 2.5, 1.5, 3.
    row('memfd', '16 MiB', 'unixgram sendPacket → endpoint, memfd (largePayloads)', [5000 * MB, 3000 * MB, 6000 * MB]),
    row('memfd', '64 KiB', 'unixgram sendPacket → endpoint, 64 KiB datagrams', [2000 * MB, 2000 * MB, 2000 * MB]),
    row('memfd', '64 KiB', 'unixgram sendPackets → endpoint, 64 KiB datagrams', [1000 * MB, 1000 * MB, 1000 * MB]),
  ]);
  t.regex(
    line(lines, 'connected to its sender: unixgram ≤ 1.2× unix-dgram'),
    /^PASS .*1\.10×, met in 2 of 3 rounds, peak 130 MB vs 100 MB/,
  );
  t.regex(
    line(lines, 'bound unconnected receiver: unixgram endpoint (iterator) ≤ 1.2×'),
    /^FAIL .*1\.50×, peak 150 MB vs 100 MB \(the peaks of the run/,
  );
  t.regex(
    line(lines, 'Gather send of a 64 B header + 64 KiB body → C: unixgram sendPacket('),
    /^PASS .*1\.10×, met in 2 of 3 rounds; sender CPU 8 vs 9/,
  );
  t.regex(line(lines, 'Gather send of a 64 B header + 64 KiB body → C: unixgram sendPackets('), /^n\/a .*row missing or failed/);
  t.regex(
    line(lines, 'memfd: 16 MiB payloads'),
    /^PASS .*2\.50×, met in 2 of 3 rounds, 5000 MB\/s vs unixgram sendPacket → endpoint, 64 KiB datagrams 2000 MB\/s/,
  );
});
