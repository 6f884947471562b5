// Auth in a 3-member cluster: users, roles and tokens are applied on every member through Raft, so a
// token issued by one member works on the others at once and permissions hold everywhere; a member
// that catches up by snapshot gets the auth state from the leader's database.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import * as grpc from '@grpc/grpc-js';
import { TestCluster } from '../helpers/cluster.js';
import { streamClient } from '../helpers/etcd-streams.js';
import { enableAuthCommands, etcdctl } from '../helpers/etcdctl.js';
import { CallError, RawClient } from '../helpers/grpc.js';
import { waitUntil } from '../helpers/tmp.js';

const A = etcdserverpb.AuthService;
const KV = etcdserverpb.KVService;
const b = (s: string) => Buffer.from(s);

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof CallError) return e.details;
    throw e;
  }
}

const waitFor = (what: string, cond: () => Promise<boolean> | boolean): Promise<void> =>
  waitUntil(what, cond, 20_000, 100);

describe('auth in a 3-member cluster', () => {
  test('tokens work on every member; a member restored from a snapshot knows users, roles and the enabled flag', async () => {
    const cluster = await TestCluster.start(3, { args: ['--bcrypt-cost', '4', '--snapshot-count', '200'] });
    const clients: RawClient[] = [];
    try {
      const leader = await cluster.waitLeader();
      const down = (leader + 1) % 3;
      await cluster.kill(down);
      const live = cluster.members.filter((_, i) => i !== down).map((x) => x.endpoint);
      for (const args of enableAuthCommands('u/')) {
        const r = await etcdctl(live[0]!, args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      }
      const c0 = new RawClient(live[0]!);
      const c1 = new RawClient(live[1]!);
      clients.push(c0, c1);
      // A token issued through one member is known to the other as soon as it applied the entry.
      const uToken = (await c0.unary(A.Authenticate, { name: 'u', password: 'upw' })).token;
      const u = { metadata: { token: uToken } };
      assert.equal(await outcome(c1.unary(KV.Put, { key: b('u/1'), value: b('x') }, u)), 'ok');
      assert.equal(
        await outcome(c1.unary(KV.Put, { key: b('other'), value: b('x') }, u)),
        'etcdserver: permission denied',
      );
      assert.equal(await outcome(c1.unary(KV.Range, { key: b('u/1') })), 'etcdserver: user name is empty');

      // Enough writes for the live members to compact their logs past the down member's position.
      const rootToken = (await c1.unary(A.Authenticate, { name: 'root', password: 'rootpw' })).token;
      const root = { metadata: { token: rootToken } };
      let next = 0;
      await Promise.all(
        Array.from({ length: 50 }, async (_, w) => {
          for (let i = next++; i < 6000; i = next++)
            await [c0, c1][(w + i) % 2]!.unary(KV.Put, { key: b(`fill/${i}`), value: b('v') }, root);
        }),
      );
      await waitFor('a compacted Raft log', () => cluster.members.some((m) => /compacted Raft logs/.test(m.log)));
      await cluster.restart(down);
      const m = cluster.members[down]!;
      await waitFor('the snapshot to be applied', () => /"msg":"applied snapshot"/.test(m.log));
      const c2 = new RawClient(m.endpoint);
      clients.push(c2);
      // What it applied from the snapshot decides now: auth is on, users and roles are there.
      await waitFor(
        'the restored member to serve',
        async () =>
          (await outcome(c2.unary(KV.Range, { key: b('u/1'), serializable: true }))) ===
          'etcdserver: user name is empty',
      );
      // Simple tokens live in each member's memory (as in etcd): those issued while it was down are
      // unknown to it, and clients authenticate again.
      assert.equal(await outcome(c2.unary(KV.Range, { key: b('u/1') }, u)), 'etcdserver: invalid auth token');
      const u2 = { metadata: { token: (await c2.unary(A.Authenticate, { name: 'u', password: 'upw' })).token } };
      const root2 = {
        metadata: { token: (await c2.unary(A.Authenticate, { name: 'root', password: 'rootpw' })).token },
      };
      const got = await c2.unary(KV.Range, { key: b('u/1') }, u2);
      assert.equal(Buffer.from(got.kvs[0]!.value).toString(), 'x');
      assert.equal(
        await outcome(c2.unary(KV.Put, { key: b('fill/0'), value: b('y') }, u2)),
        'etcdserver: permission denied',
      );
      assert.deepEqual((await c2.unary(A.UserList, {}, root2)).users, ['root', 'u']);
      // ... and the token it issued works on the others.
      assert.equal(await outcome(c0.unary(KV.Put, { key: b('u/2'), value: b('z') }, u2)), 'ok');
    } finally {
      try {
        for (const c of clients) c.close();
      } finally {
        await cluster.stop();
      }
    }
  });

  test('a watch on a member that has not applied the token yet waits for it instead of refusing the token', async () => {
    const cluster = await TestCluster.start(3, { args: ['--bcrypt-cost', '4'] });
    const clients: Array<{ close(): void }> = [];
    try {
      const leader = await cluster.waitLeader();
      const lagging = (leader + 1) % 3;
      const other = (leader + 2) % 3;
      const ep = cluster.members[leader]!.endpoint;
      for (const args of enableAuthCommands()) {
        const r = await etcdctl(ep, args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      }
      await waitFor('every member to apply auth enable', async () => {
        const c = new RawClient(cluster.members[lagging]!.endpoint);
        try {
          return (
            (await outcome(c.unary(KV.Range, { key: b('k'), serializable: true }))) === 'etcdserver: user name is empty'
          );
        } finally {
          c.close();
        }
      });
      // The lagging member is cut off, so the Authenticate entry commits without it.
      await cluster.partition([[leader, other], [lagging]]);
      const c0 = new RawClient(ep);
      clients.push(c0);
      const token = (await c0.unary(A.Authenticate, { name: 'root', password: 'rootpw' })).token;
      const md = new grpc.Metadata();
      md.set('token', token);
      const lag = streamClient(cluster.members[lagging]!.endpoint);
      clients.push(lag);
      const w = lag.watch(md);
      w.write({ createRequest: { key: b('w/'), rangeEnd: b('w0') } });
      w.write({ createRequest: { key: b('x') } });
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(w.responses.length, 0, 'no answer while the member does not know the token');
      await cluster.heal();
      const rs = await w.count(2, 8000);
      assert.deepEqual(
        rs.map((r) => [r.watchId, r.created, r.canceled, r.cancelReason]),
        [
          [0n, true, false, ''],
          [1n, true, false, ''],
        ],
      );
      await c0.unary(KV.Put, { key: b('w/1'), value: b('v') }, { metadata: { token } });
      const ev = await w.until((all) => all.some((r) => r.events.length > 0), 8000);
      const got = ev.find((r) => r.events.length > 0)!;
      assert.equal(got.watchId, 0n);
      assert.equal(Buffer.from(got.events[0]!.kv!.key).toString(), 'w/1');
    } finally {
      try {
        for (const c of clients) c.close();
      } finally {
        await cluster.stop();
      }
    }
  });
});
