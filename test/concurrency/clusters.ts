// The clusters the recipe tests run against: 3-member etcd 3.4, etcd 3.5 and Conclave clusters (all
// with a 500 ms election timeout), one of each per test file, reused by its tests. The same test
// bodies run against each (`describeClusters`), with member control for fault tests.

import { after, before, describe } from 'node:test';
import { Client, type ClientOptions } from '@conclave/client';
import { TestCluster } from '../helpers/cluster.js';
import { startEtcdCluster } from '../helpers/etcd-cluster.js';
import { forThisTier } from '../helpers/tier.js';

/** 'etcd' is etcd 3.4, 'etcd35' etcd 3.5. */
export type ClusterKind = 'etcd' | 'etcd35' | 'conclave';

export interface RecipeCluster {
  kind: ClusterKind;
  /** Client endpoint of each member, by index (also while it is down). */
  endpoints: string[];
  /** SIGKILL member i. */
  kill(i: number): Promise<void>;
  /** Starts member i again on its data. */
  restart(i: number): Promise<void>;
  /** Index of the current leader (waits for one). */
  leader(): Promise<number>;
  stop(): Promise<void>;
}

async function start(kind: ClusterKind): Promise<RecipeCluster> {
  if (kind === 'etcd' || kind === 'etcd35') {
    const c = await startEtcdCluster(3, { version: kind === 'etcd35' ? '3.5' : '3.4' });
    return {
      kind,
      endpoints: c.endpoints,
      kill: (i) => c.kill(i),
      restart: (i) => c.restart(i),
      async leader() {
        const deadline = Date.now() + 10_000;
        for (;;) {
          try {
            return await c.leader();
          } catch (e) {
            if (Date.now() > deadline) throw e;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      },
      stop: () => c.stop(),
    };
  }
  const c = await TestCluster.start(3, { heartbeatMs: 50, electionMs: 500 });
  return {
    kind,
    endpoints: c.members.map((m) => m.endpoint),
    kill: (i) => c.kill(i),
    restart: (i) => c.restart(i),
    leader: () => c.waitLeader(),
    stop: () => c.stop(),
  };
}

export interface ClusterContext {
  cluster: RecipeCluster;
  /** A client on every member (closed after the group). */
  client: Client;
  /** Another client (closed after the group unless closed before). */
  newClient(opts?: Partial<ClientOptions>): Client;
  /** A key prefix unique to this call, so tests sharing a cluster do not meet. */
  prefix(name: string): string;
}

let counter = 0;

/**
 * One `describe` group per cluster kind, each with its cluster started once for the group; etcd 3.4
 * in the slow tier (`npm run test:slow`), the others in `npm test` (test/helpers/tier.ts).
 */
export function describeClusters(
  body: (ctx: ClusterContext) => void,
  kinds: ClusterKind[] = ['etcd', 'etcd35', 'conclave'],
): void {
  for (const kind of forThisTier(kinds, (k) => k === 'etcd')) {
    describe(`${kind === 'etcd35' ? 'etcd 3.5' : kind} × 3`, () => {
      const clients: Client[] = [];
      const ctx = {
        newClient(o: Partial<ClientOptions> = {}) {
          const c = new Client({ endpoints: ctx.cluster.endpoints, timeoutMs: 8000, ...o });
          clients.push(c);
          return c;
        },
        prefix: (name: string) => `t${++counter}-${name}`,
      } as ClusterContext;
      before(async () => {
        ctx.cluster = await start(kind);
        ctx.client = ctx.newClient();
      });
      after(async () => {
        await Promise.all(clients.map((c) => c.close()));
        await ctx.cluster?.stop();
      });
      body(ctx);
    });
  }
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 25 ms until it returns true, or fails after `ms`. */
export async function until(fn: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(25);
  }
}
