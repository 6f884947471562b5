#!/usr/bin/env node
// The API-reference gate of `npm run check`: TypeDoc (typedoc.json) builds docs/api/ (not committed;
// `npm run docs:api` builds it too, CI builds it in the check) and every warning is an error: an
// export without a doc comment, a type the docs reference but the package does not export, a
// broken {@link}.
//
// PENDING lists packages whose doc comments are still being written (issue 17: the client and
// recipes SDK work); their warnings are counted but do not fail the check. The end state is an
// empty list: then the check is exactly typedoc.json with warnings as errors.

import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

const PENDING = [];

const root = resolve(fileURLToPath(import.meta.url), '../..');
const r = spawnSync(process.execPath, [join(root, 'node_modules/typedoc/bin/typedoc'), '--logLevel', 'Warn'], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
});
// Colour codes may come through even with NO_COLOR; strip them before matching.
const out = stripVTControlCharacters(`${r.stdout}${r.stderr}`);
const lines = out.split('\n').filter((l) => l.startsWith('[warning]') && !/Found \d+ errors and \d+ warnings/.test(l));
const errors = out.split('\n').filter((l) => l.startsWith('[error]'));
const pendingRe =
  PENDING.length > 0 ? new RegExp(`@conclave/(${PENDING.join('|')})\\b|packages/(${PENDING.join('|')})/`) : null;
const waived = pendingRe ? lines.filter((l) => pendingRe.test(l)) : [];
const failing = lines.filter((l) => !waived.includes(l));

if (r.status !== 0 || errors.length > 0) {
  console.error(out);
  process.exit(1);
}
if (waived.length > 0) {
  const per = PENDING.map((p) => `@conclave/${p} ${waived.filter((l) => l.includes(p)).length}`).join(', ');
  console.log(`api docs: ${waived.length} warning(s) in packages whose doc comments are still being written (${per})`);
}
if (failing.length > 0) {
  console.error(`api docs: ${failing.length} warning(s):\n${failing.join('\n')}`);
  process.exit(1);
}
console.log(`api docs: docs/api/index.html (${failing.length} warning(s) outside the pending packages)`);
