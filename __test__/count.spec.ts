// Guards against spec files the runner silently skips: every *.spec.ts under __test__/ must match the glob.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, TEST_DIR } from './helpers.js';

function specFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return specFiles(full);
    return /\.spec\.[cm]?[jt]s$/.test(entry.name) ? [path.relative(REPO_ROOT, full)] : [];
  });
}

function globToRegExp(glob: string): RegExp {
  const source = glob
    .split('**/')
    .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
    .join('(?:.*/)?');
  return new RegExp(`^${source}$`);
}

test('the ava glob finds every spec file in __test__/', (t) => {
  const config = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).ava ?? {};
  const globs: string[] = config.files ?? [];
  t.true(globs.length > 0, 'package.json ava.files is set');
  const patterns = globs.map(globToRegExp);
  const all = specFiles(TEST_DIR);
  const found = all.filter((file) => patterns.some((re) => re.test(file)));
  t.true(all.length >= 10, `spec files: ${all.join(', ')}`);
  t.deepEqual(found, all);
  t.is(found.length, all.length);
});
