// Property: membership changes under faults never let two disjoint majorities decide. In every
// run, clients add, remove, promote and demote members (one change at a time) while the network
// and the servers fail; the checker verifies that consecutive committed configurations never
// admit disjoint majorities and that every election and every commit is decided by a majority of
// the latest committed configuration or of the one just before it, besides all other invariants.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSeeds } from './run-seeds.js';

test('membership changes under faults: 250 seeds starting from 3 voters', () => {
  const run = runSeeds(100_001, 250, { voters: 3, learners: 0, membership: true });
  assert.deepEqual(run.failures, [], run.failures.join('\n'));
  assert.ok(run.totals.confChanges > 600, `only ${run.totals.confChanges} configuration changes proposed`);
});

test('membership changes under faults: 100 seeds starting from 5 voters and a learner', () => {
  const run = runSeeds(200_001, 100, { voters: 5, learners: 1, membership: true });
  assert.deepEqual(run.failures, [], run.failures.join('\n'));
});
