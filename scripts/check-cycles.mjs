#!/usr/bin/env node
// The import-cycle check of `npm run check`. dependency-cruiser (.dependency-cruiser.cjs) reads the
// imports of packages/, test/, examples/ and scripts/; a cycle is a strongly connected group of
// files. Runtime imports always count. Type-only imports count too, except between two files of the
// Raft core (packages/server/src/raft/), where a type-only cycle is allowed: it has no load-order
// effect, and the core's modules describe one state machine.
//
// Cycles that exist and are being removed are listed in scripts/check-cycles.allow.json, each with
// why and who removes it. The list only shrinks: a cycle not on it fails the check, and so does an
// entry that no longer matches a cycle exactly (it was removed or changed: update or delete it).

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const ALLOW = 'scripts/check-cycles.allow.json';
const RAFT = 'packages/server/src/raft/';

process.chdir(root);
const options = await extractDepcruiseOptions('./.dependency-cruiser.cjs');
const result = await cruise(['packages', 'test', 'examples', 'scripts'], options, options.enhancedResolveOptions, {
  tsConfig: extractTSConfig('tsconfig.base.json'),
});
const { modules } = result.output;

/** Whether an import takes part in cycles. */
const counts = (from, dep) =>
  !dep.dependencyTypes.includes('type-only') || !(from.startsWith(RAFT) && dep.resolved.startsWith(RAFT));

const graph = new Map();
for (const m of modules) {
  graph.set(
    m.source,
    m.dependencies
      .filter((d) => counts(m.source, d))
      .map((d) => ({ to: d.resolved, typeOnly: d.dependencyTypes.includes('type-only') })),
  );
}

/** Tarjan's strongly connected components with more than one file (no file imports itself here). */
function cycles() {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const { to } of graph.get(v) ?? []) {
      if (!graph.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(v, Math.min(low.get(v), low.get(to)));
      } else if (onStack.has(to)) low.set(v, Math.min(low.get(v), index.get(to)));
    }
    if (low.get(v) !== index.get(v)) return;
    const group = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1) out.push(group.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

/** One shortest cycle through the group's first file, for the message: a → b → (type-only) c → a. */
function example(group) {
  const inGroup = new Set(group);
  const start = group[0];
  const prev = new Map([[start, null]]);
  const queue = [start];
  const step = (to, typeOnly) => `${typeOnly ? '(type-only) ' : ''}${to}`;
  while (queue.length > 0) {
    const v = queue.shift();
    for (const e of graph.get(v) ?? []) {
      if (e.to === start) {
        const path = [step(start, e.typeOnly)];
        for (let w = v; w !== start; w = prev.get(w).from) path.unshift(step(w, prev.get(w).typeOnly));
        return [start, ...path].join('\n      → ');
      }
      if (inGroup.has(e.to) && !prev.has(e.to)) {
        prev.set(e.to, { from: v, typeOnly: e.typeOnly });
        queue.push(e.to);
      }
    }
  }
  return group.join(', ');
}

const allowed = JSON.parse(readFileSync(join(root, ALLOW), 'utf8')).cycles;
const key = (files) => [...files].sort().join('\n');
const allowedKeys = new Map(allowed.map((a) => [key(a.files), a]));
const found = cycles();
const foundKeys = new Set(found.map(key));
const problems = [];
for (const group of found) {
  if (allowedKeys.has(key(group))) continue;
  problems.push(`an import cycle of ${group.length} files:\n      ${example(group)}`);
}
for (const a of allowed) {
  if (foundKeys.has(key(a.files))) continue;
  const now = found.filter((g) => g.some((f) => a.files.includes(f)));
  problems.push(
    `${ALLOW} lists a cycle that no longer exists as listed (${a.files.length} files: ${a.files.join(', ')}); ` +
      (now.length > 0 ? `now: ${now.map((g) => g.join(', ')).join(' | ')}` : 'it is gone: delete the entry'),
  );
}
if (problems.length > 0) {
  console.error(`import cycles: ${problems.length} problem(s)\n  - ${problems.join('\n  - ')}`);
  process.exit(1);
}
console.log(
  allowed.length === 0
    ? `import cycles: none, ${modules.length} files checked`
    : `import cycles: none outside the allow-list (${allowed.length} listed: ${allowed.map((a) => a.files.length).join(' + ')} files), ${modules.length} files checked`,
);
