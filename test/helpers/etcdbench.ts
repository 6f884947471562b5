// etcd's Go client as the load in the TypeScript benches (packages/client/bench,
// packages/concurrency/bench): where the etcdbench binary is (/work/shared/etcdbench builds it into
// ~/.cache/etcdbench), and one run of it with its last output line read as the result.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './process.js';

const ETCDBENCH_DEFAULT = join(homedir(), '.cache/etcdbench/etcdbench');

/**
 * The etcdbench binary: `given`, else the default path; the default missing, built by
 * ../shared/etcdbench/build.sh when `build` (it prints the path last). Missing otherwise: an error.
 */
export function etcdbenchPath(given: string | undefined, build: boolean): string {
  const path = given || ETCDBENCH_DEFAULT;
  if (existsSync(path)) return path;
  if (given || !build) throw new Error(`etcdbench not found at ${path} (build it with ../shared/etcdbench/build.sh)`);
  const r = spawnSync('bash', [join(repoRoot, '../shared/etcdbench/build.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error('could not build etcdbench');
  return r.stdout.trim().split('\n').pop()!;
}

export interface EtcdbenchLoad {
  endpoints: string[];
  /** gRPC connections (etcdbench's -conns). */
  conns: number;
  /** Concurrent workers. */
  clients: number;
  /** Operations per run. */
  total: number;
}

/** What one closed-loop run measured (etcdbench's runs and the benches' own alike). */
export interface RunFigures {
  ops: number;
  errors: number;
  opsPerSec: number;
  /** Latency percentiles, ms. */
  p50: number;
  p99: number;
}

/**
 * Runs etcdbench's workload `op` (put, range, lock, election, …) with `load` and returns its figures;
 * `violations` (mutual exclusion broken) only for lock and election, 0 elsewhere.
 */
export function runEtcdbench(bin: string, load: EtcdbenchLoad, op: string): RunFigures & { violations: number } {
  const r = spawnSync(
    bin,
    [
      '-endpoints',
      load.endpoints.join(','),
      '-conns',
      String(load.conns),
      '-clients',
      String(load.clients),
      '-total',
      String(load.total),
      op,
    ],
    { encoding: 'utf8' },
  );
  const line = r.stdout.trim().split('\n').pop() ?? '{}';
  const j = JSON.parse(line) as {
    ops: number;
    errors: number;
    violations?: number;
    ops_per_sec: number;
    p50_ms: number;
    p99_ms: number;
  };
  return {
    ops: j.ops,
    errors: j.errors,
    violations: j.violations ?? 0,
    opsPerSec: j.ops_per_sec,
    p50: j.p50_ms,
    p99: j.p99_ms,
  };
}
