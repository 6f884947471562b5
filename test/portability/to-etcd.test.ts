// Conclave → etcd: a snapshot of a Conclave member (≥ 10,000 keys with history, a compaction,
// tombstones, leases, users and roles, auth on) is read by etcdctl 3.4's and etcdutl 3.5's
// `snapshot status`, restored with their `snapshot restore`, and the etcd 3.4 / 3.5 clusters
// (one member and three, each) started from it serve the same keys, revisions, versions, history,
// compaction, leases with their keys, users, roles and permissions, and the same HashKV.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { etcd35Bin } from '../helpers/etcd35.js';
import { conclaveBin, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';
import { fingerprint, hashes, populatedMember, ROOT_PASSWORD, type DatasetInfo, type Fingerprint } from './dataset.js';
import { restoreCluster, run, saveSnapshot, type RestoredCluster } from './harness.js';

const dir = tempDir('conclave-to-etcd');
let source: ServerProcess;
let info: DatasetInfo;
let want: Fingerprint;
let snap: string;

before(async () => {
  ({ server: source, info, want } = await populatedMember('conclave'));
  snap = await saveSnapshot(source.endpoint, join(dir.path, 'conclave.db'));
});
after(async () => {
  await source?.stop();
  dir.cleanup();
});

describe('a Conclave snapshot in etcd', { timeout: 300_000 }, () => {
  test('the source is what the test means to move', () => {
    assert.ok(want.kvs.length >= 10_000, `${want.kvs.length} keys`);
    assert.equal(want.revision, info.revision);
    assert.equal(want.compactRevision, info.compactRevision);
    assert.match(String(want.history[info.compactRevision - 1]), /required revision has been compacted/);
    assert.equal(want.leases.length, 4);
  });

  test('etcdctl 3.4, etcdutl 3.5 and conclave report the same status', async () => {
    const out = await Promise.all([
      run('etcdctl', ['snapshot', 'status', snap, '-w', 'json'], { ETCDCTL_API: '3' }),
      run(etcd35Bin('etcdutl'), ['snapshot', 'status', snap, '-w', 'json']),
      run(process.execPath, [conclaveBin, 'snapshot', 'status', snap, '-w', 'json']),
    ]);
    for (const r of out) assert.equal(r.code, 0, r.stderr);
    const [a, b, c] = out.map((r) => JSON.parse(r.stdout) as { revision: number; totalKey: number });
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
    assert.equal(a!.revision, info.revision);
  });

  const check = async (cluster: RestoredCluster): Promise<void> => {
    try {
      const got = await fingerprint(cluster.endpoints[0]!, info);
      assert.deepEqual(got, want);
      assert.deepEqual(
        await hashes(cluster.endpoints, info.revision),
        cluster.endpoints.map(() => want.hash),
      );
    } finally {
      await cluster.stop();
    }
  };

  test('etcd 3.4, one member, restored by etcdctl 3.4', async () => {
    await check(await restoreCluster('etcd34', snap, 1));
  });

  test('etcd 3.4, three members, restored by etcdctl 3.4', async () => {
    await check(await restoreCluster('etcd34', snap, 3));
  });

  test('etcd 3.5, one member, restored by etcdutl 3.5', async () => {
    await check(await restoreCluster('etcd35', snap, 1));
  });

  test('etcd 3.5, three members, from a snapshot taken by `conclave snapshot save`', async () => {
    const own = join(dir.path, 'conclave-save.db');
    const r = await run(process.execPath, [
      conclaveBin,
      'snapshot',
      'save',
      own,
      '--endpoints',
      source.endpoint,
      '--user',
      `root:${ROOT_PASSWORD}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Snapshot saved at ${own}\n`);
    await check(await restoreCluster('etcd35', own, 3));
  });
});
