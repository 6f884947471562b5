// Recipe throughput under contention: lock acquisitions/s (N sessions contending for one Mutex:
// lock, check exclusion, unlock) and election terms/s (N sessions campaigning in one Election:
// campaign, proclaim, resign), through @conclave/concurrency and through etcd's Go recipes
// (etcdbench lock / election, clientv3/concurrency), on a 3-member Conclave cluster and a 3-member
// etcd 3.4 cluster started here with the same flags (election timeout 500 ms).
//
//   node --conditions=conclave-source --import tsx packages/concurrency/bench/bench.ts [flags]
//     --target conclave|etcd|both   clusters to start (default both); or --endpoints a,b,c to use running ones
//     --clients N                   contending sessions (default 100, as etcdbench)
//     --conns N                     Client instances the sessions are spread over (default 10, as etcdbench)
//     --total N                     acquisitions / terms per run (default 2000)
//     --etcdbench PATH              default ~/.cache/etcdbench/etcdbench
//
// Prints one line per run and a table at the end. Figures compare runs on one machine only.

import { parseArgs } from 'node:util';
import { Client } from '@conclave/client';
import { Election, Mutex, Session } from '../src/index.js';
import { TestCluster } from '../../../test/helpers/cluster.js';
import { startEtcdCluster } from '../../../test/helpers/etcd-cluster.js';
import { etcdbenchPath, type RunFigures, runEtcdbench } from '../../../test/helpers/etcdbench.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'both' },
    endpoints: { type: 'string' },
    clients: { type: 'string', default: '100' },
    conns: { type: 'string', default: '10' },
    total: { type: 'string', default: '2000' },
    etcdbench: { type: 'string' },
  },
});
const clients = Number(values.clients);
const conns = Number(values.conns);
const total = Number(values.total);
const etcdbench = etcdbenchPath(values.etcdbench, false);

interface Result extends RunFigures {
  server: string;
  who: string;
  op: 'lock' | 'election';
  violations: number;
}

const pct = (sorted: number[], p: number): number => (sorted.length ? sorted[Math.floor(p * (sorted.length - 1))]! : 0);

async function runOurs(server: string, endpoints: string[], op: 'lock' | 'election'): Promise<Result> {
  const cs = Array.from({ length: conns }, () => new Client({ endpoints, timeoutMs: 30_000 }));
  const sessions = await Promise.all(
    Array.from({ length: clients }, (_, w) => Session.create(cs[w % conns]!, { ttl: 10 })),
  );
  const prefix = `${op}bench-ts/${Date.now()}`;
  const lat: number[] = [];
  let errors = 0;
  let violations = 0;
  let inside = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    sessions.map(async (s, w) => {
      const m = new Mutex(s, prefix);
      const e = new Election(s, prefix);
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const t = performance.now();
        try {
          if (op === 'lock') {
            await m.lock();
            if (++inside !== 1) violations++;
            inside--;
            await m.unlock();
          } else {
            await e.campaign(`w${w}`);
            if (++inside !== 1) violations++;
            await e.proclaim(`w${w}-${i}`);
            inside--;
            await e.resign();
          }
          lat.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.all(cs.map((c) => c.close()));
  lat.sort((a, b) => a - b);
  return {
    server,
    who: '@conclave/concurrency',
    op,
    ops: lat.length,
    errors,
    violations,
    opsPerSec: lat.length / secs,
    p50: pct(lat, 0.5),
    p99: pct(lat, 0.99),
  };
}

function runGo(server: string, endpoints: string[], op: 'lock' | 'election'): Result {
  const r = runEtcdbench(etcdbench, { endpoints, conns, clients, total }, op);
  return { server, who: 'etcdbench (Go concurrency)', op, ...r };
}

function print(r: Result): void {
  console.log(
    `${r.server.padEnd(14)} ${r.who.padEnd(27)} ${r.op.padEnd(8)} ${r.opsPerSec.toFixed(0).padStart(6)} /s  p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(7)} ms  (${r.ops} ops, ${r.errors} errors, ${r.violations} violations)`,
  );
}

async function bench(server: string, endpoints: string[]): Promise<Result[]> {
  const out: Result[] = [];
  for (const op of ['lock', 'election'] as const) {
    for (const run of [() => runOurs(server, endpoints, op), async () => runGo(server, endpoints, op)]) {
      const r = await run();
      print(r);
      out.push(r);
    }
  }
  return out;
}

async function main(): Promise<void> {
  console.log(`${clients} contending sessions over ${conns} connections, ${total} operations per run\n`);
  const results: Result[] = [];
  if (values.endpoints) results.push(...(await bench('given', values.endpoints.split(','))));
  else {
    if (values.target === 'conclave' || values.target === 'both') {
      const c = await TestCluster.start(3, { heartbeatMs: 50, electionMs: 500 });
      try {
        results.push(
          ...(await bench(
            'conclave × 3',
            c.members.map((m) => m.endpoint),
          )),
        );
      } finally {
        await c.stop();
      }
    }
    if (values.target === 'etcd' || values.target === 'both') {
      const c = await startEtcdCluster(3);
      try {
        results.push(...(await bench('etcd 3.4 × 3', c.endpoints)));
      } finally {
        await c.stop();
      }
    }
  }
  console.log('\n| server | client | lock acquisitions/s | election terms/s |');
  console.log('|---|---|---|---|');
  for (const server of [...new Set(results.map((r) => r.server))]) {
    for (const who of [...new Set(results.map((r) => r.who))]) {
      const get = (op: string): string =>
        results.find((r) => r.server === server && r.who === who && r.op === op)?.opsPerSec.toFixed(0) ?? '-';
      console.log(`| ${server} | ${who} | ${get('lock')} | ${get('election')} |`);
    }
  }
}

await main();
