#!/usr/bin/env node
// `npm run lincheck`: records concurrent reads, writes and compare-and-swaps through etcd's Go client
// (../shared/lincheck) against a 3-member Conclave cluster while injecting faults, then checks the
// history for linearizability. Faults, one after another: SIGKILL the leader and restart it, SIGSTOP a
// follower for 2 s, partition the leader away from the others (via the peer fault hook), SIGKILL a
// follower and restart it.
//
//   npm run lincheck -- --duration 30 --rounds 2

import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandLine, goTool, sleep } from './lib/bench-kit.mjs';
import { endpointStatus, freePort, leaderEndpoint, memberCommand, memberFlags } from './lib/members.mjs';

const lincheck = goTool('lincheck', 'LINCHECK');
const { duration, rounds } = commandLine({ duration: 30, rounds: 1 }, { names: false });

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
    const [cmd, pre] = memberCommand('conclave');
    const flags = memberFlags({
      name: m.name,
      dataDir: join(dir, m.name),
      clientPort: m.cp,
      peerPort: m.pp,
      initialCluster: ic,
    });
    m.child = spawn(cmd, [...pre, ...flags], {
      stdio: 'ignore',
      env: { ...process.env, CONCLAVE_FAULTS_FILE: m.faults },
    });
  };
  for (const m of ms) {
    setFaults(m, []);
    start(m);
  }
  const eps = ms.map((m) => `127.0.0.1:${m.cp}`).join(',');
  const status = () => endpointStatus(eps, '1s');
  const leader = () => {
    const endpoint = leaderEndpoint(status());
    return ms.findIndex((m) => `127.0.0.1:${m.cp}` === endpoint);
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
