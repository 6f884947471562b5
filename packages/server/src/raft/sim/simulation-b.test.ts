// Deterministic cluster simulation, seeds 701-1400 (see simulation-a.test.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSeeds } from './run-seeds.js';

test('simulated clusters keep every invariant and recover: seeds 701-1400', () => {
  const run = runSeeds(701, 700);
  assert.deepEqual(run.failures, [], run.failures.join('\n'));
  assert.ok(run.totals.crashes > 500 && run.totals.partitions > 500 && run.totals.elections > 2000, JSON.stringify(run.totals));
});
