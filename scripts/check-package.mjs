#!/usr/bin/env node
// Lint the packages as they are published, with publint and @arethetypeswrong/cli (attw):
//
//   npm run check:package
//
// The root package is staged and packed the way the release does it (scripts/stage-package.mjs,
// then `npm pack` of the staged folder). Each npm/<platform> package is packed with its binary in
// it, as `napi artifacts` puts it there before `napi prepublish` publishes it: the binary built
// here for this machine's platform, an empty stand-in for the others (only the release builds
// them; the manifests are what is linted). Any publint message fails, suggestions included, and
// so does any attw problem under its default (strict) profile: node10, node16 from CommonJS and
// from ES modules, and bundler resolution.
//
// Also checked here, on the root tarball: a source map ships only with its sources inside it
// (`sourcesContent`), since the package has no src/; a `sourceMappingURL` comment names a map in
// the package. Needs a built checkout (npm ci).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'unixgram-check-package-'));
const failures = [];

const run = (cmd, args, options = {}) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });

/** `npm pack` a folder into the work dir; returns the tarball's path. */
function pack(dir) {
  const [info] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: dir }));
  return path.join(work, info.filename);
}

async function lint(label, tarball) {
  const bytes = fs.readFileSync(tarball);
  const { messages, pkg } = await publint({
    pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) },
    level: 'suggestion',
  });
  for (const message of messages) failures.push(`${label}: publint ${message.type}: ${formatMessage(message, pkg, { color: false })}`);
  const attw = path.join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
  try {
    run(process.execPath, [attw, '--no-color', '--no-emoji', '--format', 'table-flipped', tarball]);
  } catch (err) {
    failures.push(`${label}: attw found problems:\n${err.stdout}${err.stderr}`);
  }
  console.log(`${label}: publint ${messages.length === 0 ? 'ok' : `${messages.length} message(s)`}`);
}

/** Every .map in the unpacked package carries its sources; every sourceMappingURL names a shipped map. */
function checkSourceMaps(label, dir) {
  const files = fs.readdirSync(dir, { recursive: true }).map(String);
  for (const file of files.filter((f) => f.endsWith('.map'))) {
    const map = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    const content = map.sourcesContent ?? [];
    if (map.sources.some((_, i) => typeof content[i] !== 'string')) {
      failures.push(`${label}: ${file} maps to ${map.sources.join(', ')}, which the package does not contain, and has no sourcesContent`);
    }
  }
  for (const file of files.filter((f) => /\.(c|m)?(js|ts)$/.test(f))) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const [, url] of text.matchAll(/^\/\/# sourceMappingURL=(\S+)\s*$/gm)) {
      if (url.startsWith('data:')) continue;
      if (!fs.existsSync(path.join(dir, path.dirname(file), url)))
        failures.push(`${label}: ${file} names the source map ${url}, which is not in the package`);
    }
  }
}

try {
  const staged = path.join(work, 'unixgram');
  run(process.execPath, [path.join(root, 'scripts', 'stage-package.mjs'), staged]);
  const rootTarball = pack(staged);
  await lint('unixgram', rootTarball);
  const unpacked = path.join(work, 'unpacked');
  fs.mkdirSync(unpacked);
  run('tar', ['-xzf', rootTarball, '-C', unpacked, '--strip-components=1']);
  checkSourceMaps('unixgram', unpacked);

  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  let built = 0;
  for (const platform of fs.readdirSync(path.join(root, 'npm')).sort()) {
    const dir = path.join(work, platform);
    fs.cpSync(path.join(root, 'npm', platform), dir, { recursive: true, filter: (file) => !file.endsWith('.node') });
    const binary = `${manifest.napi.binaryName}.${platform}.node`;
    if (fs.existsSync(path.join(root, binary))) {
      fs.copyFileSync(path.join(root, binary), path.join(dir, binary));
      built += 1;
    } else {
      fs.writeFileSync(path.join(dir, binary), '');
    }
    await lint(`${manifest.name}-${platform}`, pack(dir));
  }
  if (built === 0) failures.push(`no npm/<platform> package was linted with a real binary: run \`npm run build\` first`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log('publint and attw: no problems in the root package and the platform packages');
