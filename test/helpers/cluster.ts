// A test cluster of `conclave` processes on loopback: start(n), kill(i) (SIGKILL), restart(i),
// partition(groups) / heal() through the peer transport's fault hook (CONCLAVE_FAULTS_FILE),
// addMember() / removeMember() through etcdctl, and stop() (kills everything, removes temp dirs).
//
// Peer URLs must be known before the members start, so ports are picked by binding port 0 and
// releasing it; the client URL of each member is read from its log like the single-server helper.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClientTls, clientTlsFlags } from './certs.js';
import { etcdctl } from './etcdctl.js';
import { RawClient } from './grpc.js';
import { conclaveBin, memberFlags } from './process.js';
import { portAllocator, retryOnPortClash } from './tmp.js';

export interface ClusterMember {
  name: string;
  /** Index in the cluster (0-based), stable across restarts. */
  index: number;
  peerUrl: string;
  clientPort: number;
  endpoint: string;
  dataDir: string;
  faultsFile: string;
  child: ChildProcess | null;
  log: string;
  /** Member ID in hex, once known. */
  id: string;
  /** Exit code of the member's last process, once it exited (null while it runs or if killed by a signal). */
  exitCode: number | null;
}

export interface ClusterOptions {
  /** Extra flags for every member. */
  args?: string[];
  heartbeatMs?: number;
  electionMs?: number;
  token?: string;
  /** Peer URLs: http, https (needs peer TLS flags in `args`), or unix (etcd's form unix://<name>:<port>, a socket file of that name in the cluster's temp directory). */
  peerScheme?: 'http' | 'https' | 'unix';
  /** Serve clients over TLS with this certificate, requiring client certificates signed by `caFile`. */
  clientTls?: ClientTls;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class TestCluster {
  readonly members: ClusterMember[] = [];
  readonly root = mkdtempSync(join(tmpdir(), 'conclave-cluster-'));
  private token: string;

  private constructor(private readonly opts: ClusterOptions) {
    this.token = opts.token ?? `tc-${process.pid}-${Date.now()}`;
  }

  /**
   * Starts an n-member cluster and waits until every member serves and a leader exists. A port
   * chosen by freePort() can be taken by another process before the member binds it: the start is
   * then tried again on fresh ports.
   */
  static start(n: number, opts: ClusterOptions = {}): Promise<TestCluster> {
    return retryOnPortClash(() => TestCluster.startOnce(n, opts));
  }

  /** Starts an n-member cluster, runs `fn` with it, and stops it whether `fn` succeeded or not. */
  static async using<T>(n: number, opts: ClusterOptions, fn: (c: TestCluster) => Promise<T>): Promise<T> {
    const c = await TestCluster.start(n, opts);
    try {
      return await fn(c);
    } finally {
      await c.stop();
    }
  }

  private static async startOnce(n: number, opts: ClusterOptions): Promise<TestCluster> {
    const c = new TestCluster(opts);
    try {
      for (let i = 0; i < n; i++) await c.allocate();
      const initial = c.initialCluster();
      await Promise.all(c.members.map((m) => c.spawn(m, initial, 'new')));
      await c.waitLeader();
    } catch (err) {
      // Never leave a half-started cluster behind (it would keep the test process alive).
      await c.stop();
      throw err;
    }
    return c;
  }

  private async allocate(): Promise<ClusterMember> {
    const index = this.members.length;
    const name = `m${index}`;
    const m: ClusterMember = {
      name,
      index,
      peerUrl:
        this.opts.peerScheme === 'unix'
          ? `unix://${name}:${index + 1}`
          : `${this.opts.peerScheme ?? 'http'}://127.0.0.1:${await this.port()}`,
      clientPort: await this.port(),
      endpoint: '',
      dataDir: join(this.root, `${name}.etcd`),
      faultsFile: join(this.root, `${name}.faults.json`),
      child: null,
      log: '',
      id: '',
      exitCode: null,
    };
    m.endpoint = `127.0.0.1:${m.clientPort}`;
    this.members.push(m);
    this.writeFaults(m, []);
    return m;
  }

  /** Ports of this cluster's members (never one port twice). */
  private readonly port = portAllocator();

  private initialCluster(members = this.members): string {
    return members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  }

  get endpoints(): string[] {
    return this.members.filter((m) => m.child).map((m) => m.endpoint);
  }

  /** Client URL of every member (running or not), by index. */
  get clientUrls(): string[] {
    return this.members.map((m) => `${this.opts.clientTls ? 'https' : 'http'}://${m.endpoint}`);
  }

  private async spawn(m: ClusterMember, initialCluster: string, state: 'new' | 'existing'): Promise<void> {
    const args = [
      conclaveBin,
      ...memberFlags({
        name: m.name,
        dataDir: m.dataDir,
        clientUrl: `${this.opts.clientTls ? 'https' : 'http'}://${m.endpoint}`,
        peerUrl: m.peerUrl,
        initialCluster,
        state,
        token: this.token,
      }),
      ...clientTlsFlags(this.opts.clientTls),
      '--heartbeat-interval',
      String(this.opts.heartbeatMs ?? 50),
      '--election-timeout',
      String(this.opts.electionMs ?? 500),
      ...(this.opts.args ?? []),
    ];
    // cwd: the temp directory, where unix:// peer sockets (relative paths, as etcd's) are created
    const child = spawn(process.execPath, args, {
      cwd: this.root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CONCLAVE_FAULTS_FILE: m.faultsFile },
    });
    m.child = child;
    m.log = '';
    const onData = (d: Buffer): void => {
      m.log += d.toString();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    m.exitCode = null;
    child.once('exit', (code) => {
      m.exitCode = code;
      if (m.child === child) m.child = null;
    });
    const deadline = Date.now() + 20000;
    while (!/"msg":"serving client traffic/.test(m.log)) {
      if (m.child !== child) throw new Error(`${m.name} exited during start:\n${m.log}`);
      if (Date.now() > deadline) throw new Error(`${m.name} did not start:\n${m.log}`);
      await delay(25);
    }
    const id = /"msg":"starting local member","local-member-id":"([0-9a-f]+)"/.exec(m.log);
    if (id) m.id = id[1]!;
  }

  /** The index of the current leader (asks every live member's status), waiting up to timeoutMs. */
  async waitLeader(timeoutMs = 10000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const idx = await this.leaderIndex();
      if (idx >= 0) return idx;
      if (Date.now() > deadline) throw new Error('no leader elected in time');
      await delay(50);
    }
  }

