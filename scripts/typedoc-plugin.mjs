// A TypeDoc plugin (typedoc.json "plugin") for the API reference's landing page and module names.
//
// - The landing page is the README's getting-started part, taken from README.md at each run, so
//   it cannot drift: the introduction (up to "## Install"), the "## Install" section, and the
//   first example under "## Examples". Links relative to the repository point at it on GitHub
//   (package.json "repository"), since the reference does not contain those files.
// - Modules are named as a user imports them, from package.json "exports": src/index.ts is
//   `unixgram`, src/compat/unix-dgram.ts is `unixgram/compat/unix-dgram` (TypeDoc would call them
//   "index" and "compat/unix-dgram", after their paths).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Converter, MinimalSourceFile, ReflectionKind } from 'typedoc';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `{ level, title, start, end }` for each Markdown heading outside code fences; `end` is the next heading of the same or a higher level. */
function sections(lines) {
  const found = [];
  let fence = false;
  lines.forEach((line, index) => {
    if (/^\s*```/.test(line)) fence = !fence;
    const match = fence ? null : /^(#{1,6}) (.+)$/.exec(line);
    if (match) found.push({ level: match[1].length, title: match[2].trim(), start: index });
  });
  for (const [i, section] of found.entries()) {
    const next = found.slice(i + 1).find((other) => other.level <= section.level);
    section.end = next ? next.start : lines.length;
  }
  return found;
}

/** The landing page's Markdown, from the README's text. */
export function landingPage(readme, repositoryUrl) {
  const lines = readme.replaceAll('\r\n', '\n').split('\n');
  const all = sections(lines);
  const need = (found, what) => {
    if (!found) throw new Error(`README.md has no ${what}, which the API reference's landing page is made of (scripts/typedoc-plugin.mjs)`);
    return found;
  };
  const firstH2 = need(
    all.find((s) => s.level === 2),
    'second-level heading after its introduction',
  );
  const install = need(
    all.find((s) => s.level === 2 && s.title === 'Install'),
    '"## Install" section',
  );
  const examples = need(
    all.find((s) => s.level === 2 && s.title === 'Examples'),
    '"## Examples" section',
  );
  const example = need(
    all.find((s) => s.level === 3 && s.start > examples.start && s.start < examples.end),
    'example ("### …") under "## Examples"',
  );
  const text = (from, to) => lines.slice(from, to).join('\n').trim();
  const page = [
    text(0, firstH2.start),
    text(install.start, install.end),
    `## A first example: ${example.title.charAt(0).toLowerCase()}${example.title.slice(1)}`,
    text(example.start + 1, example.end),
    `## More\n\nThe [README](${repositoryUrl}#readme) has more examples (file descriptors, credentials, ` +
      'servers, timeouts, the synchronous API, serializers, switching from `unix-dgram`, the command ' +
      'line). This reference documents every export of the modules `unixgram` and ' +
      '`unixgram/compat/unix-dgram`.',
  ].join('\n\n');
  // Links relative to the README name files and sections of the repository, not of this site.
  return page
    .replace(/\]\(#([^)\s]+)\)/g, `](${repositoryUrl}#$1)`)
    .replace(/\]\((?![a-z][a-z0-9+.-]*:)([^)\s]+)\)/gi, (_, target) => `](${repositoryUrl}/blob/HEAD/${target.replace(/^\.\//, '')})`);
}

/** Module names by source file: what `import … from '<name>'` loads, from package.json "exports". */
function moduleNames(manifest) {
  const names = new Map();
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    const types = target?.import?.types;
    if (typeof types !== 'string') continue;
    const source = path.join(root, types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts'));
    names.set(source, manifest.name + subpath.slice(1));
  }
  return names;
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const repositoryUrl = manifest.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
  const names = moduleNames(manifest);

  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const file = context.getSymbolFromReflection(reflection)?.declarations?.[0]?.getSourceFile().fileName;
    const name = file && names.get(path.resolve(file));
    if (name) reflection.name = name;
    else app.logger.warn(`typedoc-plugin: module ${reflection.name} (${file}) is not an entry of package.json "exports"`);
  });

  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const readmePath = path.join(root, 'README.md');
    const markdown = landingPage(fs.readFileSync(readmePath, 'utf8'), repositoryUrl);
    context.project.readme = app.converter.parseRawComment(new MinimalSourceFile(markdown, readmePath), context.project.files).content;
  });
}
