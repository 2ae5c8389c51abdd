#!/usr/bin/env node
// The highest glibc symbol version a .node needs: the oldest glibc it loads on.
//
//   node scripts/check-glibc.mjs [file.node] [--max 2.17] [--json]
//
// Reads the dynamic symbol table with `objdump -T` and the `.comment` section with
// `readelf -p .comment` (both binutils), which names the compiler that linked the C runtime parts:
// the `--use-napi-cross` toolchain is crosstool-NG's GCC 4.8.5 against glibc 2.17.
// With --max, exits 1 if the binary needs a newer glibc than that.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const json = args.includes('--json');
const maxAt = args.indexOf('--max');
const max = maxAt >= 0 ? args[maxAt + 1] : undefined;
const file =
  args.find((arg, i) => !arg.startsWith('--') && (maxAt < 0 || i !== maxAt + 1)) ??
  path.join(root, `unixgram.linux-${process.arch}-gnu.node`);

/** [major, minor, patch] of "2.17" / "2.3.4". */
const parse = (version) => version.split('.').map(Number);
const compare = (a, b) => {
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
};
const binutils = (tool, ...argv) => {
  try {
    return execFileSync(tool, [...argv, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error(`${tool} not found: install binutils`);
    throw new Error(`${tool} ${argv.join(' ')} ${file} failed: ${String(err.stderr ?? err.message).trim()}`);
  }
};

const versions = [...new Set([...binutils('objdump', '-T').matchAll(/\bGLIBC_(\d+(?:\.\d+)+)\b/g)].map((m) => m[1]))].sort(compare);
const highest = versions.at(-1) ?? null;
const napiCross = binutils('readelf', '-p', '.comment').includes('crosstool-NG');
const ok = max === undefined || highest === null || compare(highest, max) <= 0;

if (json) {
  console.log(JSON.stringify({ file, highest, versions, napiCross, max: max ?? null, ok }));
} else {
  console.log(
    `${path.relative(process.cwd(), file) || file}: needs glibc ${highest ?? '(no versioned glibc symbols)'}` +
      `${napiCross ? ' (linked by the napi-cross toolchain)' : ''}; versions used: ${versions.join(', ')}`,
  );
  if (!ok) console.error(`too new: the baseline is glibc ${max}`);
}
process.exitCode = ok ? 0 : 1;
