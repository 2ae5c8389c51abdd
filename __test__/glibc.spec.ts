// The linux glibc binary's baseline: the highest GLIBC_ symbol version it needs, read by
// scripts/check-glibc.mjs (objdump -T). A release build (napi build --use-napi-cross) links
// against glibc 2.17; a build from a clone links against the build machine's glibc.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './helpers.js';

interface GlibcReport {
  file: string;
  highest: string | null;
  versions: string[];
  napiCross: boolean;
}

/** The binary the loader uses in this run: the override the loader honours, or the one built into the repo. */
const binary = process.env.NAPI_RS_NATIVE_LIBRARY_PATH ?? path.join(REPO_ROOT, `unixgram.linux-${process.arch}-gnu.node`);
const runtimeGlibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
const isGnu = process.platform === 'linux' && runtimeGlibc !== undefined;

function check(file: string, ...args: string[]): { report: GlibcReport; status: number } {
  const script = path.join(REPO_ROOT, 'scripts', 'check-glibc.mjs');
  try {
    const out = execFileSync(process.execPath, [script, file, '--json', ...args], { encoding: 'utf8' });
    return { report: JSON.parse(out) as GlibcReport, status: 0 };
  } catch (err) {
    const { stdout, status } = err as { stdout: string; status: number };
    return { report: JSON.parse(stdout) as GlibcReport, status };
  }
}

function compare(a: string, b: string): number {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const gnuTest = isGnu && fs.existsSync(binary) ? test : test.skip;

gnuTest('the binary needs no newer glibc than the machine it was built and runs on', (t) => {
  const { report } = check(binary);
  t.truthy(report.highest, `no GLIBC_ versions found in ${binary}`);
  t.true(report.versions.length >= 3, report.versions.join(', '));
  t.true(compare(report.highest ?? '0', runtimeGlibc ?? '0') <= 0, `needs ${report.highest}, runs on ${runtimeGlibc}`);
  t.log(`${path.basename(binary)} needs glibc ${report.highest}${report.napiCross ? ' (napi-cross)' : ''}`);
});

gnuTest('a napi-cross build needs at most glibc 2.17', (t) => {
  const { report, status } = check(binary, '--max', '2.17');
  if (!report.napiCross && process.env.UNIXGRAM_EXPECT_NAPI_CROSS !== '1') {
    // A build from a clone uses the host's compiler: only the check above applies.
    t.pass(`not a napi-cross build (needs glibc ${report.highest}); the release workflow sets UNIXGRAM_EXPECT_NAPI_CROSS=1`);
    return;
  }
  t.true(report.napiCross, 'linked by the crosstool-NG toolchain of @napi-rs/cross-toolchain');
  t.true(compare(report.highest ?? '0', '2.17') <= 0, `needs ${report.highest}`);
  t.is(status, 0);
});

test('check-glibc --max fails when the binary needs a newer glibc', (t) => {
  if (!isGnu || !fs.existsSync(binary)) return t.pass('no linux glibc binary here');
  const { report } = check(binary);
  const below = report.versions.at(-2) ?? '2.0';
  const { status } = check(binary, '--max', below);
  t.is(status, 1, `needs ${report.highest}, --max ${below}`);
});
