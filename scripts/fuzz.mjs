#!/usr/bin/env node
// `npm run fuzz [RUNS]`: the fuzz tests of test/fuzz/ as a soak, RUNS cases per target (default
// 100,000; `npm test` runs 1,500). FUZZ_SEED=<seed> replays a run whose seed was printed.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const runs = process.argv[2] ?? process.env.FUZZ_RUNS ?? '100000';
const child = spawn(process.execPath, ['scripts/run-tests.mjs', 'test/fuzz', '--', '--test-timeout=0'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: runs },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
