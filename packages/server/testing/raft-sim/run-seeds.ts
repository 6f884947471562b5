// Runs a range of simulator seeds for the test suite; failures come back with their replay command.

import assert from 'node:assert/strict';
import { DEFAULT_SIM, profileFor, replayCommand, runSimulation, type Profile, type SimStats } from './simulation.js';

export interface SeedRun {
  failures: string[];
  totals: Pick<
    SimStats,
    'events' | 'elections' | 'crashes' | 'partitions' | 'snapshotsSent' | 'readsChecked' | 'confChanges'
  >;
  maxRecoveryMs: number;
}

export function runSeeds(first: number, count: number, profile?: Profile): SeedRun {
  const run: SeedRun = {
    failures: [],
    totals: { events: 0, elections: 0, crashes: 0, partitions: 0, snapshotsSent: 0, readsChecked: 0, confChanges: 0 },
    maxRecoveryMs: 0,
  };
  for (let seed = first; seed < first + count; seed++) {
    const res = runSimulation({ seed, ...DEFAULT_SIM, ...(profile ?? profileFor(seed)) });
    for (const k of Object.keys(run.totals) as (keyof SeedRun['totals'])[]) run.totals[k] += res.stats[k];
    run.maxRecoveryMs = Math.max(run.maxRecoveryMs, res.stats.recoveryMs);
    if (!res.ok)
      run.failures.push(
        `seed ${seed}: ${res.error?.split('\n')[0]}\n  replay: ${replayCommand(res.options)}   (add --trace for an event log)`,
      );
  }
  return run;
}

/**
 * Runs 550 seeds of the default profiles from `first` (a test file's share): none may fail, and the
 * run must have crashed, partitioned and elected enough for that to mean something.
 */
export function checkDefaultSeeds(first: number): SeedRun {
  const run = runSeeds(first, 550);
  assert.deepEqual(run.failures, [], run.failures.join('\n'));
  assert.ok(
    run.totals.crashes > 400 && run.totals.partitions > 400 && run.totals.elections > 1500,
    JSON.stringify(run.totals),
  );
  return run;
}
