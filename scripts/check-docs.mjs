#!/usr/bin/env node
// Check the API reference TypeDoc wrote (`npm run docs` runs this after `typedoc`):
// - the landing page (index.html) is the README's getting-started part: its introduction, the
//   install command and its first example, code included (scripts/typedoc-plugin.mjs makes it);
// - the modules are named as they are imported: `unixgram` and `unixgram/compat/unix-dgram`.
//
//   node scripts/check-docs.mjs [out dir, default docs/api-reference]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'docs', 'api-reference'));
const failures = [];

const entities = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
/** The text a reader sees: no scripts, no tags, entities decoded, whitespace runs as one space. */
const visibleText = (html) =>
  html
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<br\s*\/?>/g, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name) => {
      if (name.startsWith('#x')) return String.fromCodePoint(parseInt(name.slice(2), 16));
      if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)));
      return entities[name] ?? whole;
    })
    .replace(/\s+/g, ' ');
const collapse = (text) => text.replace(/\s+/g, ' ').trim();
/** Markdown inline code and emphasis as the page shows them (`x` → x, **x** → x, [x](url) → x). */
const rendered = (markdown) => collapse(markdown.replace(/\[([^\]]+)\]\([^)]+\)/g, '$1').replace(/[`*]/g, ''));

const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const index = visibleText(fs.readFileSync(path.join(out, 'index.html'), 'utf8'));
const expected = {
  'the first paragraph of the README': rendered(/^# .+\n\n([\s\S]+?)\n\n/.exec(readme)?.[1] ?? '(none found)'),
  'the install command': 'npm install unixgram',
  "the README's first example, code and all": collapse(/^```ts\n([\s\S]*?)^```/m.exec(readme)?.[1] ?? '(none found)'),
};
for (const [what, text] of Object.entries(expected)) {
  if (!index.includes(text)) failures.push(`index.html does not show ${what}:\n  ${text.slice(0, 200)}`);
}

const modules = fs.existsSync(path.join(out, 'modules')) ? fs.readdirSync(path.join(out, 'modules')).sort() : [];
const titles = modules.map((file) => /<title>([^<|]+?) \|/.exec(fs.readFileSync(path.join(out, 'modules', file), 'utf8'))?.[1]);
const want = ['unixgram', 'unixgram/compat/unix-dgram'];
if (JSON.stringify(titles) !== JSON.stringify(want))
  failures.push(`modules are ${JSON.stringify(titles)} (${modules.join(', ')}), not ${JSON.stringify(want)}`);

if (failures.length > 0) {
  console.error(`check-docs: ${out}\n${failures.join('\n')}`);
  process.exit(1);
}
console.log(`check-docs: the landing page is the README's getting-started part; modules ${want.join(', ')}`);
