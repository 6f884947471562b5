#!/usr/bin/env node
// `npm run lincheck`: records concurrent reads, writes and compare-and-swaps through etcd's Go client
// (../shared/lincheck) against a 3-member Conclave cluster while injecting faults, then checks the
// history for linearizability. Faults, one after another: SIGKILL the leader and restart it, SIGSTOP a
// follower for 2 s, partition the leader away from the others (via the peer fault hook), SIGKILL a
// follower and restart it.
//
//   npm run lincheck -- --duration 30 --rounds 2

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const lincheck = process.env.LINCHECK ?? join(homedir(), '.cache/lincheck/lincheck');
if (!existsSync(lincheck)) {
  console.error(`lincheck not found at ${lincheck}: run ../shared/lincheck/build.sh (or set LINCHECK)`);
  process.exit(1);
}
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const duration = opt('duration', 30);
const rounds = opt('rounds', 1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise((res) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });

async function run(round) {
  const dir = mkdtempSync(join(tmpdir(), 'lincheck-'));
  const ms = [];
  for (let i = 0; i < 3; i++)
    ms.push({ name: `m${i}`, cp: await freePort(), pp: await freePort(), faults: join(dir, `f${i}.json`) });
  const ic = ms.map((m) => `${m.name}=http://127.0.0.1:${m.pp}`).join(',');
  const setFaults = (m, block) => {
    writeFileSync(`${m.faults}.tmp`, JSON.stringify({ block }));
    renameSync(`${m.faults}.tmp`, m.faults);
  };
  const start = (m) => {
    m.child = spawn(
      process.execPath,
      [
        join(root, 'packages/server/dist/cli.js'),
        '--name',
        m.name,
        '--data-dir',
        join(dir, m.name),
        '--listen-client-urls',
        `http://127.0.0.1:${m.cp}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${m.cp}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${m.pp}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${m.pp}`,
        '--initial-cluster',
        ic,
        '--log-level',
        'warn',
      ],
      { stdio: 'ignore', env: { ...process.env, CONCLAVE_FAULTS_FILE: m.faults } },
    );
  };
  for (const m of ms) {
    setFaults(m, []);
    start(m);
  }
  const eps = ms.map((m) => `127.0.0.1:${m.cp}`).join(',');
  const status = () => {
    const r = spawnSync(
      'etcdctl',
      ['--endpoints', eps, '--command-timeout', '1s', 'endpoint', 'status', '-w', 'json'],
      { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } },
    );
    try {
      return JSON.parse(r.stdout);
    } catch {
      return [];
    }
  };
  const leader = () => {
    const s = status().find((x) => String(x.Status.leader) === String(x.Status.header.member_id));
    return s ? ms.findIndex((m) => `127.0.0.1:${m.cp}` === s.Endpoint) : -1;
  };
  for (let i = 0; i < 100 && leader() < 0; i++) await sleep(100);
  const ids = status().map((x) => ({ ep: x.Endpoint, id: BigInt(x.Status.header.member_id).toString(16) }));
  const idOf = (m) => ids.find((x) => x.ep === `127.0.0.1:${m.cp}`)?.id;

  const checker = spawn(lincheck, ['-endpoints', eps, '-duration', `${duration}s`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  checker.stdout.on('data', (d) => (out += d));
  const done = new Promise((r) => checker.on('exit', r));
  const log = (s) => console.log(`[round ${round}] ${s}`);
  const faults = async () => {
    await sleep(3000);
    let l = leader();
    if (l >= 0) {
      log(`SIGKILL leader ${ms[l].name}`);
      ms[l].child.kill('SIGKILL');
      await sleep(3000);
      start(ms[l]);
    }
    await sleep(3000);
    l = leader();
    const f = (l + 1) % 3;
    log(`SIGSTOP follower ${ms[f].name} for 2 s`);
    ms[f].child.kill('SIGSTOP');
    await sleep(2000);
    ms[f].child.kill('SIGCONT');
    await sleep(3000);
    l = leader();
    if (l >= 0) {
      log(`partition leader ${ms[l].name} from the others for 3 s`);
      const others = ms.filter((_, i) => i !== l);
      setFaults(ms[l], others.map(idOf));
      for (const o of others) setFaults(o, [idOf(ms[l])]);
      await sleep(3000);
      for (const m of ms) setFaults(m, []);
    }
    await sleep(3000);
    l = leader();
    const g = (l + 2) % 3;
    log(`SIGKILL follower ${ms[g].name}`);
    ms[g].child.kill('SIGKILL');
    await sleep(2000);
    start(ms[g]);
  };
  await Promise.all([faults(), done]);
  for (const m of ms) m.child.kill('SIGKILL');
  await sleep(300);
  rmSync(dir, { recursive: true, force: true });
  const lines = out.trim().split('\n');
  const res = JSON.parse(lines[lines.length - 1]);
  log(lines[lines.length - 2] ?? '');
  return res;
}

let ok = true;
for (let r = 1; r <= rounds; r++) {
  const res = await run(r);
  if (!res.linearizable) ok = false;
}
process.exit(ok ? 0 : 1);
