#!/usr/bin/env node
// `npm run bench`: the same etcdbench load (etcd's official Go client) against the reference etcd 3.4
// and against Conclave, one after the other, on fresh single-member servers with identical flags.
// Prints each run and the Conclave/etcd ratio of the medians.
//
//   npm run bench                         # put, put-1client, range-l, range-s, txn
//   npm run bench -- put range-s --runs 3 --total 20000
//   npm run bench -- put --no-warm        # only the first run after start
//
// Each fresh server runs the workload twice: "cold" is the first run after start, "warm" the
// second. Conclave runs on V8, which interprets and then optimizes its code during the first
// seconds of load (etcd is compiled ahead of time); the warm run measures a server that has been
// serving, as in production. Both are reported.
//
// etcdbench comes from ../shared/etcdbench/build.sh (path taken from $ETCDBENCH or ~/.cache/etcdbench).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandLine, goTool, lastJsonLine, median, sleep } from './lib/bench-kit.mjs';
import { etcdctl, freePort, memberCommand, memberFlags } from './lib/members.mjs';

const bench = goTool('etcdbench', 'ETCDBENCH');

const WORKLOADS = {
  put: ['put'],
  'put-1client': ['-clients', '1', '-conns', '1', 'put'],
  'range-l': ['-consistency', 'l', 'range'],
  'range-s': ['-consistency', 's', 'range'],
  // one client: the latency of a serializable read (no disk, no consensus: the gRPC round trip)
  'range-s-1client': ['-clients', '1', '-conns', '1', '-total', '5000', '-consistency', 's', 'range'],
  txn: ['txn'],
  watch: ['-watchers', '100', 'watch'],
  lease: ['lease'],
  lock: ['lock'],
  election: ['election'],
};

const { runs, total, 'no-warm': noWarm, names } = commandLine({ runs: 2, total: null, 'no-warm': false });
const warm = !noWarm;
const selected = names.length ? names : ['put', 'put-1client', 'range-l', 'range-s', 'txn'];

async function startServer(kind) {
  const dir = mkdtempSync(join(tmpdir(), `bench-${kind}-`));
  const [cp, pp] = [await freePort(), await freePort()];
  const flags = memberFlags({ name: 'b', dataDir: join(dir, 'data'), clientPort: cp, peerPort: pp });
  const [cmd, pre] = memberCommand(kind);
  const child = spawn(cmd, [...pre, ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const endpoint = `127.0.0.1:${cp}`;
  for (let i = 0; i < 200; i++) {
    if (etcdctl(endpoint, ['put', 'bench-ready', '1'], { timeout: '1s' }).status === 0) break;
    if (child.exitCode !== null) throw new Error(`${kind} exited: ${err}`);
    await sleep(100);
  }
  return {
    endpoint,
    stop: async () => {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function runBench(endpoint, wl) {
  const extra = total ? ['-total', total] : [];
  const r = spawnSync(bench, ['-endpoints', endpoint, ...extra, ...WORKLOADS[wl]], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  try {
    return lastJsonLine(r.stdout);
  } catch {
    throw new Error(`etcdbench ${wl} failed: ${r.stdout}${r.stderr}`);
  }
}

const summary = [];
const phases = warm ? ['cold', 'warm'] : ['cold'];
for (const wl of selected) {
  if (!WORKLOADS[wl]) throw new Error(`unknown workload ${wl}; known: ${Object.keys(WORKLOADS).join(', ')}`);
  const res = { cold: { etcd: [], conclave: [] }, warm: { etcd: [], conclave: [] } };
  for (let i = 0; i < runs; i++) {
    for (const kind of ['etcd', 'conclave']) {
      const s = await startServer(kind);
      try {
        for (const phase of phases) {
          const r = runBench(s.endpoint, wl);
          res[phase][kind].push(r);
          console.log(
            `${wl.padEnd(12)} ${kind.padEnd(9)} run ${i + 1} ${phase}: ${r.ops_per_sec.toFixed(0).padStart(7)} ops/s  p50 ${r.p50_ms}ms  p99 ${r.p99_ms}ms  errors ${r.errors}${r.first_error ? ` (${r.first_error})` : ''}`,
          );
        }
      } finally {
        await s.stop();
      }
    }
  }
  for (const phase of phases) {
    const { etcd, conclave } = res[phase];
    const e = median(etcd.map((r) => r.ops_per_sec));
    const c = median(conclave.map((r) => r.ops_per_sec));
    summary.push({
      workload: wl,
      phase,
      etcd: Math.round(e),
      conclave: Math.round(c),
      ratio: +(c / e).toFixed(2),
      etcdP99: median(etcd.map((r) => r.p99_ms)),
      conclaveP99: median(conclave.map((r) => r.p99_ms)),
    });
  }
}
console.log('\nworkload      phase  etcd ops/s  conclave ops/s  ratio   p99 etcd / conclave (ms)');
for (const r of summary) {
  console.log(
    `${r.workload.padEnd(13)} ${r.phase.padEnd(5)} ${String(r.etcd).padStart(10)}  ${String(r.conclave).padStart(14)}  ${r.ratio.toFixed(2).padStart(5)}   ${r.etcdP99} / ${r.conclaveP99}`,
  );
}
console.log(JSON.stringify(summary));
