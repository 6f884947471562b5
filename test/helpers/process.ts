// Spawning servers for tests: the reference etcd (Debian's etcd-server) and Conclave's own binary,
// with the same etcd flags, on loopback port 0. Each parses the server's JSON log for the address it
// really bound, and stops the process (and removes its temp data dir) on `stop()`.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { etcd35Bin } from './etcd35.js';

export const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');
export const conclaveBin = join(repoRoot, 'packages/server/dist/cli.js');

/** 'etcd' is the reference etcd 3.4 on PATH; 'etcd35' the reference etcd 3.5 (helpers/etcd35.ts). */
export type ServerKind = 'etcd' | 'etcd35' | 'conclave';

export interface ServerProcess {
  kind: ServerKind;
  name: string;
  dataDir: string;
  /** host:port for etcdctl --endpoints and clients. */
  endpoint: string;
  clientUrl: string;
  child: ChildProcess;
  /** Everything the server logged so far. */
  log(): string;
  /** SIGTERM (or the given signal), wait for exit. Keeps the data dir. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Kill and remove the data dir. */
  stop(): Promise<void>;
}

export interface StartOptions {
  name?: string;
  dataDir?: string;
  /** Extra flags, e.g. ['--max-txn-ops', '4']. */
  args?: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
}

function commandFor(kind: ServerKind): { cmd: string; pre: string[] } {
  if (kind === 'etcd') return { cmd: 'etcd', pre: [] };
  if (kind === 'etcd35') return { cmd: etcd35Bin('etcd'), pre: [] };
  return { cmd: process.execPath, pre: [conclaveBin] };
}

/** Who a member is and where it listens (etcd's flags, which Conclave takes too). */
export interface MemberIdentity {
  name: string;
  dataDir: string;
  /** Listened on and advertised. */
  clientUrl: string;
  /** Listened on and advertised. */
  peerUrl: string;
  initialCluster: string;
  /** --initial-cluster-state (etcd's default: new). */
  state?: 'new' | 'existing';
  /** --initial-cluster-token. */
  token?: string;
}

/** The flags that make a member `m`, logging with zap. */
export function memberFlags(m: MemberIdentity): string[] {
  return [
    '--name',
    m.name,
    '--data-dir',
    m.dataDir,
    '--listen-client-urls',
    m.clientUrl,
    '--advertise-client-urls',
    m.clientUrl,
    '--listen-peer-urls',
    m.peerUrl,
    '--initial-advertise-peer-urls',
    m.peerUrl,
    '--initial-cluster',
    m.initialCluster,
    ...(m.state === undefined ? [] : ['--initial-cluster-state', m.state]),
    ...(m.token === undefined ? [] : ['--initial-cluster-token', m.token]),
    '--logger',
    'zap',
  ];
}

export async function startServer(kind: ServerKind, opts: StartOptions = {}): Promise<ServerProcess> {
  const name = opts.name ?? 'default';
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? join(mkdtempSync(join(tmpdir(), `${kind}-test-`)), `${name}.etcd`);
  const { cmd, pre } = commandFor(kind);
  const anyPort = 'http://127.0.0.1:0';
  const args = [
    ...pre,
    ...memberFlags({ name, dataDir, clientUrl: anyPort, peerUrl: anyPort, initialCluster: `${name}=${anyPort}` }),
    ...(opts.args ?? []),
  ];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));

  const address = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => {
      // Never leave a half-started server behind (it would keep the test process alive).
      child.kill('SIGKILL');
      if (ownDir) rmSync(resolve(dataDir, '..'), { recursive: true, force: true });
      rej(new Error(`${kind} did not start within ${opts.timeoutMs ?? 20000} ms:\n${out}`));
    }, opts.timeoutMs ?? 20000);
    const check = (): void => {
      // etcd 3.5 logs a "traffic" field before the address.
      const m =
        /"msg":"serving client traffic (?:insecurely|securely)[^"]*",(?:"traffic":"[^"]*",)?"address":"([^"]+)"/.exec(
          out,
        );
      if (m) {
        clearTimeout(timer);
        res(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`${kind} exited with ${code} before serving:\n${out}`));
    });
  });

  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      await exited;
    }
  };
  return {
    kind,
    name,
    dataDir,
    endpoint: address,
    clientUrl: `http://${address}`,
    child,
    log: () => out,
    kill,
    stop: async () => {
      await kill('SIGKILL');
      if (ownDir) rmSync(resolve(dataDir, '..'), { recursive: true, force: true });
    },
  };
}

/**
 * Sends SIGSTOP and resolves once the process is really stopped (/proc state T): the signal is
 * delivered asynchronously, and a request sent in between could still be answered.
 */
export async function pause(child: { pid?: number; kill(signal: NodeJS.Signals): boolean }): Promise<void> {
  child.kill('SIGSTOP');
  const stat = `/proc/${child.pid}/stat`;
  for (let i = 0; i < 200; i++) {
    const s = readFileSync(stat, 'utf8');
    if (s.slice(s.lastIndexOf(')') + 2).startsWith('T')) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`process ${child.pid} did not stop`);
}
