#!/usr/bin/env node
// `npm run bench [-- --quick | --memory | --only REGEX | --rounds N | --secs S | --qlen N]`
// Sender and receiver in separate processes pinned to CPUs 0 and 1; the rows of a scenario
// and payload run their rounds interleaved, with a short C run between rounds; ratios are
// medians of round-by-round ratios (to those C runs, and to unix-dgram's same round).
// Prints a Markdown table and writes bench/results/latest.json. See bench/README.md.
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, ROOT_DIR, ensureCompetitors, checkLoads, ensureDist, buildC } from './lib/setup.mjs';
import { rows, PAYLOADS } from './lib/scenarios.mjs';
import { measureGroup, fillUnixDgramRatios, metricName } from './lib/measure.mjs';
import { measureMemory } from './lib/memory.mjs';

const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes('--quick');
// --qlen N: run with net.unix.max_dgram_qlen = N (root; restored at the end), to show what
// lifts the queue of a bound receiver (bench/README.md). Sockets take the value when created.
const qlen = opt('--qlen');
if (qlen !== undefined) {
  const file = '/proc/sys/net/unix/max_dgram_qlen';
  const before = readFileSync(file, 'utf8').trim();
  writeFileSync(file, `${Number(qlen)}\n`);
  process.on('exit', () => writeFileSync(file, `${before}\n`));
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
}
// After --qlen: the tables' titles read the queue length when loaded.
const { table, memoryLine } = await import('./lib/report.mjs');
const memoryOnly = argv.includes('--memory');
const only = opt('--only') ? new RegExp(opt('--only'), 'i') : null;
const settings = {
  rounds: Number(opt('--rounds') ?? (quick ? 3 : 5)),
  secs: Number(opt('--secs') ?? (quick ? 0.7 : 1)),
  refSecs: quick ? 0.3 : 0.4,
  payloads: quick ? ['64 B'] : Object.keys(PAYLOADS),
};
const log = (msg) => process.stderr.write(`${msg}\n`);
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

// Set-up: a competitor that cannot be installed or loaded fails its rows, not the run.
const broken = {};
const installError = ensureCompetitors(log);
for (const [pkg, label] of [
  ['unix-dgram', 'unix-dgram'],
  ['node-unix-socket', 'node-unix-socket'],
]) {
  const err = installError ?? checkLoads(pkg);
  if (err) broken[label] = err;
}
ensureDist(log);
buildC(log);

const brokenLib = (row) => Object.keys(broken).find((k) => row.library.startsWith(k));
const records = [];
let memory = null;
if (!memoryOnly) {
  let list = await rows(settings.payloads);
  if (only) list = list.filter((r) => only.test(`${r.scenario} ${r.payload} ${r.library}`));
  // Rows of one scenario and payload (or of one `group`) are measured together, their
  // rounds interleaved.
  const groupOf = (row) => row.group ?? `${row.scenario} ${row.payload}`;
  const groups = [];
  for (const row of list) {
    const last = groups.at(-1);
    if (last && groupOf(last[0]) === groupOf(row)) last.push(row);
    else groups.push([row]);
  }
  for (const group of groups) {
    const runnable = group.filter((row) => !brokenLib(row));
    const measured = runnable.length ? await measureGroup(runnable, settings) : [];
    for (const row of group) {
      const lib = brokenLib(row);
      const rec = lib ? failedRecord(row, broken[lib]) : measured[runnable.indexOf(row)];
      records.push(rec);
      log(`[${records.length}/${list.length}] ${row.scenario} ${row.payload} ${row.library}: ${summary(rec)} (${elapsed()})`);
    }
  }
  fillUnixDgramRatios(records);
}
if (memoryOnly || (!quick && !only)) {
  log('memory: 5 M datagrams, C sender -> unixgram receiver ...');
  memory = await measureMemory();
}

const result = {
  generated: new Date().toISOString(),
  command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
  settings,
  machine: machine(),
  rows: memory ? [...records, memory] : records,
};
const outDir = join(BENCH_DIR, 'results');
mkdirSync(outDir, { recursive: true });
const outFile = join(outDir, only || memoryOnly ? 'partial.json' : 'latest.json');
writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');

process.stdout.write(`\n${table(records)}\n${memoryLine(memory)}\n`);
log(`\nwrote ${outFile} in ${elapsed()}`);

function summary(rec) {
  if (rec.status === 'failed') return `failed: ${rec.notes.join('; ')}`;
  const v =
    rec.metric === 'rtt_p50_us'
      ? `p50 ${rec.median} µs`
      : rec.metric === 'bytes_per_s'
        ? `${Math.round(rec.median / 1e6)} MB/s`
        : `${Math.round(rec.median / 1000)} k/s`;
  return `${v}, ${rec.ratio_to_c ?? '?'}× C${rec.notes.length ? ` [${rec.notes.join('; ')}]` : ''}`;
}

function failedRecord(row, why) {
  return {
    scenario: row.scenario,
    payload: row.payload,
    library: row.library,
    metric: metricName(row),
    median: null,
    ratio_to_c: null,
    ratio_to_unix_dgram: null,
    cpu_us_per_datagram: null,
    cpu_us_rx: null,
    cpu_us_tx: null,
    peak_rss_mb: null,
    rss_values_mb: [],
    rounds: 0,
    values: [],
    c_refs: [],
    status: 'failed',
    notes: [why],
    udRow: row.udRow,
  };
}

function machine() {
  const sh = (cmd) => {
    try {
      return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const version = (pkg) => {
    try {
      return JSON.parse(readFileSync(join(BENCH_DIR, 'node_modules', pkg, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  return {
    node: process.version,
    kernel: os.release(),
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model,
    max_dgram_qlen: Number(sh('cat /proc/sys/net/unix/max_dgram_qlen')),
    // What bounds the UDP rows' SO_RCVBUF (Linux grants up to 2 × rmem_max) and loopback's backlog.
    rmem_max: Number(sh('cat /proc/sys/net/core/rmem_max')),
    netdev_max_backlog: Number(sh('cat /proc/sys/net/core/netdev_max_backlog')),
    cc: sh(`${process.env.CC || 'cc'} --version`)?.split('\n')[0],
    unixgram_commit: sh(`git -C ${ROOT_DIR} rev-parse --short HEAD`),
    unixgram_dirty: Boolean(sh(`git -C ${ROOT_DIR} status --porcelain -- src crates`)),
    'unix-dgram': version('unix-dgram'),
    'node-unix-socket': version('node-unix-socket'),
  };
}
