// etcd's corruption checks across a 3-member cluster: a value flipped in one member's LMDB file
// while it is stopped is caught by --experimental-initial-corrupt-check (the member refuses to
// start, with etcd's message and exit code) and by --experimental-corrupt-check-time (the leader
// raises CORRUPT, after which no member applies a write); a healthy cluster under writes and
// compactions never raises the alarm.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { open } from 'lmdb';
import { decodeMessage, encodeMessage, etcdserverpb, mvccpb } from '@conclave/api';
import { TestCluster } from '../helpers/cluster.js';
import { etcdctl } from '../helpers/etcdctl.js';
import { CallError, type RawClient } from '../helpers/grpc.js';

const KV = etcdserverpb.KVService;
const M = etcdserverpb.MaintenanceService;
const { GET } = etcdserverpb.AlarmRequest_AlarmAction;
const { CORRUPT, NONE } = etcdserverpb.AlarmType;
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Changes the first byte of every stored value in a stopped member's backend (as etcd's e2e corruptHash does). */
async function corruptBackend(dataDir: string): Promise<number> {
  const dir = join(dataDir, 'member', 'snap', 'db');
  const file = readdirSync(dir).find((n) => /^kv-\d+\.mdb$/.test(n));
  assert.ok(file, `no LMDB data file in ${dir}`);
  const root = open<Buffer, Buffer>({ path: join(dir, file), noSubdir: true, maxDbs: 16 });
  const kv = root.openDB<Buffer, Buffer>('key', { keyEncoding: 'binary', encoding: 'binary' });
  let changed = 0;
  await root.transaction(() => {
    for (const { key, value } of kv.getRange()) {
      const m = decodeMessage(mvccpb.KeyValue, value);
      if (m.value.length === 0) continue;
      const v = Buffer.from(m.value);
      v[0] = (v[0]! + 1) & 0xff;
      kv.putSync(key, Buffer.from(encodeMessage(mvccpb.KeyValue, { ...m, value: v })));
      changed++;
    }
  });
  await root.close();
  return changed;
}

/** A 3-member cluster started with `args` and a client of each member, for the length of `fn`. */
function withCluster(args: string[], fn: (c: TestCluster, cs: RawClient[]) => Promise<void>): Promise<void> {
  return TestCluster.using(3, { args }, (c) => {
    const cs = c.members.map((_, i) => c.client(i));
    return fn(c, cs);
  });
}

/** Waits until every member reports the same revision (all applied the same writes). */
async function waitSameRevision(cs: RawClient[]): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const revs = await Promise.all(
      cs.map(async (c) => (await c.unary(KV.Range, { key: Buffer.from('x'), serializable: true })).header!.revision),
    );
    if (new Set(revs).size === 1) return;
    await delay(50);
  }
  throw new Error('members did not converge');
}

async function putKeys(c: RawClient, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await c.unary(KV.Put, { key: Buffer.from(`foo${String(i).padStart(5, '0')}`), value: Buffer.from(`v${i}`) });
  }
}

