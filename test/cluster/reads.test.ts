// Linearizable reads through every member at once. Each member's ReadIndex rounds carry a request
// context; the leader ignores a context it already has pending, so two members must never use the
// same one (they did: each counted from 1, and a round whose context collided waited for the retry
// timer, a whole election timeout).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { TestCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/grpc.js';

const KV = etcdserverpb.KVService;
const b = (s: string) => Buffer.from(s);

let cluster: TestCluster;

before(async () => {
  // A long election timeout makes a lost round obvious: its retry would come 5 s later.
  cluster = await TestCluster.start(3, { heartbeatMs: 100, electionMs: 5000 });
});
after(async () => {
  await cluster?.stop();
});

describe('linearizable reads on every member', () => {
  test('concurrent reads through all members are each answered promptly and see the latest write', async () => {
    await cluster.waitLeader();
    const clients = cluster.members.map((m) => new RawClient(m.endpoint));
    try {
      let slowest = 0;
      for (let wave = 0; wave < 20; wave++) {
        await clients[wave % 3]!.unary(KV.Put, { key: b('reads/k'), value: b(`v${wave}`) });
        const reads = clients.flatMap((c) =>
          Array.from({ length: 10 }, async () => {
            const t0 = Date.now();
            const r = await c.unary(KV.Range, { key: b('reads/k') }, { timeoutMs: 10_000 });
            slowest = Math.max(slowest, Date.now() - t0);
            return Buffer.from(r.kvs[0]!.value).toString();
          }),
        );
        for (const v of await Promise.all(reads)) assert.equal(v, `v${wave}`);
      }
      assert.ok(slowest < 2000, `slowest linearizable read took ${slowest} ms`);
    } finally {
      for (const c of clients) c.close();
    }
  });
});
