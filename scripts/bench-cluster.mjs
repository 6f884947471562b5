#!/usr/bin/env node
// `npm run bench:cluster`: etcdbench against a 3-member reference etcd 3.4 cluster and a 3-member
// Conclave cluster, one after the other, default timeouts (100 ms heartbeat, 1 s election).
// Workloads: put, range-l, range-s, and gap (writes for 10 s while the leader is SIGKILLed after 3 s:
// the longest time between two successful writes is the write-unavailability window).
//
//   npm run bench:cluster                   # all workloads, 2 runs each
//   npm run bench:cluster -- gap --runs 3
//   npm run bench:cluster -- put1 --target follower   # only the leader's / a follower's endpoint
//   npm run bench:cluster -- gap --only conclave       # one side only (no ratio)
//   npm run bench:cluster -- put --no-warm             # only the first run after start
//
// Each fresh cluster runs the workload twice: "cold" is the first run after the members started,
// "warm" the second. Conclave runs on V8, which interprets and then optimizes its code during the
// first seconds of load (etcd is compiled ahead of time), so the cold run mostly measures that
// warm-up, and the warm run measures a member that has been serving, as in production. Both are
// reported. (gap: the cold run is a put load, the warm one the gap measurement.)

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandLine, goTool, lastJsonLine, median, sleep } from './lib/bench-kit.mjs';
import { endpointStatus, etcdctl, freePort, leaderEndpoint, memberCommand, memberFlags } from './lib/members.mjs';

const bench = goTool('etcdbench', 'ETCDBENCH');
const WORKLOADS = {
  put: ['put'],
  'range-l': ['-consistency', 'l', 'range'],
  'range-s': ['-consistency', 's', 'range'],
  // one client, one connection: the latency of a single write / linearizable read
  put1: ['-clients', '1', '-conns', '1', '-total', '3000', 'put'],
  'range-l1': ['-clients', '1', '-conns', '1', '-total', '3000', '-consistency', 'l', 'range'],
  gap: ['-clients', '10', '-duration', '10s', 'gap'],
  watch: ['-watchers', '100', 'watch'],
  lease: ['lease'],
  // 5,000 acquisitions / terms: etcdbench's default 20,000 outlasts its 120 s limit at ~150/s
  lock: ['-total', '5000', 'lock'],
  election: ['-total', '5000', 'election'],
};
const {
  runs,
  target,
  only,
  'no-warm': noWarm,
  names,
} = commandLine({ runs: 2, target: 'all', only: null, 'no-warm': false });
const warm = !noWarm;
if (!['all', 'leader', 'follower'].includes(target)) throw new Error('--target: all, leader or follower');
const selected = names.length ? names : ['put', 'range-l', 'range-s', 'gap'];

async function startCluster(kind, n = 3) {
  const dir = mkdtempSync(join(tmpdir(), `benchc-${kind}-`));
  const ms = [];
  for (let i = 0; i < n; i++) ms.push({ name: `m${i}`, cp: await freePort(), pp: await freePort() });
  const ic = ms.map((m) => `${m.name}=http://127.0.0.1:${m.pp}`).join(',');
  const token = `bench-${Date.now()}`;
  for (const m of ms) {
    const flags = [
      ...memberFlags({
        name: m.name,
        dataDir: join(dir, m.name),
        clientPort: m.cp,
        peerPort: m.pp,
        initialCluster: ic,
      }),
      '--initial-cluster-token',
      token,
    ];
    const [cmd, pre] = memberCommand(kind);
    m.child = spawn(cmd, [...pre, ...flags], { stdio: 'ignore' });
    m.endpoint = `127.0.0.1:${m.cp}`;
  }
  const eps = ms.map((m) => m.endpoint).join(',');
  let ready = false;
  for (let i = 0; i < 300 && !ready; i++) {
    ready = etcdctl(eps, ['put', 'bench-ready', '1']).status === 0;
    if (!ready) await sleep(100);
  }
  if (!ready) throw new Error(`${kind} cluster did not become ready`);
  return {
    endpoints: eps,
    member: (i) => ms[i].endpoint,
    async leaderIndex() {
      const leader = leaderEndpoint(endpointStatus(eps));
      return ms.findIndex((m) => m.endpoint === leader);
    },
    kill(i) {
      ms[i].child.kill('SIGKILL');
    },
    async stop() {
      for (const m of ms) m.child.kill('SIGKILL');
      await sleep(300);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function runBench(c, wl, kill = wl === 'gap') {
  let eps = c.endpoints;
  if (target !== 'all') {
    const leader = await c.leaderIndex();
    eps = c.member(target === 'leader' ? leader : (leader + 1) % 3);
  }
  const child = spawn(bench, ['-endpoints', eps, ...WORKLOADS[wl]], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise((r) => child.on('exit', r));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  let killed = -1;
  if (kill) {
    await sleep(3000);
    killed = await c.leaderIndex();
    if (killed >= 0) c.kill(killed);
  }
  await exited;
  const res = lastJsonLine(out);
  res.killed = killed;
  return res;
}

const summary = [];
const phases = warm ? ['cold', 'warm'] : ['cold'];
for (const wl of selected) {
  const res = { cold: { etcd: [], conclave: [] }, warm: { etcd: [], conclave: [] } };
  for (let i = 0; i < runs; i++) {
    for (const kind of only ? [only] : ['etcd', 'conclave']) {
      const c = await startCluster(kind);
      try {
        for (const phase of phases) {
          // gap kills the leader: its cold run is a put load, the measurement is the warm run
          const load = wl === 'gap' && warm && phase === 'cold' ? 'put' : wl;
          const r = await runBench(c, load, load === 'gap');
          if (load === wl) res[phase][kind].push(r);
          const extra =
            (load === 'gap' ? `  longest gap ${r.max_gap_ms} ms (killed member ${r.killed})` : '') +
            (r.first_error ? `  first error: ${r.first_error}` : '');
          console.log(
            `${load.padEnd(8)} ${kind.padEnd(9)} run ${i + 1} ${phase}: ${r.ops_per_sec.toFixed(0).padStart(7)} ops/s  p50 ${r.p50_ms}ms  p99 ${r.p99_ms}ms  errors ${r.errors}${extra}`,
          );
        }
      } finally {
        await c.stop();
      }
    }
  }
  if (only) continue;
  const key = wl === 'gap' ? 'max_gap_ms' : 'ops_per_sec';
  for (const phase of phases) {
    if (res[phase].etcd.length === 0) continue;
    const e = median(res[phase].etcd.map((r) => r[key]));
    const cc = median(res[phase].conclave.map((r) => r[key]));
    summary.push({
      workload: wl,
      phase,
      metric: key,
      etcd: +e.toFixed(1),
      conclave: +cc.toFixed(1),
      ratio: +(wl === 'gap' ? e / cc : cc / e).toFixed(2),
    });
  }
}
console.log('\nworkload  phase  metric        etcd     conclave   ratio (>1 = conclave better)');
for (const r of summary)
  console.log(
    `${r.workload.padEnd(9)} ${r.phase.padEnd(6)} ${r.metric.padEnd(12)} ${String(r.etcd).padStart(8)} ${String(r.conclave).padStart(10)}   ${r.ratio.toFixed(2)}`,
  );
console.log(JSON.stringify(summary));
