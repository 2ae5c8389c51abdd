// `unixgram bench` from an installed package: a project whose node_modules holds unixgram as npm
// installs it (what package.json's "files" ships, the TypeScript compiled afresh, no bench/ from
// the repository) and the platform package with the binary. The benchmark runs there, as a
// user who may not write into it, with a tiny time per measurement; the test checks the shape of
// what it prints (never a timing) and that no file in the project changed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';

import { cli, finished } from './fixtures/cli-process.js';
import { REPO_ROOT } from './helpers.js';

const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
const PLATFORM = `${process.platform}-${process.arch}${process.platform === 'linux' ? (glibc ? '-gnu' : '-musl') : ''}`;
const BINARY = path.join(REPO_ROOT, `unixgram.${PLATFORM}.node`);
const NOBODY = 65534;
const asUser = process.getuid?.() === 0 ? NOBODY : undefined;

/** A project with unixgram and its platform package installed, readable (not writable) by everyone. */
function installedProject(t: ExecutionContext): { project: string; bin: string } {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'unixgram-bench-'));
  t.teardown(() => fs.rmSync(project, { recursive: true, force: true }));
  const pkg = path.join(project, 'node_modules', 'unixgram');
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { files: string[] };
  fs.mkdirSync(pkg, { recursive: true });
  fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(pkg, 'package.json'));
  for (const entry of manifest.files) {
    if (entry !== 'dist') fs.cpSync(path.join(REPO_ROOT, entry), path.join(pkg, entry), { recursive: true });
  }
  // dist/ as the current sources build it (the ES-module build is what bin/ runs).
  execFileSync(
    process.execPath,
    [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', path.join(pkg, 'dist')],
    {
      cwd: REPO_ROOT,
      stdio: 'pipe',
    },
  );
  const platformPkg = path.join(project, 'node_modules', `unixgram-${PLATFORM}`);
  fs.cpSync(path.join(REPO_ROOT, 'npm', PLATFORM), platformPkg, { recursive: true });
  fs.copyFileSync(BINARY, path.join(platformPkg, path.basename(BINARY)));
  fs.chmodSync(project, 0o755);
  return { project, bin: path.join(pkg, 'bin', 'unixgram.mjs') };
}

/** Every file and directory under `dir` with its size and modification time. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    const st = fs.lstatSync(full);
    out[path.relative(dir, full)] = `${st.mode} ${st.size} ${st.mtimeMs}`;
  }
  return out;
}

const benchTest = fs.existsSync(BINARY) || process.env.CI ? test : test.skip;

benchTest('unixgram bench runs from an installed package, says what it does as it goes, and writes nothing there', async (t) => {
  t.timeout(120_000);
  const { project, bin } = installedProject(t);
  t.false(fs.existsSync(path.join(project, 'node_modules', 'unixgram', 'bench')), 'no bench/ from the repository');
  const before = snapshot(project);
  const options = { launcher: [bin], cwd: project, ...(asUser === undefined ? {} : { uid: asUser }) };

  const json = cli(t, ['bench', '--seconds', '0.05', '--json'], options);
  t.is(await finished(json), 0, json.stderr);
  t.regex(
    json.stderr,
    /^unixgram bench: 3 measurements of 0\.05 s each, about [\d.]+ s in all\n {2}\[1\/3\] 64 B, sendPackets → iterReceivedPackets … [^\n]+ datagrams\/s \([\d ]+ in [\d.]+ s\)\n {2}\[2\/3\] 1 KiB, [^\n]+\n {2}\[3\/3\] 64 B round trip, [^\n]+ … p50 [\d.]+ µs, p99 [\d.]+ µs \([\d ]+ round trips\)\nunixgram bench: done in [\d.]+ s\n$/,
  );
  const report = JSON.parse(json.stdout) as {
    unixgram: string;
    setting: string;
    machine: string;
    secondsEach: number;
    results: Array<Record<string, unknown>>;
  };
  t.regex(report.setting, /^a socketpair, unixgram at both ends/);
  t.is(report.secondsEach, 0.05);
  t.deepEqual(
    report.results.map((r) => [r.kind, r.size]),
    [
      ['throughput', 64],
      ['throughput', 1024],
      ['round trip', 64],
    ],
  );
  for (const r of report.results) {
    if (r.kind === 'throughput') {
      t.true(Number.isInteger(r.datagrams) && (r.datagrams as number) > 0, JSON.stringify(r));
      t.true((r.rate as number) > 0 && (r.bytesPerSecond as number) > 0, JSON.stringify(r));
    } else {
      t.true(Number.isInteger(r.roundTrips) && (r.roundTrips as number) > 0, JSON.stringify(r));
      t.true((r.p50Us as number) > 0 && (r.p99Us as number) >= (r.p50Us as number), JSON.stringify(r));
    }
  }

  const table = cli(t, ['bench', '--seconds', '0.05'], options);
  t.is(await finished(table), 0, table.stderr);
  const lines = table.stdout.split('\n');
  t.regex(lines[0] ?? '', /^unixgram \d+\.\d+\.\d+\S* on this machine: linux \w+, \d+ CPUs/);
  t.regex(lines[1] ?? '', /^Setting: a socketpair, unixgram at both ends: this process sends, a child node process receives \(or echoes\)/);
  t.regex(lines[3] ?? '', /^ {2}64 B, sendPackets → iterReceivedPackets +[\d ]+ datagrams +[\d.]+ [kM]? ?datagrams\/s +[\d.]+ MB\/s$/);
  t.regex(lines[4] ?? '', /^ {2}1 KiB, sendPackets → iterReceivedPackets +[\d ]+ datagrams +[\d.]+ [kM]? ?datagrams\/s +[\d.]+ MB\/s$/);
  t.regex(lines[5] ?? '', /^ {2}64 B round trip, sendPacket \+ recvPacket ↔ echo +[\d ]+ round trips +p50 [\d.]+ µs +p99 [\d.]+ µs$/);
  t.regex(table.stdout, /'npm run bench' compares it\nwith C and with other Node packages/);

  t.deepEqual(snapshot(project), before, 'no file in the project was written, added or removed');
});

test('bench usage errors', async (t) => {
  const cases = [
    ['bench', 'now'],
    ['bench', '--seconds', '0'],
    ['bench', '--quick', '--seconds', '1'],
  ];
  const runs = cases.map((args) => cli(t, args));
  const codes = await Promise.all(runs.map(finished));
  for (const [i, args] of cases.entries()) {
    t.is(codes[i], 2, args.join(' '));
    t.regex(runs[i]?.stderr ?? '', /^unixgram: [^\n]+; see 'unixgram --help'\n$/, args.join(' '));
  }
});
