// A snapshot taken while writes go on holds exactly one revision: writers keep putting (one key per
// revision) before, during and after `etcdctl snapshot save`; the file's `key` bucket then holds
// every revision from 2 to its revision R and none after, its meta records R's consistent state,
// and a member restored from it reports the same HashKV at R as the source (which has moved on).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BoltReader } from '../../packages/server/src/storage/bbolt/index.js';
import { RawClient } from '../helpers/grpc.js';
import { conclaveBin, startServer, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';
import { etcdserverpb } from '@conclave/api';
import { restoreCluster, run } from './harness.js';

const dir = tempDir('conclave-snapshot-writes');
let source: ServerProcess;
after(async () => {
  await source?.stop();
  dir.cleanup();
});
before(async () => {
  source = await startServer('conclave');
});

test('a snapshot taken while writes continue is one revision', { timeout: 180_000 }, async () => {
  const clients = Array.from({ length: 4 }, () => new RawClient(source.endpoint));
  // Values of 2 KiB so the database is a few MB and the stream takes a while.
  const value = Buffer.alloc(2048, 'v');
  let stop = false;
  let acked = 0;
  const ackedAt: number[] = [];
  const writers = clients.map(async (c, w) => {
    for (let i = 0; !stop; i++) {
      await c.put(`w${w}/${String(i).padStart(7, '0')}`, value);
      acked++;
      ackedAt.push(performance.now());
    }
  });
  const snap = join(dir.path, 'during.db');
  let t0 = 0;
  let t1 = 0;
  try {
    while (acked < 2000) await new Promise((r) => setTimeout(r, 20));
    t0 = performance.now();
    const r = await run('etcdctl', ['--endpoints', source.endpoint, 'snapshot', 'save', snap], { ETCDCTL_API: '3' });
    t1 = performance.now();
    assert.equal(r.code, 0, r.stderr);
    // Let writes go on a little after the save too.
    const saved = acked;
    while (acked < saved + 200) await new Promise((r) => setTimeout(r, 20));
  } finally {
    stop = true;
    await Promise.all(writers);
  }
  const during = ackedAt.filter((t) => t > t0 && t < t1).length;
  assert.ok(during > 0, 'writes were acknowledged while the snapshot streamed');

  // The file: every revision 2..R once (each put is one revision), nothing after R.
  const reader = BoltReader.open(snap, { trailerBytes: 32 });
  let revision = 0;
  try {
    const keys = reader.bucket(Buffer.from('key'))!;
    let expected = 2;
    for (const { key } of reader.entries(keys)) {
      const main = Number(key.readBigUInt64BE(0));
      assert.equal(main, expected, 'revisions without a gap');
      expected++;
    }
    revision = expected - 1;
  } finally {
    reader.close();
  }
  const status = await run(process.execPath, [conclaveBin, 'snapshot', 'status', snap, '-w', 'json']);
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { revision: number }).revision, revision);

  const c = new RawClient(source.endpoint);
  const restored = await restoreCluster('conclave', snap, 1);
  const r = new RawClient(restored.endpoints[0]!);
  try {
    const now = await c.all();
    assert.ok(now.revision > revision + 200, `the source moved on (${now.revision} > ${revision})`);
    const HashKV = etcdserverpb.MaintenanceService.HashKV;
    const [theirs, ours] = await Promise.all([c.unary(HashKV, { revision }), r.unary(HashKV, { revision })]);
    assert.equal(ours.hash, theirs.hash, `HashKV at ${revision}`);
    assert.equal((await r.all()).kvs.length, revision - 1);
  } finally {
    c.close();
    r.close();
    await restored.stop();
    for (const x of clients) x.close();
  }
});
