// A real etcd cluster (3.4 from PATH, or 3.5 with `version: '3.5'`) of N members on loopback for tests. Peers must know each other's URLs up
// front, so ports are chosen first (bind port 0, read it, close). `kill(i)` SIGKILLs a member,
// `restart(i)` starts it again on the same ports and data, `addMember()` adds one through MemberAdd
// (etcdctl) and starts it with --initial-cluster-state existing, `stop()` kills everything and
// removes the data directories.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClientTls, clientTlsFlags } from './certs.js';
import { etcd35Bin } from './etcd35.js';
import { etcdctl } from './etcdctl.js';
import { memberFlags } from './process.js';
import { portAllocator, retryOnPortClash } from './tmp.js';

export interface EtcdMember {
  name: string;
  /** "127.0.0.1:port" for clients. */
  endpoint: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  child: ChildProcess | undefined;
  log: string;
  running: boolean;
}

/**
 * Member control for fault tests: what this etcd cluster offers, and what the client tests ask of
 * every multi-member target (test/client/targets.ts gives a Conclave cluster the same shape).
 */
export interface ClusterControl {
  /** Client endpoint of each member, by index (running or not). */
  readonly endpoints: string[];
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  restart(i: number): Promise<void>;
  /** SIGSTOP / SIGCONT: the member keeps its sockets but stops answering. */
  pause(i: number): void;
  resume(i: number): void;
  /** Index of the current leader (asks a running member). */
  leader(): Promise<number>;
  /** Adds a member (MemberAdd, then start it); returns its index. */
  addMember(): Promise<number>;
}

export interface EtcdCluster extends ClusterControl {
  members: EtcdMember[];
  stop(): Promise<void>;
}

export interface EtcdClusterOptions {
  /** Extra etcd flags for every member. */
  args?: string[];
  timeoutMs?: number;
  /** Serve clients over TLS with this certificate, requiring client certificates signed by `caFile`. */
  clientTls?: ClientTls;
  /** Which reference etcd: Debian's 3.4 on PATH (default) or 3.5 (helpers/etcd35.ts). */
  version?: '3.4' | '3.5';
}

const FAST = ['--election-timeout', '500', '--heartbeat-interval', '100'];

/**
 * Starts the cluster. A port chosen by freePort() can be taken by another process (another test
 * file's connection) before etcd binds it: the start is then tried again on fresh ports.
 */
export function startEtcdCluster(n: number, opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  return retryOnPortClash(() => startOnce(n, opts));
}

async function startOnce(n: number, opts: EtcdClusterOptions): Promise<EtcdCluster> {
  const root = mkdtempSync(join(tmpdir(), 'etcd-cluster-'));
  const token = `t-${process.pid}-${Date.now()}`;
  const members: EtcdMember[] = [];
  const port = portAllocator();
  const newMember = async (i: number): Promise<EtcdMember> => {
    const [cp, pp] = [await port(), await port()];
    return {
      name: `m${i}`,
      endpoint: `127.0.0.1:${cp}`,
      clientUrl: `${opts.clientTls ? 'https' : 'http'}://127.0.0.1:${cp}`,
      peerUrl: `http://127.0.0.1:${pp}`,
      dataDir: join(root, `m${i}.etcd`),
      child: undefined,
      log: '',
      running: false,
    };
  };
  for (let i = 0; i < n; i++) members.push(await newMember(i));
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const v35 = opts.version === '3.5';
  const etcdBin = v35 ? etcd35Bin('etcd') : 'etcd';
  // etcdctl of the same version as the servers (for leader() and addMember()).
  const ctl = (endpoint: string, args: string[]) => etcdctl(endpoint, args, v35 ? { bin: etcd35Bin('etcdctl') } : {});

  const launch = (m: EtcdMember, initialCluster: string, state: 'new' | 'existing'): Promise<void> => {
    const args = [
      ...memberFlags({ ...m, initialCluster, state, token }),
      ...FAST,
      ...clientTlsFlags(opts.clientTls),
      ...(opts.args ?? []),
    ];
    const child = spawn(etcdBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    m.child = child;
    m.log = '';
    m.running = true;
    const onData = (d: Buffer): void => {
      m.log += d.toString();
      if (m.log.length > 200_000) m.log = m.log.slice(-100_000);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', () => {
      if (m.child === child) m.running = false;
    });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`etcd ${m.name} did not start within ${timeoutMs} ms:\n${m.log.slice(-3000)}`));
      }, timeoutMs);
      const check = (): void => {
        if (/serving client traffic/.test(m.log)) {
          cleanup();
          resolve();
        }
      };
      const onExit = (code: number | null): void => {
        cleanup();
        reject(new Error(`etcd ${m.name} exited with ${code}:\n${m.log.slice(-3000)}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        child.stderr!.off('data', check);
        child.off('exit', onExit);
      };
      child.stdout!.on('data', check);
      child.stderr!.on('data', check);
      child.once('exit', onExit);
      check();
    });
  };

  const initial = (): string => members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const kill = async (i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const m = members[i]!;
    const c = m.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) {
      m.running = false;
      return;
    }
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    await exited;
    m.running = false;
  };

  const cluster: EtcdCluster = {
    members,
    get endpoints() {
      return members.map((m) => m.endpoint);
    },
    kill,
    restart: (i) => launch(members[i]!, initial(), 'new'),
    pause: (i) => void members[i]!.child?.kill('SIGSTOP'),
    resume: (i) => void members[i]!.child?.kill('SIGCONT'),
    async leader() {
      for (const m of members) {
        if (!m.running) continue;
        const r = await ctl(m.endpoint, ['endpoint', 'status', '-w', 'json']);
        if (r.code !== 0) continue;
        const st = JSON.parse(r.stdout) as { Status: { header: { member_id: number }; leader: number } }[];
        const leaderId = st[0]!.Status.leader;
        for (let i = 0; i < members.length; i++) {
          if (!members[i]!.running) continue;
          const s = await ctl(members[i]!.endpoint, ['endpoint', 'status', '-w', 'json']);
          if (s.code !== 0) continue;
          const me = (JSON.parse(s.stdout) as { Status: { header: { member_id: number } } }[])[0]!.Status.header
            .member_id;
          if (me === leaderId) return i;
        }
      }
      throw new Error('no leader found');
    },
    async addMember() {
      const i = members.length;
      const m = await newMember(i);
      const running = members.find((x) => x.running);
      if (!running) throw new Error('no running member to add through');
      // etcd refuses membership changes until its peers have been connected for 5 s
      const deadline = Date.now() + 15_000;
      for (;;) {
        const r = await ctl(running.endpoint, ['member', 'add', m.name, `--peer-urls=${m.peerUrl}`]);
        if (r.code === 0) break;
        if (!/unhealthy cluster/.test(r.stderr) || Date.now() > deadline)
          throw new Error(`member add failed: ${r.stderr}`);
        await new Promise((res) => setTimeout(res, 500));
      }
      members.push(m);
      await launch(m, initial(), 'existing');
      return i;
    },
    async stop() {
      for (const m of members) m.child?.kill('SIGCONT');
      await Promise.all(members.map((_, i) => kill(i)));
      rmSync(root, { recursive: true, force: true });
    },
  };

  try {
    await Promise.all(members.map((m) => launch(m, initial(), 'new')));
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
