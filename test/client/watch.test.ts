// Watches through @conclave/client, against every target with 'watch'.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ClientClosedError,
  CompactedError,
  cmp,
  op,
  type WatchBatch,
  type WatchEvent,
  type Watcher,
} from '@conclave/client';
import { describeTargets } from './targets.js';
import { eventually } from './wait.js';

/** Collects events until `n` have arrived (or fails after `ms`). */
async function events(w: Watcher, n: number, ms = 5000): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  const timer = setTimeout(() => w.close(), ms);
  try {
    for await (const e of w.events()) {
      out.push(e);
      if (out.length >= n) break;
    }
  } finally {
    clearTimeout(timer);
  }
  assert.equal(out.length, n, `expected ${n} events, got ${out.length}`);
  return out;
}

const show = (e: WatchEvent): string =>
  `${e.type} ${e.kv.keyString}=${e.kv.valueString}@${e.kv.modRevision}${e.prevKv ? ` (was ${e.prevKv.valueString})` : ''}`;

describeTargets(['watch'], (ctx) => {
  test('a prefix watch reports puts and deletes in order, after its creation revision', async () => {
    const c = ctx.client;
    const before = await c.put('w1/before', 'x');
    const w = c.watch('w1/', { prefix: true, startRevision: before.revision + 1n });
    const createdAt = await w.created;
    const r1 = (await c.put('w1/a', '1')).revision;
    await c.put('other', 'ignored');
    await c.delete('w1/before');
    const got = await events(w, 2);
    assert.deepEqual(got.map(show), [`put w1/a=1@${r1}`, `delete w1/before=@${r1 + 2n}`]);
    assert.equal(createdAt, before.revision);
    assert.equal(w.closed, true);
  });

  test('history from a start revision, with prevKv and filters', async () => {
    const c = ctx.client;
    const r1 = (await c.put('w2/k', 'a')).revision;
    await c.put('w2/k', 'b');
    await c.delete('w2/k');
    const all = await events(c.watch('w2/k', { startRevision: r1, prevKv: true }), 3);
    assert.deepEqual(all.map(show), [
      `put w2/k=a@${r1}`,
      `put w2/k=b@${r1 + 1n} (was a)`,
      `delete w2/k=@${r1 + 2n} (was b)`,
    ]);
    const puts = await events(c.watch('w2/k', { startRevision: r1, filters: ['noDelete'] }), 2);
    assert.deepEqual(
      puts.map((e) => e.type),
      ['put', 'put'],
    );
    const dels = await events(c.watch('w2/k', { startRevision: r1, filters: ['noPut'] }), 1);
    assert.deepEqual(
      dels.map((e) => e.type),
      ['delete'],
    );
  });

  test('many watches share one stream and each gets only its own events', async () => {
    const c = ctx.newClient();
    const ws = Array.from({ length: 20 }, (_, i) => c.watch(`w3/${i}`));
    await Promise.all(ws.map((w) => w.created));
    // watch IDs are assigned per stream, from 0: twenty distinct IDs means one stream
    assert.equal(new Set(ws.map((w) => (w as unknown as { serverId: bigint }).serverId)).size, 20);
    await c
      .txn()
      .then(...ws.map((_, i) => op.put(`w3/${i}`, `v${i}`)))
      .commit();
    const got = await Promise.all(ws.map((w) => events(w, 1)));
    got.forEach((evs, i) => assert.equal(evs[0]!.kv.keyString, `w3/${i}`));
    await c.close();
  });

  test('progress: requested notifications and periodic progressNotify keep the revision fresh', async () => {
    const c = ctx.client;
    const w = c.watch('w4/', { prefix: true });
    await w.created;
    const rev = (await c.put('w4-unrelated', 'x')).revision;
    const it = w[Symbol.asyncIterator]();
    // the member serving the watch reports its own revision, which may briefly lag the write
    let b: WatchBatch | undefined;
    for (let i = 0; i < 40 && !(b && b.revision >= rev); i++) {
      if (b) await new Promise((r) => setTimeout(r, 50));
      w.requestProgress();
      b = (await it.next()).value as WatchBatch;
      assert.equal(b.type, 'progress');
    }
    assert.ok(b && b.revision >= rev);
    assert.ok(w.revision >= rev);
    w.close();

    const p = c.watch('w4/', { prefix: true, progressNotify: true });
    await p.created;
    const rev2 = (await c.put('w4-unrelated', 'y')).revision;
    const t0 = Date.now();
    for await (const batch of p) {
      if (batch.type === 'progress' && batch.revision >= rev2) break;
    }
    assert.ok(Date.now() - t0 < 3000);
    assert.ok(p.revision >= rev2);
  });

  test('a compacted start revision ends the watch with CompactedError, or resyncs', async () => {
    const c = ctx.client;
    const r1 = (await c.put('w5/a', '1')).revision;
    await c.put('w5/a', '2');
    const r3 = (await c.put('w5/b', '3')).revision;
    await c.compact(r3);
    // every member must have applied the compaction before the watches start
    for (const endpoint of c.endpoints)
      await eventually(
        () => c.maintenance.hashKV(0, { endpoint }),
        (h) => h.compactRevision >= r3,
      );
    const w = c.watch('w5/', { prefix: true, startRevision: r1 });
    await assert.rejects(
      (async () => {
        for await (const _ of w) void _;
      })(),
      (e: unknown) => e instanceof CompactedError && e.compactRevision === r3,
    );
    const rs = c.watch('w5/', { prefix: true, startRevision: r1, onCompacted: 'resync' });
    const it = rs[Symbol.asyncIterator]();
    const first = (await it.next()).value as WatchBatch;
    assert.equal(first.type, 'resync');
    assert.ok(
      first.type === 'resync' && first.kvs.map((k) => `${k.keyString}=${k.valueString}`).join(',') === 'w5/a=2,w5/b=3',
    );
    const r4 = (await c.put('w5/a', '4')).revision;
    const next = (await it.next()).value as WatchBatch;
    assert.ok(next.type === 'events' && next.events[0]!.kv.modRevision === r4);
    rs.close();
  });

  test('close, abort and break end the iteration; lifecycle events fire', async () => {
    const c = ctx.client;
    const ac = new AbortController();
    const w = c.watch('w6', { signal: ac.signal });
    const log: string[] = [];
    w.on('created', () => log.push('created'));
    w.on('closed', (e) => log.push(`closed ${e ?? ''}`));
    await w.created;
    setTimeout(() => ac.abort(), 50);
    for await (const _ of w) void _;
    assert.deepEqual(log, ['created', 'closed ']);
    const w2 = c.watch('w6');
    await w2.created;
    void c.put('w6', 'x');
    for await (const _ of w2) break;
    assert.equal(w2.closed, true);
    const closed = ctx.newClient();
    await closed.close();
    assert.throws(() => closed.watch('w6'), ClientClosedError);
  });

  test('a namespaced watch sees only its keys, without the prefix', async () => {
    const c = ctx.client;
    const ns = c.namespace('w7/');
    const w = ns.watch('', { prefix: true });
    await w.created;
    await c.put('w7-outside', 'x');
    await ns.put('in', '1');
    const [e] = await events(w, 1);
    assert.equal(e!.kv.keyString, 'in');
  });

  test('responses the server splits into fragments are reassembled', async () => {
    const c = ctx.client;
    const big = (ch: string): string => ch.repeat(700_000);
    const first = await c
      .txn()
      .then(op.put('w8/a', big('a')), op.put('w8/b', big('b')))
      .commit();
    // (a watch "from now" would start at the revision of whichever member serves it, which may lag)
    const w = c.watch('w8/', { prefix: true, prevKv: true, startRevision: first.revision + 1n });
    await w.created;
    // one revision, two events with prevKv: about 2.8 MB, over etcd's 1.5 MiB fragment limit
    const res = await c
      .txn()
      .if(cmp.version('w8/a', '>', 0))
      .then(op.put('w8/a', big('c')), op.put('w8/b', big('d')))
      .commit();
    const it = w[Symbol.asyncIterator]();
    const b = (await it.next()).value as WatchBatch;
    assert.ok(b.type === 'events');
    assert.deepEqual(
      b.events.map((e) => [e.kv.keyString, e.kv.value.length, e.kv.modRevision, e.prevKv?.value[0]]),
      [
        ['w8/a', 700_000, res.revision, 0x61],
        ['w8/b', 700_000, res.revision, 0x62],
      ],
    );
    w.close();
    await c.delete('w8/', { prefix: true });
  });
});
