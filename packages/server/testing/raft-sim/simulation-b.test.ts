// Deterministic cluster simulation, seeds 551-1100 (see simulation-a.test.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSeeds } from './run-seeds.js';

test('simulated clusters keep every invariant and recover: seeds 551-1100', () => {
  const run = runSeeds(551, 550);
  assert.deepEqual(run.failures, [], run.failures.join('\n'));
  assert.ok(
    run.totals.crashes > 400 && run.totals.partitions > 400 && run.totals.elections > 1500,
    JSON.stringify(run.totals),
  );
});
