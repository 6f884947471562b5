// etcd → Conclave: snapshots of real etcd 3.4 and 3.5 members (≥ 10,000 keys with history, a
// compaction, tombstones, leases, users and roles, auth on), restored by `conclave snapshot
// restore` into Conclave clusters of one member and of three, which then serve the same keys,
// revisions, versions, history, compaction, leases with their keys, users, roles and permissions,
// and the same HashKV. `conclave snapshot status` prints what etcdutl prints for them.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { etcd35Bin } from '../helpers/etcd35.js';
import { conclaveBin, type ServerKind } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';
import { fingerprint, hashes, populatedMember, type DatasetInfo, type Fingerprint } from './dataset.js';
import { restoreCluster, run, saveSnapshot, type RestoredCluster } from './harness.js';

const dir = tempDir('etcd-to-conclave');
after(() => dir.cleanup());

const check = async (cluster: RestoredCluster, info: DatasetInfo, want: Fingerprint): Promise<void> => {
  try {
    assert.deepEqual(await fingerprint(cluster.endpoints[0]!, info), want);
    assert.deepEqual(
      await hashes(cluster.endpoints, info.revision),
      cluster.endpoints.map(() => want.hash),
    );
  } finally {
    await cluster.stop();
  }
};

for (const [kind, label, members] of [
  ['etcd', 'etcd 3.4', [1, 3]],
  ['etcd35', 'etcd 3.5', [1, 3]],
] as Array<[ServerKind, string, number[]]>) {
  describe(`a snapshot of ${label} in Conclave`, { timeout: 300_000 }, () => {
    let info: DatasetInfo;
    let want: Fingerprint;
    let snap: string;
    before(async () => {
      const source = await populatedMember(kind);
      ({ info, want } = source);
      try {
        snap = await saveSnapshot(source.server.endpoint, join(dir.path, `${kind}.db`));
      } finally {
        await source.server.stop();
      }
    });

    test('conclave snapshot status prints what etcdutl prints', async () => {
      for (const w of ['simple', 'table', 'json', 'fields']) {
        const [ours, theirs] = await Promise.all([
          run(process.execPath, [conclaveBin, 'snapshot', 'status', snap, '-w', w]),
          run(etcd35Bin('etcdutl'), ['snapshot', 'status', snap, '-w', w]),
        ]);
        assert.equal(theirs.code, 0, theirs.stderr);
        assert.deepEqual({ code: ours.code, out: ours.stdout }, { code: 0, out: theirs.stdout }, w);
      }
      assert.ok(want.kvs.length >= 10_000);
    });

    for (const n of members) {
      test(`Conclave, ${n === 1 ? 'one member' : `${n} members`}`, async () => {
        await check(await restoreCluster('conclave', snap, n), info, want);
      });
    }
  });
}
