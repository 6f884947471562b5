// The servers the client's integration tests run against, and the feature matrix saying which test
// groups each one can take. The same test bodies run against every target that has the features
// they need; to run them against a new server (a Conclave cluster, or Conclave once watch, lease
// and auth land), add a target here or widen its feature set.

import { after, before, describe } from 'node:test';
import { Client, type ClientOptions } from '@conclave/client';
import { HTTPS_CLIENT_URLS, clientTlsFlags } from '../helpers/certs.js';
import { startEtcdCluster, type ClusterControl, type EtcdCluster } from '../helpers/etcd-cluster.js';
import { startServer } from '../helpers/process.js';
import { TestCluster } from '../helpers/cluster.js';
import { forThisTier } from '../helpers/tier.js';

export type { ClusterControl };

export type Feature =
  /** Range, Put, DeleteRange, Txn, Compact. */
  | 'kv'
  | 'watch'
  | 'lease'
  /** Status, Alarm, Defragment, Hash, HashKV, Snapshot. */
  | 'maintenance'
  | 'memberList'
  /** MemberAdd / Remove / Update / Promote. */
  | 'memberChange'
  /** More than one member: MoveLeader, failover. */
  | 'multiMember'
  | 'auth'
  /** Client TLS with client-certificate authentication. */
  | 'tls';

export interface Running {
  endpoints: string[];
  /** Present on multi-member targets. */
  cluster?: ClusterControl;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra server flags (etcd's flag names; Conclave takes the same). */
  args?: string[];
  /** Serve clients over TLS, requiring client certificates signed by `caFile`; endpoints are then https://. */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

export interface Target {
  name: string;
  members: number;
  features: ReadonlySet<Feature>;
  start(opts?: StartOptions): Promise<Running>;
}

/** Flags shared by every target (progress notifications every 500 ms for the progressNotify test). */
export const ETCD_TEST_ARGS = ['--experimental-watch-progress-notify-interval', '500ms'];

const ALL: Feature[] = [
  'kv',
  'watch',
  'lease',
  'maintenance',
  'memberList',
  'memberChange',
  'multiMember',
  'auth',
  'tls',
];

async function etcd(n: number, opts: StartOptions = {}, version: '3.4' | '3.5' = '3.4'): Promise<Running> {
  const cluster: EtcdCluster = await startEtcdCluster(n, {
    version,
    args: [...ETCD_TEST_ARGS, ...(opts.args ?? [])],
    ...(opts.tls ? { clientTls: opts.tls } : {}),
  });
  return {
    endpoints: cluster.members.map((m) => m.clientUrl),
    ...(n > 1 && !opts.tls ? { cluster } : {}),
    stop: () => cluster.stop(),
  };
}

async function conclaveCluster(n: number, opts: StartOptions = {}): Promise<Running> {
  const c = await TestCluster.start(n, {
    args: [...ETCD_TEST_ARGS, ...(opts.args ?? [])],
    heartbeatMs: 50,
    electionMs: 500,
    ...(opts.tls ? { clientTls: opts.tls } : {}),
  });
  const control: ClusterControl = {
    get endpoints() {
      return c.members.map((m) => m.endpoint);
    },
    kill: (i, signal) => c.kill(i, signal),
    restart: (i) => c.restart(i),
    pause: (i) => c.pause(i),
    resume: (i) => c.resume(i),
    leader: () => c.waitLeader(),
    addMember: () => c.addMember(),
  };
  return { endpoints: c.clientUrls, ...(opts.tls ? {} : { cluster: control }), stop: () => c.stop() };
}

/** Every target; the etcd 3.4 ones run in the slow tier (`npm run test:slow`), the others in `npm test`. */
export const ALL_TARGETS: readonly Target[] = [
  { name: 'etcd 3.4 × 3', members: 3, features: new Set(ALL), start: (o) => etcd(3, o) },
  {
    name: 'etcd 3.4 × 1',
    members: 1,
    features: new Set(ALL.filter((f) => f !== 'multiMember')),
    start: (o) => etcd(1, o),
  },
  // etcd 3.5, the line users run in production (3.4 is end-of-life).
  { name: 'etcd 3.5 × 3', members: 3, features: new Set(ALL), start: (o) => etcd(3, o, '3.5') },
  {
    name: 'etcd 3.5 × 1',
    members: 1,
    features: new Set(ALL.filter((f) => f !== 'multiMember')),
    start: (o) => etcd(1, o, '3.5'),
  },
  { name: 'conclave × 3', members: 3, features: new Set(ALL), start: (o) => conclaveCluster(3, o) },
  {
    name: 'conclave × 1',
    members: 1,
    features: new Set(ALL.filter((f) => f !== 'multiMember')),
    async start(o) {
      const tls = o?.tls ? [...HTTPS_CLIENT_URLS, ...clientTlsFlags(o.tls)] : [];
      const s = await startServer('conclave', { args: [...tls, ...ETCD_TEST_ARGS, ...(o?.args ?? [])] });
      return { endpoints: [`${o?.tls ? 'https' : 'http'}://${s.endpoint}`], stop: () => s.stop() };
    },
  },
];

/** The targets this tier's tests run against (test/helpers/tier.ts). */
export const TARGETS: readonly Target[] = forThisTier(ALL_TARGETS, (t) => t.name.startsWith('etcd 3.4'));

export function targetsWith(...features: Feature[]): Target[] {
  return TARGETS.filter((t) => features.every((f) => t.features.has(f)));
}

export interface TargetContext {
  target: Target;
  running: Running;
  /** A client on every endpoint of the target (closed after the group). */
  client: Client;
  /** Another client on the same target with extra options (closed after the group). */
  newClient(opts?: Partial<ClientOptions>): Client;
}

/**
 * Defines one `describe` group per target having `features`: the target is started once before the
 * group and stopped after it, with a shared client.
 */
export function describeTargets(
  features: Feature[],
  body: (ctx: TargetContext) => void,
  opts: { client?: Partial<ClientOptions>; server?: StartOptions } = {},
): void {
  for (const target of targetsWith(...features)) {
    describe(target.name, () => {
      const clients: Client[] = [];
      const ctx = {
        target,
        newClient(o: Partial<ClientOptions> = {}) {
          const c = new Client({ endpoints: ctx.running.endpoints, timeoutMs: 8000, ...opts.client, ...o });
          clients.push(c);
          return c;
        },
      } as TargetContext;
      before(async () => {
        ctx.running = await target.start(opts.server);
        ctx.client = ctx.newClient();
      });
      after(async () => {
        await Promise.all(clients.map((c) => c.close()));
        await ctx.running?.stop();
      });
      body(ctx);
    });
  }
}
