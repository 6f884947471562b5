// Deterministic cluster simulation, seeds 1-550 (3 and 5 voters, with learners, with membership
// changes): drops, delays, reordering, duplication, symmetric and one-way partitions and
// crash-restarts, with every invariant checked as the run unfolds, and recovery after healing.
// A failure prints the command that replays its seed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDefaultSeeds } from './run-seeds.js';

test('simulated clusters keep every invariant and recover: seeds 1-550', () => {
  const run = checkDefaultSeeds(1);
  assert.ok(run.totals.snapshotsSent > 40 && run.totals.readsChecked > 4000, JSON.stringify(run.totals));
});
