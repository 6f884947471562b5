// When backend commits are made durable (--backend-batch-interval / --backend-batch-limit): the
// scheduler with a fake sync (limits, intervals, overlapping syncs, failure, stop), then a real
// backend (its data file is synced at those points; reads never wait for it).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Backend } from './backend.js';
import { BatchSync } from './batch-sync.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A sync that takes `ms` and records when it started; `fail` makes the next one reject. */
function fakeSync(ms = 0) {
  const f = {
    started: 0,
    done: 0,
    fail: false,
    sync: async (): Promise<void> => {
      f.started++;
      if (ms > 0) await sleep(ms);
      if (f.fail) throw new Error('fdatasync: EIO');
      f.done++;
    },
  };
  return f;
}

describe('BatchSync', () => {
  test('a sync starts once the limit of operations is reached, not before', async () => {
    const f = fakeSync();
    const s = new BatchSync({ intervalMs: 60_000, limit: 5 }, f.sync);
    s.committed(2);
    s.committed(2);
    await sleep(10);
    assert.equal(f.started, 0);
    s.committed(1);
    assert.equal(f.started, 1);
    s.committed(4);
    await sleep(10);
    assert.equal(f.started, 1, 'four more are under the limit');
    await s.stop();
    assert.equal(f.started, 2, 'stop syncs what is pending');
  });

  test('the interval bounds how long a commit waits for its sync; nothing committed, no sync', async () => {
    const f = fakeSync();
    const s = new BatchSync({ intervalMs: 50, limit: 1_000_000 }, f.sync);
    await sleep(120);
    assert.equal(f.started, 0);
    s.committed(1);
    await sleep(20);
    assert.equal(f.started, 0);
    await sleep(80);
    assert.equal(f.started, 1);
    await sleep(150);
    assert.equal(f.started, 1);
    await s.stop();
    assert.equal(f.started, 1, 'nothing pending at stop');
  });

  test("0 means etcd's defaults (100 ms, 10000); a negative limit syncs after every commit", async () => {
    const f = fakeSync();
    const s = new BatchSync({ intervalMs: 0, limit: 0 }, f.sync);
    s.committed(9_999);
    await sleep(40);
    assert.equal(f.started, 0);
    await sleep(110);
    assert.equal(f.started, 1);
    s.committed(10_000);
    assert.equal(f.started, 2);
    await s.stop();
    const g = fakeSync();
    const t = new BatchSync({ intervalMs: 60_000, limit: -1 }, g.sync);
    t.committed(1);
    assert.equal(g.started, 1);
    await t.stop();
  });

  test('commits during a sync get a sync of their own right after it, never two at once', async () => {
    const f = fakeSync(40);
    let running = 0;
    let most = 0;
    const s = new BatchSync({ intervalMs: 60_000, limit: 1 }, async () => {
      most = Math.max(most, ++running);
      await f.sync();
      running--;
    });
    s.committed(1);
    s.committed(1);
    s.committed(1);
    await sleep(150);
    assert.equal(f.done, 2);
    assert.equal(most, 1);
    await s.stop();
  });

  test('a failed sync is the error of every later write', async () => {
    const f = fakeSync();
    f.fail = true;
    const s = new BatchSync({ intervalMs: 60_000, limit: 1 }, f.sync);
    s.throwIfFailed();
    s.committed(1);
    await sleep(10);
    assert.throws(() => s.throwIfFailed(), /fdatasync: EIO/);
    await s.stop();
  });
});

describe('a backend with batch sync', () => {
  const root = mkdtempSync(join(tmpdir(), 'conclave-batch-sync-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const k = (s: string) => Buffer.from(s);

  test('commits are read at once and synced at the limit (the applier counts its entries)', async () => {
    const b = await Backend.open({ path: join(root, `b${++n}`), batchSync: { intervalMs: 60_000, limit: 3 } });
    const base = b.syncs;
    b.batch(() => b.dbs.lease.putSync(k('a'), k('1')));
    assert.deepEqual(b.dbs.lease.get(k('a')), k('1'), 'visible before any sync');
    b.batch(() => b.dbs.lease.putSync(k('b'), k('2')));
    await sleep(50);
    assert.equal(b.syncs, base);
    b.batch(() => b.dbs.lease.putSync(k('c'), k('3')));
    for (let i = 0; i < 100 && b.syncs === base; i++) await sleep(10);
    assert.equal(b.syncs, base + 1);
    b.batch(() => b.setAppliedIndex(4, 1), 3);
    for (let i = 0; i < 100 && b.syncs === base + 1; i++) await sleep(10);
    assert.equal(b.syncs, base + 2, 'one batch of three entries reaches the limit');
    await b.close();
  });

  test('the interval syncs a lone commit; close syncs what is pending', async () => {
    const b = await Backend.open({ path: join(root, `b${++n}`), batchSync: { intervalMs: 30, limit: 1000 } });
    const base = b.syncs;
    b.batch(() => b.dbs.lease.putSync(k('a'), k('1')));
    for (let i = 0; i < 100 && b.syncs === base; i++) await sleep(10);
    assert.equal(b.syncs, base + 1);
    const c = await Backend.open({ path: join(root, `b${++n}`), batchSync: { intervalMs: 60_000, limit: 1000 } });
    const cbase = c.syncs;
    c.batch(() => c.dbs.lease.putSync(k('a'), k('1')));
    await c.close();
    assert.equal(c.syncs, cbase + 1);
    await b.close();
  });

  test('--unsafe-no-fsync: never synced', async () => {
    const b = await Backend.open({
      path: join(root, `b${++n}`),
      unsafeNoFsync: true,
      batchSync: { intervalMs: 1, limit: 1 },
    });
    b.batch(() => b.dbs.lease.putSync(k('a'), k('1')));
    await sleep(30);
    await b.close();
    assert.equal(b.syncs, 0);
  });
});
