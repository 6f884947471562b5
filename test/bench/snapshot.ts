// Snapshot save and restore of a large key space, Conclave against etcd (a script, not a test):
//   npm run build && flock /tmp/bench.lock node --conditions=conclave-source --import tsx \
//     test/bench/snapshot.ts WORKDIR [rounds=3] [restore|save|both=both]
// WORKDIR/base.db is the data set: an etcd snapshot. Without one the script makes it first: etcd 3.4
// loaded by etcdbench (`put -total 1000000 -key-space 1000000 -val-size 1024`, etcd's Go client),
// then `etcdctl snapshot save` (about 1.4 GB).
// Restore: `etcdutl snapshot restore` (3.5) and `conclave snapshot restore` of base.db, alternating,
// wall time and the restoring process's peak RSS (GNU time). Save: etcd 3.4 and Conclave serve the
// restored data; `etcdctl snapshot save` (3.4) against each, alternating, wall time, with the
// server's VmRSS and RssAnon sampled every 20 ms (baseline just before, peak during).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { conclaveBin, startServer, type ServerKind } from '../helpers/process.js';
import { etcd35Bin } from '../helpers/etcd35.js';

const ROUNDS = Number(process.argv[3] ?? 3);
const WHAT = process.argv[4] ?? 'both';
if (!process.argv[2]) throw new Error('usage: snapshot.ts WORKDIR [rounds]');
const WORK: string = process.argv[2];
mkdirSync(WORK, { recursive: true });
const BASE = join(WORK, 'base.db');
const ETCDBENCH = join(process.env['HOME'] ?? '/root', '.cache/etcdbench/etcdbench');

const mib = (n: number) => (n / 2 ** 20).toFixed(0);
const run = (cmd: string, args: string[]): void => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
};

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

function memory(pid: number): { rss: number; anon: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(s)![1]) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon') };
}

async function makeBase(): Promise<void> {
  const dir = join(WORK, 'gen');
  rmSync(dir, { recursive: true, force: true });
  const s = await startServer('etcd', { dataDir: dir, args: ['--quota-backend-bytes', String(8 * 2 ** 30)] });
  try {
    console.log('loading 1,000,000 keys of 1 KiB into etcd 3.4 ...');
    run(ETCDBENCH, [
      '-endpoints',
      s.endpoint,
      '-total',
      '1000000',
      '-key-space',
      '1000000',
      '-val-size',
      '1024',
      '-timeout',
      '3600s',
      'put',
    ]);
    run('etcdctl', ['--endpoints', s.endpoint, 'snapshot', 'save', BASE]);
  } finally {
    await s.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Wall seconds, CPU seconds (user + system) and peak RSS (bytes) of a command, through GNU time. */
function timed(cmd: string, args: string[]): { s: number; cpu: number; peak: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  const [s, user, sys, kb] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { s: s!, cpu: user! + sys!, peak: kb! * 1024 };
}

function restore(kind: 'etcdutl' | 'conclave', dir: string): ReturnType<typeof timed> {
  rmSync(dir, { recursive: true, force: true });
  const args = ['snapshot', 'restore', BASE, '--data-dir', dir];
  return kind === 'etcdutl' ? timed(etcd35Bin('etcdutl'), args) : timed(process.execPath, [conclaveBin, ...args]);
}

async function save(
  kind: ServerKind,
  dataDir: string,
): Promise<{ s: number; cpu: number; base: ReturnType<typeof memory>; peak: ReturnType<typeof memory> }> {
  const server = await startServer(kind, {
    dataDir,
    timeoutMs: 600_000,
    args: ['--quota-backend-bytes', String(8 * 2 ** 30)],
  });
  const out = join(WORK, `save-${kind}.db`);
  try {
    const pid = server.child.pid!;
    await new Promise((r) => setTimeout(r, 3000));
    const base = memory(pid);
    const peak = { ...base };
    const timer = setInterval(() => {
      const m = memory(pid);
      peak.rss = Math.max(peak.rss, m.rss);
      peak.anon = Math.max(peak.anon, m.anon);
    }, 20);
    const t0 = performance.now();
    const cpu0 = cpuSeconds(pid);
    const code = await new Promise<number | null>((resolve) => {
      const c = spawn(
        'etcdctl',
        ['--endpoints', server.endpoint, '--command-timeout', '3600s', 'snapshot', 'save', out],
        { stdio: 'ignore' },
      );
      c.once('exit', resolve);
    });
    const s = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    clearInterval(timer);
    if (code !== 0) throw new Error(`etcdctl snapshot save against ${kind} exited with ${code}`);
    return { s, cpu, base, peak };
  } finally {
    rmSync(out, { force: true });
    await server.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  if (!existsSync(BASE)) await makeBase();
  console.log(`data set ${BASE}: ${mib(statSync(BASE).size)} MiB; ${ROUNDS} rounds, sides alternating`);
  const dirs = { etcdutl: join(WORK, 'r-etcd'), conclave: join(WORK, 'r-conclave') };
  for (let i = 0; i < (WHAT === 'save' ? 0 : ROUNDS); i++) {
    for (const kind of i % 2 === 0 ? (['etcdutl', 'conclave'] as const) : (['conclave', 'etcdutl'] as const)) {
      const r = restore(kind, dirs[kind]);
      console.log(
        `restore ${kind.padEnd(8)} round ${i + 1}: ${r.s.toFixed(1)} s, CPU ${r.cpu.toFixed(1)} s, peak RSS ${mib(r.peak)} MiB`,
      );
    }
  }
  // etcd 3.4 serves the data dir etcdutl 3.5 restored (same backend schema), Conclave its own.
  const servers = { etcd: dirs.etcdutl, conclave: dirs.conclave } as const;
  for (let i = 0; i < (WHAT === 'restore' ? 0 : ROUNDS); i++) {
    for (const kind of i % 2 === 0 ? (['etcd', 'conclave'] as const) : (['conclave', 'etcd'] as const)) {
      const r = await save(kind, servers[kind]);
      console.log(
        `save    ${kind.padEnd(8)} round ${i + 1}: ${r.s.toFixed(1)} s, server CPU ${r.cpu.toFixed(1)} s; VmRSS ${mib(r.base.rss)} -> ${mib(r.peak.rss)} MiB ` +
          `(+${mib(r.peak.rss - r.base.rss)}), RssAnon ${mib(r.base.anon)} -> ${mib(r.peak.anon)} MiB (+${mib(r.peak.anon - r.base.anon)})`,
      );
    }
  }
}

await main();
