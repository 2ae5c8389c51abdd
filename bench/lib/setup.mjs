// Before measuring: the competitors installed in bench/node_modules (outside the library's
// dependency tree), unixgram's dist/ built, the C peers compiled into bench/build/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const ROOT_DIR = dirname(BENCH_DIR);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, ...opts });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  return { ok: r.status === 0, out: r.error ? r.error.message : out };
}

const tail = (text) =>
  text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('npm warn'))
    .slice(-3)
    .join(' | ')
    .slice(0, 400);

/** npm ci (npm install if that fails) in bench/ when node_modules is missing. */
export function ensureCompetitors(log) {
  if (existsSync(join(BENCH_DIR, 'node_modules'))) return null;
  log('installing the competitors into bench/node_modules (npm ci --prefix bench) ...');
  let r = run('npm', ['ci', '--prefix', BENCH_DIR, '--no-audit', '--no-fund']);
  if (!r.ok) r = run('npm', ['install', '--prefix', BENCH_DIR, '--no-audit', '--no-fund']);
  return r.ok ? null : `npm ci in bench/ failed: ${tail(r.out)}`;
}

/** Whether a competitor package loads; an error string if not. */
export function checkLoads(pkg) {
  const r = run(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(pkg)})`], {
    cwd: BENCH_DIR,
    timeout: 30_000,
  });
  return r.ok ? null : `${pkg} does not load: ${tail(r.out)}`;
}

/** npm run build when dist/ is missing. */
export function ensureDist(log) {
  if (existsSync(join(ROOT_DIR, 'dist', 'index.js'))) return;
  log('dist/ missing: npm run build ...');
  const r = run('npm', ['run', 'build'], { cwd: ROOT_DIR, timeout: 600_000 });
  if (!r.ok) throw new Error(`npm run build failed: ${tail(r.out)}`);
}

/** cc -O2 every bench/c/*.c into bench/build/<name>. */
export function buildC(log) {
  const out = join(BENCH_DIR, 'build');
  mkdirSync(out, { recursive: true });
  const cc = process.env.CC || 'cc';
  for (const file of readdirSync(join(BENCH_DIR, 'c')).filter((f) => f.endsWith('.c'))) {
    const r = run(cc, ['-O2', '-Wall', '-o', join(out, file.slice(0, -2)), join(BENCH_DIR, 'c', file)]);
    if (!r.ok) throw new Error(`${cc} ${file} failed: ${tail(r.out)}`);
  }
  log(`built the C peers with ${cc} -O2`);
}
