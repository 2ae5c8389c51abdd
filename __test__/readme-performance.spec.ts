// The README is for users: its Performance section has the latest benchmark tables, their setting and
// how to reproduce them, and links to bench/README.md, which keeps the run-by-run history (the targets
// per run, check-targets' output, where the misses come from, the dated findings).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './helpers.js';

/** The text of the `## title` section of a Markdown file, up to the next `## ` heading outside a code fence. */
function section(markdown: string, title: string): string {
  const lines = markdown.split('\n');
  let fence = false;
  let start = -1;
  for (const [index, line] of lines.entries()) {
    if (line.startsWith('```')) fence = !fence;
    if (fence || !line.startsWith('## ')) continue;
    if (start >= 0) return lines.slice(start, index).join('\n');
    if (line === `## ${title}`) start = index;
  }
  return start >= 0 ? lines.slice(start).join('\n') : '';
}

const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const bench = fs.readFileSync(path.join(REPO_ROOT, 'bench', 'README.md'), 'utf8');
const performance = section(readme, 'Performance');

/** What belongs to the run-by-run history, not to the latest run. */
const HISTORY = {
  'the targets-per-run table': /^\| target \| A \| B \|/m,
  "check-targets' PASS / FAIL lines": /^(PASS|FAIL) {2}\S/m,
  '"where the misses come from"': /Where the misses come from/,
  'a dated findings section': /^#+ Findings/m,
};

test("the README's Performance section: the latest tables, their setting, how to reproduce them, a link to bench/README.md", (t) => {
  t.not(performance, '', 'README.md has a "## Performance" section');
  t.regex(performance, /^npm run bench +#/m, 'the command that reproduces it');
  t.regex(performance, /\]\(bench\/README\.md\)/, 'a link to bench/README.md');
  t.regex(performance, /^Latest full `npm run bench` \(.+/m, 'the setting of the latest run');
  for (const scenario of ['Receive', 'Send', 'Node → Node', 'Round trip', 'fd passing']) {
    t.regex(performance, new RegExp(`^#### ${scenario}.*\\n\\n\\| payload \\| library \\|`, 'm'), scenario);
  }
  t.regex(performance, /^Memory: /m);
  for (const [what, pattern] of Object.entries(HISTORY)) t.notRegex(readme, pattern, `README.md has ${what}`);
});

test('bench/README.md keeps the run-by-run history', (t) => {
  for (const [what, pattern] of Object.entries(HISTORY)) t.regex(bench, pattern, `bench/README.md has ${what}`);
});
