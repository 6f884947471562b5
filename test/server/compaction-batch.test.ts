// --experimental-compaction-batch-limit, against etcd 3.4 and 3.5: a compaction deletes old
// revisions in batches of that many revisions, one backend transaction each, with a db pause
// observed per full batch (etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds) and the
// last, shorter batch finishing the compaction. The same history and compaction must give the same
// batch count and the same deleted-key count as etcd 3.4 (the version Conclave reports; etcd 3.5
// counts the last batch too), and the same data afterwards.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { RawClient } from '../helpers/grpc.js';
import { http1 } from '../helpers/http.js';
import { startServer, type ServerKind, type ServerProcess } from '../helpers/process.js';

const KV = etcdserverpb.KVService;
const KINDS: ServerKind[] = ['etcd', 'etcd35', 'conclave'];
const servers: ServerProcess[] = [];
const clients: RawClient[] = [];
const b = (s: string): Buffer => Buffer.from(s);

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.stop()));
});

/** A sample of a metrics family without labels ("" when the member does not export it). */
function sample(text: string, name: string): string {
  return new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? '';
}

/** Writes 50 revisions (5 keys, 10 versions each), compacts at the last one, reads the metrics. */
async function compactAndMeasure(s: ServerProcess): Promise<{ pauses: string; keys: string; left: string }> {
  const c = new RawClient(s.endpoint);
  clients.push(c);
  let rev = 0n;
  for (let i = 0; i < 50; i++)
    rev = (await c.unary(KV.Put, { key: b(`k${i % 5}`), value: b(`v${i}`) })).header!.revision;
  await c.unary(KV.Compact, { revision: rev, physical: true });
  const m = (await http1(s.clientUrl, 'GET', '/metrics')).body;
  const range = await c.unary(KV.Range, { key: b('k'), rangeEnd: b('l') });
  return {
    pauses: sample(m, 'etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds_count'),
    keys: sample(m, 'etcd_debugging_mvcc_db_compaction_keys_total'),
    left: range.kvs.map((kv) => `${Buffer.from(kv.key)}=${Buffer.from(kv.value)}`).join(','),
  };
}

describe('--experimental-compaction-batch-limit', () => {
  for (const [flag, pauses] of [
    ['7', '7'], // 50 revisions: 7 full batches of 7, then one of 1 that finishes
    ['10', '5'], // 5 full batches, then an empty one that finishes
    ['0', '0'], // etcd's default (1000): one batch
  ] as const) {
    test(`--experimental-compaction-batch-limit=${flag}: ${pauses} full batches, as etcd 3.4 and 3.5`, async () => {
      const started = await Promise.all(
        KINDS.map((k) => startServer(k, { args: [`--experimental-compaction-batch-limit=${flag}`] })),
      );
      servers.push(...started);
      const [e34, e35, c] = await Promise.all(started.map(compactAndMeasure));
      assert.deepEqual(c, e34, 'etcd 3.4 vs Conclave');
      // etcd 3.5 also observes the last batch's pause: one more; deleted keys and data are the same
      assert.deepEqual(c, { ...e35!, pauses: String(Number(e35!.pauses) - 1) }, 'etcd 3.5 vs Conclave');
      assert.equal(c!.pauses, pauses);
      assert.equal(c!.keys, '45');
    });
  }
});
