#!/usr/bin/env node
// The CommonJS build of src/ into dist/cjs/ (the ES-module build is `tsc -p tsconfig.build.json`
// into dist/). The same sources, compiled once more as CommonJS: they are copied to a scratch
// folder next to src/ (same depth, so `../../index.js` still names the binding's types) that has a
// {"type": "commonjs"} package.json, and `native/package-root-cjs.cts` replaces `native/package-root.ts`,
// the one file that differs (`__dirname` instead of `import.meta.url`).
// The CLI (src/cli) is an ES-module program run through `bin` and is not part of this build.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const scratch = path.join(root, 'cjs-build.tmp');
const out = path.join(root, 'dist', 'cjs');
const EXCLUDED = new Set(['cli']);

fs.rmSync(scratch, { recursive: true, force: true });
fs.rmSync(out, { recursive: true, force: true });
try {
  fs.cpSync(src, scratch, {
    recursive: true,
    filter: (from) => !EXCLUDED.has(path.relative(src, from).split(path.sep)[0] ?? ''),
  });
  fs.renameSync(path.join(scratch, 'native', 'package-root-cjs.cts'), path.join(scratch, 'native', 'package-root.ts'));
  fs.writeFileSync(path.join(scratch, 'package.json'), '{ "type": "commonjs" }\n');
  fs.writeFileSync(
    path.join(scratch, 'tsconfig.json'),
    JSON.stringify({
      extends: '../tsconfig.json',
      compilerOptions: { rootDir: '.', outDir: '../dist/cjs', noEmit: false, sourceMap: false },
      include: ['**/*'],
    }),
  );
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', scratch], { stdio: 'inherit' });
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}

fs.writeFileSync(path.join(out, 'package.json'), '{ "type": "commonjs" }\n');
// The binding's generated types sit at the package root, one level further up from dist/cjs/.
const nativeTypes = path.join(out, 'native', 'binding.d.ts');
const text = fs.readFileSync(nativeTypes, 'utf8');
const fixed = text.replaceAll("from '../../index.js'", "from '../../../index.js'");
if (fixed === text) throw new Error(`${nativeTypes}: expected an import of '../../index.js' to rewrite`);
fs.writeFileSync(nativeTypes, fixed);
for (const file of fs.readdirSync(out, { recursive: true })) {
  if (!String(file).endsWith('.js')) continue;
  if (fs.readFileSync(path.join(out, String(file)), 'utf8').includes('import.meta')) {
    throw new Error(`dist/cjs/${file} uses import.meta, which CommonJS does not have`);
  }
}
console.log('CommonJS build in dist/cjs/');
