#!/usr/bin/env node
// Import cycles between the top-level modules of each Rust crate (src/x.rs and src/x/*.rs are
// module x): a module may use the ones below it, never one that uses it back. `dpdm` checks
// src/ the same way (package.json `check:cycles`). Exits 1 and prints each cycle found.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const crates = ['crates/unixgram-core', 'crates/unixgram-node'];

/** The top-level module a source file belongs to (`lib` for lib.rs). */
function moduleOf(src, file) {
  const rel = path.relative(src, file).split(path.sep);
  return rel[0].replace(/\.rs$/, '');
}

/** Every `crate::name` a file refers to, in `use` items and paths (comments dropped). */
function references(text) {
  const code = text.replace(/\/\/.*$/gm, '');
  const out = new Set();
  for (const [, name] of code.matchAll(/\bcrate::([a-z_][a-z0-9_]*)/g)) out.add(name);
  // `use crate::{a, b::c}`
  for (const [, list] of code.matchAll(/\buse crate::\{([^}]*)\}/g)) {
    for (const [, name] of list.matchAll(/(?:^|[\s,{])([a-z_][a-z0-9_]*)/g)) out.add(name);
  }
  return out;
}

function cycles(graph) {
  // Tarjan's strongly connected components; a component of more than one module is a cycle.
  let index = 0;
  const stack = [];
  const info = new Map();
  const found = [];
  const visit = (v) => {
    info.set(v, { index, low: index, on: true });
    index++;
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!info.has(w)) {
        visit(w);
        info.get(v).low = Math.min(info.get(v).low, info.get(w).low);
      } else if (info.get(w).on) {
        info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
      }
    }
    if (info.get(v).low === info.get(v).index) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        info.get(w).on = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!info.has(v)) visit(v);
  return found;
}

let failed = false;
for (const crate of crates) {
  const src = path.join(root, crate, 'src');
  const graph = new Map();
  for (const entry of fs.readdirSync(src, { recursive: true })) {
    const file = path.join(src, String(entry));
    if (!file.endsWith('.rs')) continue;
    const from = moduleOf(src, file);
    if (from === 'lib') continue; // the crate root declares and re-exports every module
    const edges = graph.get(from) ?? new Set();
    for (const to of references(fs.readFileSync(file, 'utf8'))) if (to !== from) edges.add(to);
    graph.set(from, edges);
  }
  const found = cycles(graph);
  for (const cycle of found) console.error(`${crate}: import cycle among ${cycle.join(', ')}`);
  if (found.length === 0) console.log(`${crate}: no import cycle among ${graph.size} modules`);
  failed ||= found.length > 0;
}
process.exit(failed ? 1 : 0);
