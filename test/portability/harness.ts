// Servers for the portability tests: a cluster of n members of etcd 3.4, etcd 3.5 or Conclave
// whose data dirs come from one snapshot file, each restored with that side's own tool (etcdctl
// 3.4 `snapshot restore`, etcdutl 3.5, `conclave snapshot restore`) with the same flags, then
// started on the ports the restore recorded; and `saveSnapshot` with etcdctl 3.4.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdserverpb } from '@conclave/api';
import { etcd35Bin } from '../helpers/etcd35.js';
import { etcdctl } from '../helpers/etcdctl.js';
import { RawClient } from '../helpers/grpc.js';
import { conclaveBin, memberFlags } from '../helpers/process.js';
import { type RunResult, run as runCommand } from '../helpers/run.js';
import { portAllocator, retryOnPortClash } from '../helpers/tmp.js';
import { ROOT_PASSWORD } from './dataset.js';

export type Side = 'etcd34' | 'etcd35' | 'conclave';

/** Runs a command to completion (in `cwd` if given). */
export function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
  cwd?: string,
): Promise<RunResult> {
  return runCommand(cmd, args, { env, timeoutMs, cwd });
}

/** The restore command of each side: [command, leading args]. */
export function restoreTool(side: Side): [string, string[], Record<string, string>] {
  if (side === 'etcd34') return ['etcdctl', ['snapshot', 'restore'], { ETCDCTL_API: '3' }];
  if (side === 'etcd35') return [etcd35Bin('etcdutl'), ['snapshot', 'restore'], {}];
  return [process.execPath, [conclaveBin, 'snapshot', 'restore'], {}];
}

function serverCommand(side: Side): [string, string[]] {
  if (side === 'etcd34') return ['etcd', []];
  if (side === 'etcd35') return [etcd35Bin('etcd'), []];
  return [process.execPath, [conclaveBin]];
}

/** `etcdctl snapshot save` (3.4) as root; returns the file. */
export async function saveSnapshot(endpoint: string, file: string): Promise<string> {
  const r = await etcdctl(endpoint, ['--user', `root:${ROOT_PASSWORD}`, 'snapshot', 'save', file], {
    timeoutMs: 120_000,
  });
  if (r.code !== 0) throw new Error(`snapshot save failed: ${r.stderr}`);
  return file;
}

export interface RestoredCluster {
  side: Side;
  endpoints: string[];
  logs(): string[];
  stop(): Promise<void>;
}

/** Waits until every member reports the same leader (the restored data has auth on, root's password known). */
export async function waitLeader(endpoints: string[], children: ChildProcess[], logs: string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const clients = endpoints.map((e) => new RawClient(e));
  // etcd 3.5 answers Status only to an admin once auth is on: such members get asked as root
  // (one token each: bcrypt is slow on a loaded machine).
  const tokens: Array<string | undefined> = endpoints.map(() => undefined);
  const status = async (i: number): Promise<bigint> => {
    const c = clients[i]!;
    try {
      const md = tokens[i] ? { metadata: { token: tokens[i]! }, timeoutMs: 3000 } : { timeoutMs: 3000 };
      return (await c.unary(etcdserverpb.MaintenanceService.Status, {}, md)).leader;
    } catch (e) {
      if (!tokens[i] && /user name is empty|permission denied/.test(String(e))) {
        const auth = await c
          .unary(
            etcdserverpb.AuthService.Authenticate,
            { name: 'root', password: ROOT_PASSWORD },
            { timeoutMs: 10_000 },
          )
          .catch(() => undefined);
        tokens[i] = auth?.token;
      }
      return 0n;
    }
  };
  try {
    for (;;) {
      for (let i = 0; i < children.length; i++) {
        if (children[i]!.exitCode !== null) throw new Error(`member ${i} exited:\n${logs[i]!.slice(-3000)}`);
      }
      const leaders = await Promise.all(endpoints.map((_, i) => status(i)));
      if (leaders[0] !== 0n && leaders.every((l) => l === leaders[0])) return;
      if (Date.now() > deadline) {
        throw new Error(
          `no common leader within ${timeoutMs} ms (${leaders.join(', ')}):\n${logs.map((l) => l.slice(-1500)).join('\n---\n')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    for (const c of clients) c.close();
  }
}

/** Restores `snapshot` into n data dirs with `side`'s tool and starts them as one cluster. */
export function restoreCluster(side: Side, snapshot: string, n: number): Promise<RestoredCluster> {
  return retryOnPortClash(() => restoreOnce(side, snapshot, n));
}

async function restoreOnce(side: Side, snapshot: string, n: number): Promise<RestoredCluster> {
  const root = mkdtempSync(join(tmpdir(), `restored-${side}-`));
  const port = portAllocator();
  const token = `restore-${process.pid}-${Date.now()}`;
  const members: Array<{ name: string; client: string; peer: string; dir: string }> = [];
  for (let i = 0; i < n; i++) {
    members.push({
      name: `r${i}`,
      client: `http://127.0.0.1:${await port()}`,
      peer: `http://127.0.0.1:${await port()}`,
      dir: join(root, `r${i}.etcd`),
    });
  }
  const initial = members.map((m) => `${m.name}=${m.peer}`).join(',');
  const children: ChildProcess[] = [];
  const logs: string[] = members.map(() => '');
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null || c.signalCode !== null) return r();
            c.once('exit', () => r());
            c.kill('SIGKILL');
          }),
      ),
    );
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const [tool, pre, env] = restoreTool(side);
    for (const m of members) {
      const args = [
        ...pre,
        snapshot,
        '--data-dir',
        m.dir,
        '--name',
        m.name,
        '--initial-cluster',
        initial,
        '--initial-cluster-token',
        token,
        '--initial-advertise-peer-urls',
        m.peer,
      ];
      const r = await run(tool, args, env);
      if (r.code !== 0) throw new Error(`${side} restore failed (${r.code}): ${r.stderr}`);
    }
    const [cmd, cpre] = serverCommand(side);
    members.forEach((m, i) => {
      const child = spawn(
        cmd,
        [
          ...cpre,
          ...memberFlags({
            name: m.name,
            dataDir: m.dir,
            clientUrl: m.client,
            peerUrl: m.peer,
            initialCluster: initial,
            token,
          }),
          '--election-timeout',
          '1000',
          '--heartbeat-interval',
          '100',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const onData = (d: Buffer): void => {
        logs[i] += d.toString();
        if (logs[i]!.length > 200_000) logs[i] = logs[i]!.slice(-100_000);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      children.push(child);
    });
    const endpoints = members.map((m) => m.client.slice('http://'.length));
    await waitLeader(endpoints, children, logs, 60_000);
    return { side, endpoints, logs: () => logs, stop };
  } catch (e) {
    await stop();
    if (/address already in use/.test(logs.join('\n'))) throw new Error(`EADDRINUSE: ${String(e)}`);
    throw e;
  }
}