  /** The index of the member every live member agrees is leader, or -1. */
  async leaderIndex(): Promise<number> {
    const live = this.members.filter((m) => m.child);
    // With client TLS (and client-cert auth) etcdctl has no certificate here: read the members' logs.
    if (this.opts.clientTls) return this.leaderFromLogs(live);
    const r = await etcdctl(live.map((m) => m.endpoint).join(','), [
      'endpoint',
      'status',
      '-w',
      'json',
      '--command-timeout',
      '1s',
    ]);
    if (r.code !== 0 && r.stdout.trim() === '') return -1;
    try {
      const st = JSON.parse(r.stdout) as Array<{
        Endpoint: string;
        Status: { leader: number | string; header: { member_id: number | string } };
      }>;
      const leaders = new Set(st.map((s) => BigInt(s.Status.leader)));
      if (leaders.size !== 1 || leaders.has(0n)) return -1;
      const lead = [...leaders][0]!;
      const who = st.find((s) => BigInt(s.Status.header.member_id) === lead);
      return who ? this.members.findIndex((m) => m.endpoint === who.Endpoint) : -1;
    } catch {
      return -1;
    }
  }

  /** The leader every live member last logged as elected, or -1. */
  private leaderFromLogs(live: ClusterMember[]): number {
    const seen = live.map((m) => [...m.log.matchAll(/elected leader ([0-9a-f]+) at term/g)].at(-1)?.[1]);
    if (seen.some((x) => x === undefined) || new Set(seen).size !== 1) return -1;
    return this.members.findIndex((m) => m.id === seen[0]);
  }

