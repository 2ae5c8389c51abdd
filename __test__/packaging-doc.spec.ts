// docs/packaging.md's steps to pack a platform package and the root package by hand and install both
// in a scratch project work as written: its "Pack both packages" block runs here, as it is, with bash.
// (Its build step is `npm ci` / `npm run build`, which the suite itself needs and runs before.)
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './helpers.js';

const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'packaging.md'), 'utf8');
const block = /^## Pack both packages[^\n]*\n[\s\S]*?^```sh\n([\s\S]*?)^```/m.exec(doc)?.[1];
const platform = /^platform=(\S+)/m.exec(block ?? '')?.[1];
const binary = path.join(REPO_ROOT, `unixgram.${platform}.node`);
// The block packs this machine's binary; like pack.spec, it needs one (CI=true makes its absence a failure).
const docTest = fs.existsSync(binary) || process.env.CI ? test : test.skip;

test("the README's set-up section links docs/packaging.md", (t) => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const setUp = /^## Set up and test \(from a clone\)\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  t.regex(setUp, /\]\(docs\/packaging\.md\)/);
  t.truthy(block, 'docs/packaging.md has a "## Pack both packages" section with a ```sh block');
  t.is(platform, 'linux-x64-gnu', 'the block names the platform the release builds and .ci/run tests');
});

docTest("docs/packaging.md's steps pack both packages and install them in a scratch project", (t) => {
  t.timeout(180_000);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'unixgram-packaging-doc-'));
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  // No npm settings from the test runner's npm; the machine's cache, and no network needed (two local tarballs).
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  Object.assign(env, {
    HOME: home,
    TMPDIR: home,
    npm_config_cache: path.join(os.homedir(), '.npm'),
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  });
  const result = spawnSync('bash', ['-euo', 'pipefail', '-c', block ?? 'false'], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  t.is(result.status, 0, `${result.stdout}\n${result.stderr}`);
  t.regex(result.stdout, /^hello through the packed packages$/m);
  t.false(
    fs.existsSync(path.join(REPO_ROOT, 'npm', platform ?? '', `unixgram.${platform}.node`)),
    'the binary was taken out of npm/<platform> again',
  );
  const tarballs = fs
    .readdirSync(home, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.tgz'));
  t.is(tarballs.length, 2, tarballs.join(' '));
});
