// Live migration with `etcdctl make-mirror` (etcdctl 3.5), both ways, as docs/operations.md tells:
// from a Conclave member to an etcd 3.5 member and from etcd 3.5 to Conclave. The mirror copies the
// keys there are, then follows the source's puts and deletes while they go on; once the writers stop
// the destination holds exactly the source's keys and values.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { etcd35Bin } from '../helpers/etcd35.js';
import { RawClient } from '../helpers/grpc.js';
import { startServer, type ServerKind, type ServerProcess } from '../helpers/process.js';

const servers: ServerProcess[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

const b = (s: string) => Buffer.from(s);

/** Puts and deletes in one transaction. */
async function txn(c: RawClient, puts: Array<[string, string]>, dels: string[] = []): Promise<void> {
  await c.unary(etcdserverpb.KVService.Txn, {
    success: [
      ...puts.map(([key, value]) => ({ requestPut: { key: b(key), value: b(value) } })),
      ...dels.map((key) => ({ requestDeleteRange: { key: b(key) } })),
    ],
  });
}

async function contents(c: RawClient): Promise<string[]> {
  return (await c.all()).kvs.map((kv) => `${Buffer.from(kv.key).toString()}=${Buffer.from(kv.value).toString()}`);
}

for (const [from, to] of [
  ['conclave', 'etcd35'],
  ['etcd35', 'conclave'],
] as Array<[ServerKind, ServerKind]>) {
  describe(`make-mirror from ${from} to ${to}`, { timeout: 120_000 }, () => {
    test('copies the keys, then follows puts and deletes made while it runs', async () => {
      const [src, dst] = await Promise.all([startServer(from), startServer(to)]);
      servers.push(src, dst);
      const s = new RawClient(src.endpoint);
      const d = new RawClient(dst.endpoint);
      let log = '';
      const mirror = spawn(etcd35Bin('etcdctl'), ['make-mirror', '--endpoints', src.endpoint, dst.endpoint], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      mirror.stdout.on('data', (x: Buffer) => (log += x.toString()));
      mirror.stderr.on('data', (x: Buffer) => (log += x.toString()));
      try {
        // Before the mirror starts: 2,000 keys with history (updates) and a few deleted.
        for (let i = 0; i < 2000; i += 100)
          await txn(
            s,
            Array.from({ length: 100 }, (_, j) => [`app/${String(i + j).padStart(4, '0')}`, `v1-${i + j}`]),
          );
        for (let i = 0; i < 2000; i += 200) await txn(s, [[`app/${String(i).padStart(4, '0')}`, `v2-${i}`]]);
        await txn(s, [], ['app/0001', 'app/0002']);
        // Meanwhile: the writers go on (puts of new keys, updates, deletes).
        for (let i = 0; i < 50; i++) {
          await txn(
            s,
            [
              [`live/${i}`, `x${i}`],
              [`app/${String(i * 7).padStart(4, '0')}`, `v3-${i}`],
            ],
            [`app/${String(1000 + i).padStart(4, '0')}`],
          );
        }
        const want = await contents(s);
        assert.equal(want.length, 2000 - 2 - 50 + 50);
        const deadline = Date.now() + 60_000;
        let got: string[] = [];
        while (Date.now() < deadline) {
          got = await contents(d);
          if (got.length === want.length && got.every((x, i) => x === want[i])) break;
          if (mirror.exitCode !== null) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        assert.deepEqual(got, want, `make-mirror output:\n${log}`);
        assert.equal(mirror.exitCode, null, 'make-mirror keeps following the source');
        // After the copy, a write at the source still arrives.
        await s.put('late', 'yes');
        const late = Date.now() + 30_000;
        while (Date.now() < late && (await d.get('late')) === undefined) await new Promise((r) => setTimeout(r, 100));
        assert.equal(Buffer.from((await d.get('late'))?.value ?? []).toString(), 'yes');
      } finally {
        mirror.kill('SIGKILL');
        s.close();
        d.close();
      }
    });
  });
}
