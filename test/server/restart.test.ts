// Restart semantics of the `conclave` binary: a member restarted on its data dir ignores the
// --initial-cluster* flags and recovers its identity, keys, revisions and compaction revision, at a
// higher Raft term; with --snapshot-count it writes .snap files (purging beyond --max-snapshots) and
// a restart — clean or after SIGKILL — starts from the newest snapshot and still has every key.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { etcdserverpb, GrpcCode } from '@conclave/api';
import { callError, RawClient } from '../helpers/grpc.js';
import { startServer, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('conclave-restart');
const running = new Set<ServerProcess>();
after(async () => {
  await Promise.all([...running].map((s) => s.stop()));
  dir.cleanup();
});

async function start(dataDir: string, args: string[] = []): Promise<ServerProcess> {
  const s = await startServer('conclave', { dataDir, args });
  running.add(s);
  return s;
}

async function stop(s: ServerProcess, signal: NodeJS.Signals): Promise<void> {
  await s.kill(signal);
  running.delete(s);
}

async function withClient<T>(s: ServerProcess, fn: (c: RawClient) => Promise<T>): Promise<T> {
  const c = new RawClient(s.endpoint);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

interface Snapshot {
  status: etcdserverpb.StatusResponse;
  hash: etcdserverpb.HashKVResponse;
  members: etcdserverpb.MemberListResponse;
  kvs: Map<string, string>;
  revision: number;
}

async function observe(s: ServerProcess): Promise<Snapshot> {
  return withClient(s, async (c) => {
    const status = await c.unary(etcdserverpb.MaintenanceService.Status, {});
    const hash = await c.unary(etcdserverpb.MaintenanceService.HashKV, { revision: 0 });
    const members = await c.unary(etcdserverpb.ClusterService.MemberList, {});
    const all = await c.all();
    const kvs = new Map(
      all.kvs.map((kv) => [
        Buffer.from(kv.key).toString(),
        `${Buffer.from(kv.value).toString()}@${kv.modRevision}/${kv.version}`,
      ]),
    );
    return { status, hash, members, kvs, revision: all.revision };
  });
}

describe('restart', () => {
  test('a restarted member ignores --initial-cluster and recovers keys, revisions, compaction and identity', async () => {
    const dataDir = join(dir.path, 'a.etcd');
    let s = await start(dataDir);
    await withClient(s, async (c) => {
      for (let i = 0; i < 20; i++) await c.put(`k${i % 7}`, `v${i}`);
      await c.unary(etcdserverpb.KVService.DeleteRange, { key: Buffer.from('k3') });
      await c.unary(etcdserverpb.KVService.Compact, { revision: 15 });
    });
    const before = await observe(s);
    assert.equal(before.revision, 22);
    assert.equal(before.hash.compactRevision, 15n);
    await stop(s, 'SIGTERM');

    // Different cluster flags: a new member with them would get other member and cluster IDs.
    s = await start(dataDir, [
      '--initial-cluster',
      'default=http://127.0.0.1:1,other=http://127.0.0.1:2',
      '--initial-cluster-token',
      'another-cluster',
      '--initial-cluster-state',
      'new',
    ]);
    assert.match(s.log(), /"member-initialized":true/);
    const afterRestart = await observe(s);
    assert.deepEqual(afterRestart.kvs, before.kvs);
    assert.equal(afterRestart.revision, before.revision);
    assert.equal(afterRestart.hash.hash, before.hash.hash);
    assert.equal(afterRestart.hash.compactRevision, 15n);
    assert.equal(afterRestart.status.header!.memberId, before.status.header!.memberId);
    assert.equal(afterRestart.status.header!.clusterId, before.status.header!.clusterId);
    assert.deepEqual(
      afterRestart.members.members.map((m) => [m.ID, m.name, m.peerURLs]),
      before.members.members.map((m) => [m.ID, m.name, m.peerURLs]),
    );
    assert.equal(afterRestart.members.members.length, 1);
    assert.ok(
      afterRestart.status.raftTerm > before.status.raftTerm,
      `term ${afterRestart.status.raftTerm} after ${before.status.raftTerm}`,
    );
    assert.ok(afterRestart.status.raftIndex >= before.status.raftIndex);

    await withClient(s, async (c) => {
      // The compaction survived: below it is compacted, at it is readable.
      const e = await callError(() => c.get('k1', 14));
      assert.deepEqual(
        [e.code, e.details],
        [GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'],
      );
      assert.equal((await c.get('k0', 15)) !== undefined, true);
      // Revisions continue where they were; versions keep counting.
      const put = await c.put('k0', 'after');
      assert.equal(put.header!.revision, 23n);
      const kv = await c.get('k0');
      assert.equal(kv!.version, 4n);
      assert.equal(kv!.createRevision, 2n);
    });
    await stop(s, 'SIGTERM');
  });

  test('--snapshot-count 100: .snap files, purged to --max-snapshots, and restarts from a snapshot keep every key', async () => {
    const dataDir = join(dir.path, 'snap.etcd');
    const flags = ['--snapshot-count', '100', '--max-snapshots', '2'];
    let s = await start(dataDir, flags);
    const want = new Map<string, string>();
    await withClient(s, async (c) => {
      for (let i = 0; i < 460; i += 20) {
        await Promise.all(
          Array.from({ length: 20 }, async (_, j) => {
            const key = `s/${(i + j) % 300}`;
            await c.put(key, `v${i + j}`);
            want.set(key, `v${i + j}`);
          }),
        );
      }
    });
    const snapDir = join(dataDir, 'member', 'snap');
    const snaps = (): string[] =>
      readdirSync(snapDir)
        .filter((n) => n.endsWith('.snap'))
        .sort();
    // A snapshot after every 100 applied entries (~465 here): at least three, all but the newest two purged.
    await new Promise((r) => setTimeout(r, 300));
    assert.ok((s.log().match(/"msg":"saved snapshot"/g) ?? []).length >= 3, s.log());
    assert.match(s.log(), /"msg":"snap: purged"/);
    assert.equal(snaps().length, 2);
    for (const n of snaps()) assert.match(n, /^[0-9a-f]{16}-[0-9a-f]{16}\.snap$/);
    const newest = parseInt(snaps().at(-1)!.slice(17, 33), 16);

    // A crash after the snapshots: the restart loads the newest one and replays the WAL after it.
    await stop(s, 'SIGKILL');
    s = await start(dataDir, flags);
    assert.match(s.log(), new RegExp(`newRaft \\[[^\\]]*\\][^\n]*applied: ${newest},`));
    const check = async (srv: ServerProcess): Promise<void> => {
      const { kvs, revision } = await withClient(srv, (c) => c.all());
      assert.equal(revision, 461);
      assert.equal(kvs.length, want.size);
      for (const kv of kvs) assert.equal(Buffer.from(kv.value).toString(), want.get(Buffer.from(kv.key).toString()));
    };
    await check(s);
    await withClient(s, (c) => c.put('s/after', 'x'));
    want.set('s/after', 'x');
    await stop(s, 'SIGTERM');
    s = await start(dataDir, flags);
    const { kvs } = await withClient(s, (c) => c.all());
    assert.equal(kvs.length, want.size);
    await stop(s, 'SIGTERM');
  });
});
