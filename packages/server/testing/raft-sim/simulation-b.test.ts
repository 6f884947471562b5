// Deterministic cluster simulation, seeds 551-1100 (see simulation-a.test.ts).

import { test } from 'node:test';
import { checkDefaultSeeds } from './run-seeds.js';

test('simulated clusters keep every invariant and recover: seeds 551-1100', () => {
  checkDefaultSeeds(551);
});
