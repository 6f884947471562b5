#!/usr/bin/env node
// Runs the test files (*.test.ts) under the given folders or files (default: the whole repo)
// with Node's built-in test runner, loading TypeScript sources through tsx.
//   node scripts/run-tests.mjs [path ...] [-- extra node --test flags]
import { spawn } from 'node:child_process';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectTests } from './test-files.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const targets = dash >= 0 ? argv.slice(0, dash) : argv;
const extra = dash >= 0 ? argv.slice(dash + 1) : [];

const files = collectTests(targets);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// Two files at a time on two cores. Three cut a run by a tenth (most tests wait on timers, servers and
// the disk), but two of three full runs at three then failed timing-bound tests (a paused member's
// keep-alive, a 16 MiB peer frame within 20 s) that pass at two.
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const args = [
  '--conditions=conclave-source',
  '--import',
  'tsx',
  '--test',
  `--test-concurrency=${concurrency}`,
  ...extra,
  ...files.map((f) => relative(root, f)),
];
// Several checkouts of this repository on one small machine (worktrees, parallel agents) share two
// test slots, so their runs queue instead of overloading the cores and failing on timing.
// CONCLAVE_TEST_SLOTS=0 turns the queue off; a lone run (CI) never waits.
const slots = Number(process.env.CONCLAVE_TEST_SLOTS ?? '2');
const queued =
  slots > 0
    ? [
        '/bin/bash',
        [
          '-c',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: ${TMPDIR:-/tmp} is the shell's expansion
          'command -v flock >/dev/null || exec "$@"; w=0; while :; do for ((i = 0; i < $0; i++)); do exec 9>"${TMPDIR:-/tmp}/conclave-tests.$i.lock";' +
            ' flock -n 9 && exec "$@"; done; [ $w = 1 ] || echo "waiting for a test slot (another checkout is running tests)" >&2;' +
            ' w=1; sleep 2; done',
          String(slots),
          process.execPath,
          ...args,
        ],
      ]
    : [process.execPath, args];
const child = spawn(queued[0], queued[1], { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
