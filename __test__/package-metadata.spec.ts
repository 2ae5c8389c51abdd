// What npm and its users read besides the code: the MIT LICENSE file and the repository, homepage,
// bugs and keywords fields, in the root package and in every npm/<platform> package. The platform
// manifests are what `napi create-npm-dirs` writes from the root's (it copies these fields over), so a
// field added to the root reaches them and nothing napi expects is missing, plus `"type": "commonjs"`
// (publint asks for it, napi does not write it). They are committed and published as they are: the
// release workflow does not regenerate them.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './helpers.js';

interface Manifest {
  name: string;
  license?: string;
  keywords?: string[];
  homepage?: string;
  repository?: { type: string; url: string };
  bugs?: { url: string };
  napi: { targets: string[] };
}
const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, 'utf8'));
const root = readJson(path.join(REPO_ROOT, 'package.json')) as Manifest;
const platformDirs = fs.readdirSync(path.join(REPO_ROOT, 'npm')).map((name) => path.join(REPO_ROOT, 'npm', name));

test('the root has an MIT LICENSE file with the copyright line, as package.json and Cargo.toml say', (t) => {
  const license = fs.readFileSync(path.join(REPO_ROOT, 'LICENSE'), 'utf8');
  t.true(license.startsWith('MIT License\n'), license.slice(0, 40));
  t.true(license.includes('\nCopyright (c) 2026 the unixgram authors\n'));
  t.true(license.includes('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND'));
  t.is(root.license, 'MIT');
  t.regex(fs.readFileSync(path.join(REPO_ROOT, 'Cargo.toml'), 'utf8'), /^license = "MIT"$/m);
});

test('repository, homepage and bugs name one GitHub repository; keywords are set', (t) => {
  t.is(root.repository?.type, 'git');
  // npm's normal form (`npm pkg fix` writes it; `npm publish` rewrites anything else and warns).
  const match = /^git\+(https:\/\/github\.com\/[\w.-]+\/[\w.-]+)\.git$/.exec(root.repository?.url ?? '');
  t.truthy(match, root.repository?.url);
  const repo = match?.[1] ?? '';
  t.is(root.homepage, `${repo}#readme`);
  t.is(root.bugs?.url, `${repo}/issues`);
  t.true(Array.isArray(root.keywords) && root.keywords.length >= 5, String(root.keywords));
  for (const keyword of root.keywords ?? []) t.regex(keyword, /^[a-z0-9_-]+$/);
});

test('every platform package has the same LICENSE file and the manifest napi create-npm-dirs writes, typed commonjs', (t) => {
  t.is(platformDirs.length, root.napi.targets.length);
  const license = fs.readFileSync(path.join(REPO_ROOT, 'LICENSE'));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'unixgram-npm-dirs-'));
  t.teardown(() => fs.rmSync(scratch, { recursive: true, force: true }));
  fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(scratch, 'package.json'));
  const napi = path.join(REPO_ROOT, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js');
  execFileSync(process.execPath, [napi, 'create-npm-dirs', '--cwd', scratch], { stdio: 'pipe' });
  for (const dir of platformDirs) {
    const name = path.basename(dir);
    t.deepEqual(fs.readFileSync(path.join(dir, 'LICENSE')), license, `npm/${name}/LICENSE`);
    const ours = readJson(path.join(dir, 'package.json')) as Manifest;
    const napis = readJson(path.join(scratch, 'npm', name, 'package.json')) as Manifest;
    t.deepEqual(ours, { ...napis, type: 'commonjs' }, `npm/${name}/package.json`);
    t.deepEqual([ours.repository, ours.homepage, ours.bugs, ours.keywords], [root.repository, root.homepage, root.bugs, root.keywords]);
  }
});
