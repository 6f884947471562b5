// A member that was down while the others compacted their log past its position catches up by a
// snapshot (the leader streams its database); a 5-member cluster survives two failures.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { TestCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/grpc.js';
import { waitUntil } from '../helpers/tmp.js';

const KV = etcdserverpb.KVService;
const M = etcdserverpb.MaintenanceService;
const b = (s: string) => Buffer.from(s);

async function putMany(endpoints: string[], prefix: string, n: number, concurrency = 50): Promise<void> {
  const clients = endpoints.map((e) => new RawClient(e));
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        for (let i = next++; i < n; i = next++) {
          await clients[(w + i) % clients.length]!.unary(KV.Put, { key: b(`${prefix}/${i}`), value: b(`value-${i}`) });
        }
      }),
    );
  } finally {
    for (const c of clients) c.close();
  }
}

async function hashAt(endpoint: string, revision: bigint): Promise<number> {
  const c = new RawClient(endpoint);
  try {
    return (await c.unary(M.HashKV, { revision })).hash;
  } finally {
    c.close();
  }
}

async function revisionOf(endpoint: string): Promise<bigint> {
  const c = new RawClient(endpoint);
  try {
    return (await c.unary(M.Status, {})).header!.revision;
  } finally {
    c.close();
  }
}

const waitFor = (what: string, cond: () => Promise<boolean> | boolean): Promise<void> =>
  waitUntil(what, cond, 15_000, 100);

describe('snapshots and larger clusters', () => {
  test('a member down past log compaction catches up by snapshot', async () => {
    const cluster = await TestCluster.start(3, { args: ['--snapshot-count', '200'] });
    try {
      const down = ((await cluster.waitLeader()) + 1) % 3;
      await cluster.kill(down);
      const live = cluster.endpoints;
      // More than the 5,000 entries a leader keeps after a snapshot for slow followers.
      await putMany(live, 'snap', 6000);
      await waitFor('a compacted Raft log on the leader', () =>
        cluster.members.some((m) => /compacted Raft logs/.test(m.log)),
      );
      await cluster.restart(down);
      const m = cluster.members[down]!;
      await waitFor('the snapshot to be applied', () => /"msg":"applied snapshot"/.test(m.log));
      const rev = await revisionOf(live[0]!);
      await waitFor('the restarted member to reach the revision', async () => (await revisionOf(m.endpoint)) >= rev);
      assert.equal(await hashAt(m.endpoint, rev), await hashAt(live[0]!, rev));
      // And it keeps following: a write after the snapshot reaches it.
      await putMany(live, 'after', 10, 2);
      const rev2 = await revisionOf(live[0]!);
      await waitFor('the write after the snapshot', async () => (await revisionOf(m.endpoint)) >= rev2);
    } finally {
      await cluster.stop();
    }
  });

  test('a 5-member cluster keeps serving with two members (one the leader) down', async () => {
    const cluster = await TestCluster.start(5);
    try {
      const leader = await cluster.waitLeader();
      const other = (leader + 2) % 5;
      await cluster.kill(leader);
      await cluster.kill(other);
      await cluster.waitLeader(5000);
      await putMany(cluster.endpoints, 'five', 100, 10);
      await cluster.restart(leader);
      await cluster.restart(other);
      const rev = await revisionOf(cluster.endpoints[0]!);
      await waitFor('all five to catch up', async () => {
        for (const e of cluster.endpoints) if ((await revisionOf(e)) < rev) return false;
        return true;
      });
      const hashes = new Set(await Promise.all(cluster.endpoints.map((e) => hashAt(e, rev))));
      assert.equal(hashes.size, 1);
    } finally {
      await cluster.stop();
    }
  });
});
