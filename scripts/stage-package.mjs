#!/usr/bin/env node
// The root package as it is published, staged in a folder of its own, which is then packed or
// published instead of the repository's root:
//
//   node scripts/stage-package.mjs [DIR]        # stage into DIR (default target/package)
//   npm pack ./target/package                   # the tarball, as `npm publish ./target/package` sends it
//
// The folder holds the files `npm pack` takes from the root (package.json "files", README,
// LICENSE) and a package.json without "scripts" and "private". A clone needs the scripts
// (`prepare` builds the addon and the TypeScript at `npm ci`); a user of the package needs none,
// and npm (11) warns about a `prepare` in a package installed from a tarball. Staging leaves the
// repository's package.json untouched, so no interrupted pack can leave it changed and two packs
// at once do not race.
//
// The root is "private" so that `npm publish` there fails, and its `prepack` runs this script with
// --refuse, so that `npm pack` there (which would ship `prepare` and run it) fails, saying what to
// do instead. The release workflow and __test__/pack.spec.ts both pack this folder.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

if (args.includes('--refuse')) {
  console.error(`unixgram: the repository root is not the package as published (its package.json has the
clone's scripts, among them \`prepare\`). Stage the package and pack or publish that:
  node scripts/stage-package.mjs target/package
  npm pack ./target/package          # or: npm publish ./target/package
(see docs/packaging.md).`);
  process.exit(1);
}

const dir = path.resolve(args[0] ?? path.join(root, 'target', 'package'));
if (dir === root || root.startsWith(dir + path.sep)) throw new Error(`refusing to stage into ${dir}: it holds the repository`);

// What `npm pack` would take, as npm lists it (no scripts run: --ignore-scripts; nothing written: --dry-run).
const listing = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'pipe'],
});
const [info] = JSON.parse(listing);
const files = info.files.map((file) => file.path);

const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
// Every file the manifest points at must be there: a checkout that was not built has no dist/.
const entries = [manifest.main, manifest.types, ...Object.values(manifest.bin ?? {})];
const collect = (target) => {
  if (typeof target === 'string') entries.push(target);
  else if (target && typeof target === 'object') Object.values(target).forEach(collect);
};
collect(manifest.exports);
const missing = entries.map((entry) => path.normalize(entry)).filter((entry) => !files.includes(entry));
if (missing.length > 0) throw new Error(`not in the package (run \`npm run build\` first?): ${missing.join(', ')}`);

delete manifest.scripts;
delete manifest.private;

fs.rmSync(dir, { recursive: true, force: true });
for (const file of files) {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  if (file !== 'package.json') fs.copyFileSync(path.join(root, file), path.join(dir, file));
}
fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(
  `staged ${manifest.name}@${manifest.version} (${files.length} files, no scripts) in ${path.relative(process.cwd(), dir) || '.'}`,
);
