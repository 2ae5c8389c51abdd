// The public types, checked by the TypeScript compiler: __test__/types/handlers.ts holds the
// inline forms users write (server handlers without annotations, options) and the mistakes
// that must stay type errors (@ts-expect-error); __test__/types/systemd.ts the same for the
// systemd helpers. tsc fails on an error there, or on an expected error that no longer happens.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { REPO_ROOT, TEST_DIR } from './helpers.js';

test('inline server handlers and options type-check without annotations; misuse stays a type error', async (t) => {
  t.timeout(60_000);
  const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await promisify(execFile)(process.execPath, [tsc, '-p', path.join(TEST_DIR, 'types', 'tsconfig.json')]).then(
    () => '',
    (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
  );
  t.is(result, '');
});
