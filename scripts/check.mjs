#!/usr/bin/env node
// `npm run check`: the quality gates, each with a progress line; all run, failures are listed at the end.
//   format      biome format (biome.json; .editorconfig for editors)
//   lint        biome lint, warnings are errors (rule choices in biome.json, reasons in docs/development.md)
//   types       tsc -b over every project
//   cycles      no import cycles outside scripts/check-cycles.allow.json (scripts/check-cycles.mjs)
//   unused      knip: no unused files, exports, dependencies (knip.json)
//   generated   `npm run gen` would leave packages/api/src/gen unchanged
//   lock        `npm install --package-lock-only` would leave package-lock.json unchanged
//   api docs    TypeDoc builds docs/api with every export documented (scripts/check-api-docs.mjs, typedoc.json)
// `npm run check -- lint types` runs only the named gates.

import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInstalled } from './ensure.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const bin = (pkg, file) => join(root, 'node_modules', pkg, file);
const node = (script, ...args) => [process.execPath, script, ...args];

function exec([cmd, ...args]) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/**
 * Runs `cmd`, which may rewrite `files()`; puts back any file it changed (contents and times, so that
 * ensure.mjs does not see a newer lock file) and fails naming them.
 */
function unchangedBy(label, files, cmd, fix) {
  const before = new Map(files().map((f) => [f, { data: readFileSync(f), st: statSync(f) }]));
  const r = exec(cmd);
  if (!r.ok) return r;
  const after = files();
  const changed = after.filter((f) => !before.has(f) || !before.get(f).data.equals(readFileSync(f)));
  const removed = [...before.keys()].filter((f) => !after.includes(f));
  for (const f of after) if (!before.has(f)) rmSync(f);
  for (const f of [...changed, ...removed]) {
    const b = before.get(f);
    if (!b) continue;
    writeFileSync(f, b.data);
    utimesSync(f, b.st.atime, b.st.mtime);
  }
  if (changed.length === 0 && removed.length === 0) return { ok: true, out: '' };
  const names = [...changed, ...removed].map((f) => f.slice(root.length + 1)).join(', ');
  return { ok: false, out: `${label} would change ${names}: ${fix}` };
}

const genDir = join(root, 'packages/api/src/gen');
const GATES = {
  format: () => exec(node(bin('@biomejs/biome', 'bin/biome'), 'format', '.')),
  lint: () => exec(node(bin('@biomejs/biome', 'bin/biome'), 'lint', '--error-on-warnings', '.')),
  types: () => exec(node(bin('typescript', 'bin/tsc'), '-b')),
  cycles: () => exec(node(join(root, 'scripts/check-cycles.mjs'))),
  unused: () => exec(node(bin('knip', 'bin/knip.js'), '--no-progress')),
  generated: () =>
    unchangedBy(
      'npm run gen',
      () => readdirSync(genDir).map((f) => join(genDir, f)),
      ['npm', 'run', '--silent', 'gen'],
      'the generated codecs are out of date; run npm run gen and commit the result',
    ),
  lock: () =>
    unchangedBy(
      'npm install',
      () => [join(root, 'package-lock.json')],
      ['npm', 'install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'],
      'package-lock.json is out of sync with the package.json files (or misses optional packages of other platforms, which a plain npm install can drop): run npm install --package-lock-only and commit the lock',
    ),
  'api docs': () => exec(node(join(root, 'scripts/check-api-docs.mjs'))),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((g) => !(g in GATES));
if (unknown.length > 0) {
  console.error(`unknown gate(s): ${unknown.join(', ')}; gates: ${Object.keys(GATES).join(', ')}`);
  process.exit(2);
}
ensureInstalled();
const gates = Object.keys(GATES).filter((g) => wanted.length === 0 || wanted.includes(g));
const failed = [];
for (const [i, name] of gates.entries()) {
  const t0 = performance.now();
  process.stdout.write(`> check ${i + 1}/${gates.length}: ${name} ... `);
  const r = GATES[name]();
  const took = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  console.log(r.ok ? `ok (${took})` : `FAILED (${took})`);
  if (!r.ok) failed.push([name, r.out]);
}
for (const [name, out] of failed) console.error(`\n--- ${name}\n${out}`);
if (failed.length > 0) {
  console.error(`\ncheck: ${failed.length} gate(s) failed: ${failed.map(([n]) => n).join(', ')}`);
  process.exit(1);
}
console.log('check: all gates pass');
