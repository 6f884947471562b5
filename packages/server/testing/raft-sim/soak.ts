// The Raft simulator from the command line: a long search over seeds, or the replay of one.
//
//   npm run test:raft-soak -- --seeds 100000            # seeds 1..100000 over all profiles
//   npm run test:raft-soak -- --seeds 5000 --start 70000 --nodes 5 --learners 1
//   npm run test:raft-soak -- --seed 1234 --nodes 3 --membership --trace   # replay one, with a trace
//
// Options: --seeds N, --start S (first seed, default 1), --seed S (just that seed), --nodes V,
// --learners L, --membership, --chaos-ms MS, --heal-ms MS, --trace, --keep-going.
// Without --nodes/--learners/--membership every seed runs in the profile PROFILES[seed % 4].

import { parseArgs } from 'node:util';
import { DEFAULT_SIM, profileFor, replayCommand, runSimulation, type SimOptions } from './simulation.js';

function main(): void {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string' },
      start: { type: 'string' },
      seed: { type: 'string' },
      nodes: { type: 'string' },
      learners: { type: 'string' },
      membership: { type: 'boolean' },
      'chaos-ms': { type: 'string' },
      'heal-ms': { type: 'string' },
      trace: { type: 'boolean' },
      'keep-going': { type: 'boolean' },
    },
  });
  const fixedProfile = values.nodes !== undefined || values.learners !== undefined || values.membership !== undefined;
  const first = Number(values.seed ?? values.start ?? 1);
  const count = values.seed !== undefined ? 1 : Number(values.seeds ?? 1000);
  const chaosMs = Number(values['chaos-ms'] ?? DEFAULT_SIM.chaosMs);
  const healBoundMs = Number(values['heal-ms'] ?? DEFAULT_SIM.healBoundMs);
  const started = Date.now();
  let failures = 0;
  let maxRecovery = 0;
  const recoveries: [number, number][] = [];
  let events = 0;
  let reads = 0;
  for (let seed = first; seed < first + count; seed++) {
    const profile = fixedProfile
      ? {
          voters: Number(values.nodes ?? 3),
          learners: Number(values.learners ?? 0),
          membership: values.membership ?? false,
        }
      : profileFor(seed);
    const opts: SimOptions = { seed, ...profile, chaosMs, healBoundMs };
    if (values.trace) opts.trace = (line) => console.log(line);
    const res = runSimulation(opts);
    events += res.stats.events;
    reads += res.stats.readsChecked;
    maxRecovery = Math.max(maxRecovery, res.stats.recoveryMs);
    if (res.ok) recoveries.push([res.stats.recoveryMs, seed]);
    if (!res.ok) {
      failures++;
      console.log(`FAIL seed ${seed}: ${res.error}`);
      console.log(`  replay: ${replayCommand(res.options)}   (add --trace for an event log)`);
      if (!values['keep-going']) break;
    } else if (count === 1) {
      console.log(`ok seed ${seed}: ${JSON.stringify(res.stats)}`);
    }
    if (count > 1 && (seed - first + 1) % 1000 === 0) {
      const secs = (Date.now() - started) / 1000;
      console.log(`${seed - first + 1} seeds, ${failures} failed, ${secs.toFixed(1)}s, max recovery ${maxRecovery}ms`);
    }
  }
  const secs = (Date.now() - started) / 1000;
  console.log(
    `done: ${count} seeds from ${first}, ${failures} failed, ${secs.toFixed(1)}s, ${events} events, ` +
      `${reads} reads checked, max recovery ${maxRecovery}ms`,
  );
  if (recoveries.length > 1) {
    recoveries.sort((a, b) => a[0] - b[0]);
    const pct = (p: number) => recoveries[Math.min(recoveries.length - 1, Math.floor(p * recoveries.length))]![0];
    const slowest = recoveries
      .slice(-5)
      .reverse()
      .map(([ms, seed]) => `${seed}:${ms}ms`)
      .join(' ');
    console.log(
      `recovery after healing: p50 ${pct(0.5)}ms, p99 ${pct(0.99)}ms, p99.9 ${pct(0.999)}ms, max ${maxRecovery}ms (slowest seeds ${slowest})`,
    );
  }
  process.exitCode = failures > 0 ? 1 : 0;
}

main();
