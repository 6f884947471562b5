import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mvccpb } from '@conclave/api';
import { CompactedError } from '../errors/etcd.js';
import { toBytes } from '../util/bytes.js';
import { Watcher, type WatcherHost } from './watcher.js';
import type { WatchBatch } from './types.js';

function host(): WatcherHost & { added: number; removed: number; progress: number } {
  return {
    added: 0,
    removed: 0,
    progress: 0,
    add() {
      this.added++;
    },
    remove() {
      this.removed++;
    },
    requestProgress() {
      this.progress++;
    },
  };
}

const put = (key: string, rev: bigint): mvccpb.Event =>
  mvccpb.Event.create({
    type: 0,
    kv: { key: toBytes(key), value: toBytes('v'), modRevision: rev, createRevision: rev, version: 1n },
  });
const del = (key: string, rev: bigint): mvccpb.Event =>
  mvccpb.Event.create({ type: 1, kv: { key: toBytes(key), modRevision: rev } });

async function take(w: Watcher, n: number): Promise<WatchBatch[]> {
  const out: WatchBatch[] = [];
  const it = w[Symbol.asyncIterator]();
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

test('a watch from "now" starts after the creation revision and never repeats or skips across a resume', async () => {
  const h = host();
  const w = new Watcher(h, { key: toBytes('ns/a') }, 0n, 3, false, 'error', undefined, undefined);
  assert.equal(w.createRequest().startRevision, 0n);
  w.onCreated(10n, 'e1');
  assert.equal(await w.created, 10n);
  assert.equal(w.nextRevision, 11n);
  w.onEvents([put('ns/a', 11n), put('ns/b', 11n)], 11n);
  w.onEvents([del('ns/a', 12n)], 12n);
  assert.equal(w.revision, 12n);
  // the stream drops; a resume starts at 13 and a server that replays 12 again is filtered
  w.onDisconnected(new Error('dropped'));
  assert.equal(w.createRequest().startRevision, 13n);
  const resumed: unknown[] = [];
  w.on('resumed', (ep, rev) => resumed.push([ep, rev]));
  w.onCreated(20n, 'e2');
  assert.deepEqual(resumed, [['e2', 13n]]);
  w.onEvents([del('ns/a', 12n), put('ns/c', 13n)], 20n);
  const batches = await take(w, 3);
  const flat = batches.flatMap((b) =>
    b.type === 'events' ? b.events.map((e) => `${e.type}:${e.kv.keyString}@${e.kv.modRevision}`) : [],
  );
  assert.deepEqual(flat, ['put:a@11', 'put:b@11', 'delete:a@12', 'put:c@13']);
});

test('progress moves the revision forward and is yielded only when asked for', async () => {
  const h = host();
  const w = new Watcher(h, { key: toBytes('a') }, 5n, 0, false, 'error', undefined, undefined);
  w.onCreated(100n, 'e');
  assert.equal(await w.created, 4n);
  w.onProgress(50n);
  assert.equal(w.revision, 50n);
  w.onProgress(40n);
  assert.equal(w.revision, 50n);
  w.requestProgress();
  assert.equal(h.progress, 1);
  w.onEvents([], 60n); // an empty response is a progress notification
  assert.equal(w.revision, 60n);
  w.close();
  const batches = await take(w, 5);
  assert.deepEqual(batches, [{ type: 'progress', revision: 60n }]);
  assert.equal(h.removed, 1);
});

test('compaction ends the watch with CompactedError, or resyncs when asked to', async () => {
  const h = host();
  const w = new Watcher(h, { key: toBytes('a') }, 2n, 0, false, 'error', undefined, undefined);
  w.onCreated(9n, 'e');
  w.onCompactedCancel(7n, new CompactedError({ message: 'compacted', code: 'Compacted', retriable: false }));
  await assert.rejects(take(w, 1), (e: unknown) => e instanceof CompactedError && e.compactRevision === 7n);
  assert.equal(w.closed, true);

  const h2 = host();
  const kv = { kvs: [], more: false, count: 0, revision: 30n };
  const r = new Watcher(h2, { key: toBytes('a') }, 2n, 0, false, 'resync', async () => kv, undefined);
  r.onCreated(9n, 'e');
  r.onCompactedCancel(7n, new CompactedError({ message: 'compacted', code: 'Compacted', retriable: false }));
  const [b] = await take(r, 1);
  assert.deepEqual(b, { type: 'resync', revision: 30n, kvs: [] });
  assert.equal(r.nextRevision, 31n);
  assert.equal(h2.added, 1);
  r.close();
});

test('breaking out of the loop or aborting closes the watch', async () => {
  const h = host();
  const ac = new AbortController();
  const w = new Watcher(h, { key: toBytes('a') }, 0n, 0, false, 'error', undefined, ac.signal);
  w.onCreated(1n, 'e');
  w.onEvents([put('a', 2n)], 2n);
  for await (const b of w) {
    assert.equal(b.type, 'events');
    break;
  }
  assert.equal(w.closed, true);
  const w2 = new Watcher(h, { key: toBytes('a') }, 0n, 0, false, 'error', undefined, ac.signal);
  const closed = new Promise((res) => w2.on('closed', res));
  ac.abort();
  await closed;
  assert.equal(w2.closed, true);
  await assert.rejects(w2.created);
});