describe('corruption checks', () => {
  test('initial check: a member whose data differs from its peers refuses to start, with etcd message and exit code 1', () =>
    withCluster(['--experimental-initial-corrupt-check'], async (c, cs) => {
      const m0 = c.members[0]!;
      assert.match(m0.log, /"msg":"initial corruption checking passed; no corruption"/);
      await putKeys(cs[1]!, 10);
      await waitSameRevision(cs);
      // a healthy restart passes the check against the two running peers
      await c.kill(0, 'SIGTERM');
      await c.restart(0);
      assert.match(m0.log, /"msg":"initial corruption checking passed; no corruption"/);
      assert.doesNotMatch(m0.log, /found different hash values/);
      await c.kill(0, 'SIGTERM');
      assert.ok((await corruptBackend(m0.dataDir)) >= 10);
      await assert.rejects(c.restart(0), /exited during start/);
      assert.equal(m0.exitCode, 1);
      assert.match(m0.log, /"msg":"found different hash values from remote peer"/);
      assert.match(
        m0.log,
        new RegExp(`"msg":"discovery failed","error":"${m0.id} found data inconsistency with peers"`),
      );
      assert.doesNotMatch(m0.log, /serving client traffic|became (leader|candidate|pre-candidate)/);
    }));

  test('periodic check: the leader raises CORRUPT (member 0); every member then refuses writes, reads still work', () =>
    withCluster(['--experimental-corrupt-check-time=300ms'], async (c, cs) => {
      await putKeys(cs[0]!, 5);
      await waitSameRevision(cs);
      assert.deepEqual((await cs[0]!.unary(M.Alarm, { action: GET, alarm: NONE })).alarms, []);
      const leader = await c.waitLeader();
      const victim = (leader + 1) % 3;
      await c.kill(victim, 'SIGTERM');
      assert.ok((await corruptBackend(c.members[victim]!.dataDir)) >= 5);
      await c.restart(victim);
      let alarms: etcdserverpb.AlarmMember[] = [];
      for (let i = 0; i < 300 && alarms.length === 0; i++) {
        await delay(100);
        alarms = (await cs[leader]!.unary(M.Alarm, { action: GET, alarm: NONE })).alarms;
      }
      assert.deepEqual(
        alarms.map((a) => [a.memberID, a.alarm]),
        [[0n, CORRUPT]],
      );
      // etcdctl prints the alarm member in protobuf text form (member 0 is omitted, as with etcd)
      assert.equal((await etcdctl(c.endpoints.join(','), ['alarm', 'list'])).stdout, 'alarm:CORRUPT \n');
      assert.match(c.members[leader]!.log, /"msg":"alarm raised","alarm":"CORRUPT","from":"0"/);
      const corruptErr = (e: unknown) =>
        e instanceof CallError && e.code === 15 && e.details === 'etcdserver: corrupt cluster';
      for (const client of cs) {
        await waitSameRevision(cs);
        await assert.rejects(client.unary(KV.Put, { key: Buffer.from('after'), value: Buffer.from('x') }), corruptErr);
        await assert.rejects(client.unary(KV.DeleteRange, { key: Buffer.from('foo00000') }), corruptErr);
        await assert.rejects(client.unary(KV.Compact, { revision: 2n }), corruptErr);
        const got = await client.unary(KV.Range, { key: Buffer.from('foo00001') });
        assert.equal(got.kvs.length, 1);
      }
      const range = await cs[leader]!.unary(KV.Range, { key: Buffer.from('after') });
      assert.equal(range.kvs.length, 0, 'no write was applied after the alarm');
      const health = await fetch(`http://${c.members[leader]!.endpoint}/health`).then((r) => r.text());
      assert.equal(health, '{"health":"false"}\n');
    }));

  test('a healthy cluster under concurrent writes and compactions never raises the alarm', () =>
    withCluster(['--experimental-corrupt-check-time=100ms'], async (c, cs) => {
      const until = Date.now() + 4000;
      let n = 0;
      await Promise.all(
        cs.map(async (client, i) => {
          while (Date.now() < until) {
            const r = await client.unary(KV.Put, { key: Buffer.from(`k${i}-${n++ % 7}`), value: Buffer.from(`v${n}`) });
            if (n % 40 !== 0) continue;
            // Another client may already have compacted past this revision: etcd answers that case with
            // ErrCompacted, which is the only error tolerated here.
            await client.unary(KV.Compact, { revision: r.header!.revision - 5n }).catch((e: unknown) => {
              if (!(e instanceof CallError && /required revision has been compacted/.test(e.message))) throw e;
            });
          }
        }),
      );
      await delay(500);
      // (leadership may have moved under load: some leader checked both peers)
      assert.ok(
        c.members.some((m) => /"msg":"finished peer corruption check","number-of-peers-checked":2/.test(m.log)),
      );
      assert.deepEqual((await cs[0]!.unary(M.Alarm, { action: GET, alarm: NONE })).alarms, []);
      for (const m of c.members) assert.doesNotMatch(m.log, /alarm raised|hash mismatch|must match|must be less/);
    }));
});
