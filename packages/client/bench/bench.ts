// Client overhead: the same closed-loop workload (put, then range, 100 concurrent callers) through
// @conclave/client and through etcd's Go client (etcdbench, /work/shared/etcdbench), one after the
// other, against the same server.
//
//   node --conditions=conclave-source --import tsx packages/client/bench/bench.ts [flags]
//     --server etcd|conclave   server to start (default etcd); or --endpoints host:port,... to use a running one
//     --total N                operations per run (default 20000)
//     --clients N              concurrent callers (default 100)
//     --conns N,M              connections (Client instances) for @conclave/client runs (default 1,10)
//     --etcdbench PATH         etcdbench binary (default ~/.cache/etcdbench/etcdbench, built if missing)
//
// Prints one line per run and a table at the end. Numbers are for comparison on one machine only.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '../src/index.js';
import { startServer, type ServerProcess } from '../../../test/helpers/process.js';

const here = resolve(fileURLToPath(import.meta.url), '..');
const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'etcd' },
    endpoints: { type: 'string' },
    total: { type: 'string', default: '20000' },
    clients: { type: 'string', default: '100' },
    conns: { type: 'string', default: '1,10' },
    etcdbench: { type: 'string' },
  },
});
const total = Number(values.total);
const clients = Number(values.clients);
const connsList = values.conns!.split(',').map(Number);
const keySpace = 10_000;
const value = 'v'.repeat(256);
const key = (i: number): string => `bench/${String(i).padStart(8, '0')}`;

interface Result {
  who: string;
  op: string;
  ops: number;
  errors: number;
  opsPerSec: number;
  p50: number;
  p99: number;
}

function etcdbenchPath(): string {
  if (values.etcdbench) return values.etcdbench;
  const p = join(homedir(), '.cache/etcdbench/etcdbench');
  if (existsSync(p)) return p;
  const r = spawnSync('bash', [resolve(here, '../../../../shared/etcdbench/build.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error('could not build etcdbench');
  return r.stdout.trim().split('\n').pop()!;
}

function runEtcdbench(bin: string, endpoints: string, op: 'put' | 'range'): Result {
  const r = spawnSync(
    bin,
    ['--endpoints', endpoints, '--conns', '10', '--clients', String(clients), '--total', String(total), op],
    { encoding: 'utf8' },
  );
  const line = r.stdout.trim().split('\n').pop() ?? '{}';
  const j = JSON.parse(line) as { ops: number; errors: number; ops_per_sec: number; p50_ms: number; p99_ms: number };
  return {
    who: 'etcdbench (Go clientv3, 10 conns)',
    op,
    ops: j.ops,
    errors: j.errors,
    opsPerSec: j.ops_per_sec,
    p50: j.p50_ms,
    p99: j.p99_ms,
  };
}

async function runOurs(endpoints: string[], op: 'put' | 'range', conns: number): Promise<Result> {
  const cs = Array.from({ length: conns }, () => new Client({ endpoints, timeoutMs: 30_000 }));
  if (op === 'range') for (let i = 0; i < 100; i++) await cs[0]!.put(key(i), value);
  // warm up every connection
  await Promise.all(cs.map((c) => c.get(key(0))));
  const lat: number[] = [];
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, w) => {
      const c = cs[w % conns]!;
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const s = performance.now();
        try {
          if (op === 'put') await c.put(key(Math.floor(Math.random() * keySpace)), value);
          else {
            const kv = await c.get(key(Math.floor(Math.random() * 100)));
            if (!kv) throw new Error('missing key');
          }
          lat.push(performance.now() - s);
        } catch {
          errors++;
        }
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  await Promise.all(cs.map((c) => c.close()));
  lat.sort((a, b) => a - b);
  const pct = (p: number): number => lat[Math.floor(p * (lat.length - 1))] ?? 0;
  return {
    who: `@conclave/client (${conns} conn${conns > 1 ? 's' : ''})`,
    op,
    ops: lat.length,
    errors,
    opsPerSec: lat.length / secs,
    p50: pct(0.5),
    p99: pct(0.99),
  };
}

const fmt = (r: Result): string =>
  `${r.who.padEnd(34)} ${r.op.padEnd(6)} ${Math.round(r.opsPerSec).toString().padStart(7)} ops/s  p50 ${r.p50.toFixed(2).padStart(6)} ms  p99 ${r.p99.toFixed(2).padStart(6)} ms  (${r.ops} ok, ${r.errors} errors)`;

let server: ServerProcess | undefined;
let endpoints: string;
if (values.endpoints) endpoints = values.endpoints;
else {
  server = await startServer(values.server === 'conclave' ? 'conclave' : 'etcd');
  endpoints = server.endpoint;
}
const bin = etcdbenchPath();
const results: Result[] = [];
try {
  console.log(
    `server: ${values.endpoints ? endpoints : `${values.server} at ${endpoints}`}; ${clients} concurrent callers, ${total} ops per run`,
  );
  for (const op of ['put', 'range'] as const) {
    const r1 = runEtcdbench(bin, endpoints, op);
    console.log(fmt(r1));
    results.push(r1);
    for (const n of connsList) {
      const r2 = await runOurs(endpoints.split(','), op, n);
      console.log(fmt(r2));
      results.push(r2);
    }
  }
} finally {
  await server?.stop();
}
console.log('\n| client | op | ops/s | p50 ms | p99 ms |\n|---|---|---|---|---|');
for (const r of results)
  console.log(`| ${r.who} | ${r.op} | ${Math.round(r.opsPerSec)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`);
