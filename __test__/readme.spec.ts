// Runs every ```ts block of README.md as its own program, importing the library from src/.
// An example that throws (its asserts fail) or hangs fails this test.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/^### (.+)\n[\s\S]*?^```ts\n([\s\S]*?)^```/gm)].map((m) => ({
  title: m[1] as string,
  code: m[2] as string,
}));
const dir = mkdtempSync(join(tmpdir(), 'ug-readme-'));
const entry = join(root, 'src/index.ts');

test('README has an example per feature section', (t) => {
  t.true(blocks.length >= 6, `found ${blocks.length} examples`);
});

for (const [i, { title, code }] of blocks.entries()) {
  test(`README example runs: ${title}`, async (t) => {
    t.timeout(30_000);
    const file = join(dir, `example-${i}.mts`);
    // 'unixgram' is src/index.ts; a subpath such as 'unixgram/compat/unix-dgram' is src/compat/unix-dgram.ts.
    const source = code.replace(
      /from 'unixgram(\/[^']+)?'/g,
      (_, sub?: string) => `from ${JSON.stringify(sub ? join(root, 'src', `${sub.slice(1)}.ts`) : entry)}`,
    );
    writeFileSync(file, source);
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code_ = await new Promise<number | null>((res) => child.on('exit', res));
    // Where the kernel lacks a feature (pidfds before Linux 6.5), its example says so and is skipped.
    const tooOld = /ERR_UNIXGRAM_UNSUPPORTED: the running kernel \([^)]*\) does not support .* needs Linux [\d.]+ or later/.exec(out);
    if (code_ !== 0 && tooOld) {
      t.log(`skipped: ${tooOld[0]}`);
      t.pass();
      return;
    }
    t.is(code_, 0, out);
  });
}