  /** Kills member i (SIGKILL unless another signal is given) and waits for it to exit. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const m = this.members[i]!;
    const c = m.child;
    if (!c) return;
    if (signal !== 'SIGKILL') c.kill('SIGCONT');
    c.kill(signal);
    await new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
    m.child = null;
  }

  /** SIGSTOP: the member keeps its sockets but stops answering. */
  pause(i: number): void {
    this.members[i]!.child?.kill('SIGSTOP');
  }

  resume(i: number): void {
    this.members[i]!.child?.kill('SIGCONT');
  }

  /** Restarts member i on its data dir (the initial-cluster flags are ignored by a restarted member). */
  async restart(i: number): Promise<void> {
    await this.kill(i);
    await this.spawn(this.members[i]!, this.initialCluster(), 'new');
  }

  private writeFaults(m: ClusterMember, block: string[]): void {
    const tmp = `${m.faultsFile}.tmp`;
    writeFileSync(tmp, JSON.stringify({ block }));
    renameSync(tmp, m.faultsFile);
  }

  /** Cuts the network between groups of member indexes (members not listed are cut from everyone). */
  async partition(groups: number[][]): Promise<void> {
    const groupOf = new Map<number, number>();
    groups.forEach((g, gi) => g.forEach((i) => groupOf.set(i, gi)));
    for (const m of this.members) {
      const mine = groupOf.get(m.index);
      const block = this.members
        .filter((o) => o !== m && (mine === undefined || groupOf.get(o.index) !== mine))
        .map((o) => o.id);
      this.writeFaults(m, block);
    }
    await delay(150);
  }

  /** Blocks traffic from `from` to `to` only (an asymmetric partition). */
  async blockOneWay(from: number, to: number): Promise<void> {
    const m = this.members[from]!;
    this.writeFaults(m, [this.members[to]!.id]);
    await delay(150);
  }

  async heal(): Promise<void> {
    for (const m of this.members) this.writeFaults(m, []);
    await delay(150);
  }

  /** Adds a member with etcdctl (voter or learner) and starts it with --initial-cluster-state existing. */
  async addMember(opts: { learner?: boolean } = {}): Promise<number> {
    const m = await this.allocate();
    const r = await etcdctl(this.endpoints.join(','), [
      'member',
      'add',
      m.name,
      `--peer-urls=${m.peerUrl}`,
      ...(opts.learner ? ['--learner'] : []),
    ]);
    if (r.code !== 0) {
      this.members.pop();
      throw new Error(`member add failed: ${r.stderr}`);
    }
    const live = this.members.filter((x) => x === m || x.child);
    await this.spawn(m, this.initialCluster(live), 'existing');
    return m.index;
  }

  /** Removes member i with etcdctl (it stops serving by itself). */
  async removeMember(i: number): Promise<void> {
    const m = this.members[i]!;
    const others = this.members.filter((x) => x !== m && x.child).map((x) => x.endpoint);
    const r = await etcdctl(others.join(','), ['member', 'remove', m.id]);
    if (r.code !== 0) throw new Error(`member remove failed: ${r.stderr}`);
    const c = m.child;
    if (c) await Promise.race([new Promise((res) => c.once('exit', res)), delay(5000)]);
    await this.kill(i);
  }

  private readonly clients: RawClient[] = [];

  /** A gRPC client of member i (plain text, its endpoint as it is now); stop() closes it. */
  client(i: number): RawClient {
    const c = new RawClient(this.members[i]!.endpoint);
    this.clients.push(c);
    return c;
  }

  async stop(): Promise<void> {
    for (const c of this.clients.splice(0)) c.close();
    await Promise.all(this.members.map((_, i) => this.kill(i)));
    rmSync(this.root, { recursive: true, force: true });
  }
}
