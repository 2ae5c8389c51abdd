/**
 * @internal `unixgram bench`: a short, self-contained benchmark of unixgram on this machine
 * (no clone needed, no file written): throughput at 64 B and 1 KiB, and a 64 B round trip.
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { BATCH, measureRoundTrip, measureThroughput, type RoundTrip, type Throughput } from './bench-run.js';
import type { Io } from './io.js';
import { BENCH_HELP, UsageError, asUsage, seconds as secondsOption } from './usage.js';

/** Seconds per measurement, by default and with `--quick`. */
const DEFAULT_SECONDS = 3;
const QUICK_SECONDS = 1;
/** About what starting the child processes adds to a run, for the estimate. */
const OVERHEAD_SECONDS = 1;

interface Step {
  readonly title: string;
  run(seconds: number): Promise<Throughput | RoundTrip>;
}

const STEPS: readonly Step[] = [
  { title: '64 B, sendPackets → iterReceivedPackets', run: (s) => measureThroughput(64, s) },
  { title: '1 KiB, sendPackets → iterReceivedPackets', run: (s) => measureThroughput(1024, s) },
  { title: '64 B round trip, sendPacket + recvPacket ↔ echo', run: (s) => measureRoundTrip(64, s) },
];

const SETTING =
  'a socketpair, unixgram at both ends: this process sends, a child node process receives (or echoes); ' +
  `sendPackets sends ${BATCH} datagrams per call`;

/**
 * Run `unixgram bench`.
 * @param args - the arguments after `bench`
 * @param io - output streams: progress on stderr, the table (or JSON) on stdout
 * @param root - the package root (for the version)
 * @returns the exit code
 */
export async function bench(args: string[], io: Io, root: string): Promise<number> {
  const { values, positionals } = asUsage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        quick: { type: 'boolean' },
        seconds: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) {
    io.stdout.write(BENCH_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`bench takes no arguments, got: ${positionals.join(' ')}`);
  if (values.quick && values.seconds !== undefined) throw new UsageError('--quick and --seconds exclude each other');
  const each = secondsOption('seconds', values.seconds) ?? (values.quick ? QUICK_SECONDS : DEFAULT_SECONDS);

  const estimate = STEPS.length * each + OVERHEAD_SECONDS;
  io.stderr.write(`unixgram bench: ${STEPS.length} measurements of ${each} s each, about ${formatSeconds(estimate)} in all\n`);
  const started = performance.now();
  const results: Array<Throughput | RoundTrip> = [];
  for (const [i, step] of STEPS.entries()) {
    io.stderr.write(`  [${i + 1}/${STEPS.length}] ${step.title} … `);
    const result = await step.run(each);
    results.push(result);
    io.stderr.write(`${summary(result)}\n`);
  }
  const elapsed = (performance.now() - started) / 1000;
  io.stderr.write(`unixgram bench: done in ${formatSeconds(elapsed)}\n`);

  const version = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;
  const machine = `${os.platform()} ${os.arch()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}`;
  if (values.json) {
    io.stdout.write(
      `${JSON.stringify({ unixgram: version, setting: SETTING, machine, secondsEach: each, elapsedSeconds: elapsed, results }, null, 2)}\n`,
    );
  } else {
    io.stdout.write(table(version, machine, results));
  }
  return 0;
}

/** The table printed at the end. */
function table(version: string, machine: string, results: ReadonlyArray<Throughput | RoundTrip>): string {
  const rows = results.map((r, i) => {
    const what = STEPS[i]?.title ?? '';
    return r.kind === 'throughput'
      ? [what, `${group(r.datagrams)} datagrams`, `${formatRate(r.rate)} datagrams/s`, `${(r.bytesPerSecond / 1e6).toFixed(1)} MB/s`]
      : [what, `${group(r.roundTrips)} round trips`, `p50 ${r.p50Us.toFixed(1)} µs`, `p99 ${r.p99Us.toFixed(1)} µs`];
  });
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((row) => row[c]?.length ?? 0)));
  const lines = rows.map(
    (row) =>
      `  ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[0] ?? 0) : c < 3 ? cell.padStart(widths[c] ?? 0) : cell)).join('   ')}`,
  );
  return [
    `unixgram ${version} on this machine: ${machine}`,
    `Setting: ${SETTING}.`,
    '',
    ...lines,
    '',
    "Only unixgram is measured here. In a clone of the repository, 'npm run bench' compares it",
    'with C and with other Node packages (unix-dgram, node-unix-socket, net, dgram).',
    '',
  ].join('\n');
}

/** One measurement in a few words, for the progress line. */
function summary(r: Throughput | RoundTrip): string {
  return r.kind === 'throughput'
    ? `${formatRate(r.rate)} datagrams/s (${group(r.datagrams)} in ${r.seconds.toFixed(2)} s)`
    : `p50 ${r.p50Us.toFixed(1)} µs, p99 ${r.p99Us.toFixed(1)} µs (${group(r.roundTrips)} round trips)`;
}

/** `1.23 M`, `456 k`, `789`. */
function formatRate(rate: number): string {
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)} M`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(0)} k`;
  return rate.toFixed(0);
}

/** `1 234 567`: digits in groups of three. */
function group(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+$)/g, ' ');
}

/** `10 s`, `2.5 s`, `0.15 s`. */
function formatSeconds(s: number): string {
  return `${s >= 10 ? s.toFixed(0) : s >= 1 ? s.toFixed(1) : s.toFixed(2)} s`;
}
