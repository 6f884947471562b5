import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Reader, etcdserverpb } from '@conclave/api';
import { b, del, openFixture, put, type Fixture } from '../../testing/mvcc-fixture.js';
import { WatchHub } from './hub.js';
import {
  ERR_DUPLICATE_ID,
  ERR_EMPTY_RANGE,
  ERR_NEGATIVE_START,
  MAX_QUEUED_RESPONSES,
  WatchStream,
  type WatchSink,
} from './stream.js';

type Res = etcdserverpb.WatchResponse;

/** A transport that records decoded responses and can be made congested. */
class CaptureSink implements WatchSink {
  readonly got: Res[] = [];
  congested = false;
  writes = 0;
  private drain: (() => void) | null = null;

  write(frames: Buffer): boolean {
    this.writes++;
    for (let p = 0; p < frames.length; ) {
      const len = frames.readUInt32BE(p + 1);
      this.got.push(etcdserverpb.WatchResponse.decode(new Reader(frames.subarray(p + 5, p + 5 + len)), len));
      p += 5 + len;
    }
    return !this.congested;
  }

  onDrain(cb: () => void): void {
    this.drain = cb;
  }

  release(): void {
    this.congested = false;
    const d = this.drain;
    this.drain = null;
    d?.();
  }
}

let fx: Fixture;
let hub: WatchHub;
const streams: WatchStream[] = [];

function open(opts: { progressIntervalMs?: number; fragmentBytes?: number } = {}): {
  s: WatchStream;
  sink: CaptureSink;
} {
  const sink = new CaptureSink();
  const s = new WatchStream(hub, sink, {
    progressIntervalMs: opts.progressIntervalMs ?? 600_000,
    fragmentBytes: opts.fragmentBytes ?? 2 * 1024 * 1024,
  });
  streams.push(s);
  return { s, sink };
}

type CreateInit = Omit<
  NonNullable<Parameters<typeof etcdserverpb.WatchCreateRequest.create>[0]>,
  'key' | 'rangeEnd'
> & { key: string; end?: string };

const create = (s: WatchStream, r: CreateInit): void => {
  const { key, end, ...rest } = r;
  s.create(
    etcdserverpb.WatchCreateRequest.create({ key: b(key), rangeEnd: end === undefined ? undefined : b(end), ...rest }),
  );
};

/** Lets microtasks and immediates (flushes, catch-up rounds) run. */
const settle = async (rounds = 3): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
};

const until = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 2));
  }
};

/** Events of watcher `id` as [type, key, value, mod revision] (value of prev_kv appended if present). */
function events(sink: CaptureSink, id: bigint): string[] {
  const out: string[] = [];
  for (const r of sink.got) {
    if (r.watchId !== id) continue;
    for (const e of r.events) {
      const kv = e.kv!;
      let s = `${e.type === 0 ? 'PUT' : 'DELETE'} ${Buffer.from(kv.key).toString()}=${Buffer.from(kv.value).toString()}@${kv.modRevision}`;
      if (e.prevKv) s += ` prev=${Buffer.from(e.prevKv.value).toString()}@${e.prevKv.modRevision}`;
      out.push(s);
    }
  }
  return out;
}

beforeEach(async () => {
  fx = await openFixture();
  hub = new WatchHub({ store: fx.store, backend: fx.backend, clusterId: () => 7n, memberId: () => 9n, term: () => 2 });
});

afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  hub.close();
  await fx.close();
});

describe('watch hub: live events', () => {
  test('created first, then every event of a revision in one response, header at that revision', async () => {
    const { s, sink } = open();
    create(s, { key: 'a', end: 'b' });
    put(fx.store, 'a1', 'x');
    fx.store.write((t) => {
      t.put(b('a2'), b('y'));
      t.put(b('zz'), b('out of range'));
      t.put(b('a3'), b('z'));
    });
    del(fx.store, 'a1');
    await settle();
    assert.equal(sink.got[0]!.created, true);
    assert.equal(sink.got[0]!.watchId, 0n);
    assert.equal(sink.got[0]!.header!.revision, 1n);
    assert.deepEqual(
      sink.got.slice(1).map((r) => [r.header!.revision, r.events.length]),
      [
        [2n, 1],
        [3n, 2],
        [4n, 1],
      ],
    );
    assert.deepEqual(events(sink, 0n), ['PUT a1=x@2', 'PUT a2=y@3', 'PUT a3=z@3', 'DELETE a1=@4']);
    assert.equal(sink.got[1]!.header!.clusterId, 7n);
    assert.equal(sink.got[1]!.header!.memberId, 9n);
    assert.equal(sink.got[1]!.header!.raftTerm, 2n);
  });

  test('filters, prev_kv (none for creations), single keys, from-key and the empty key', async () => {
    const { s, sink } = open();
    create(s, { key: 'k', filters: [etcdserverpb.WatchCreateRequest_FilterType.NOPUT] }); // 0
    create(s, { key: 'k', filters: [etcdserverpb.WatchCreateRequest_FilterType.NODELETE], prevKv: true }); // 1
    create(s, { key: 'm', end: '\0' }); // 2: every key ≥ m
    create(s, { key: '' }); // 3: the key "\0"
    put(fx.store, 'k', 'v1');
    put(fx.store, 'k', 'v2');
    del(fx.store, 'k');
    put(fx.store, 'zebra', 'z');
    put(fx.store, 'a', 'no');
    put(fx.store, '\0', 'nul');
    await settle();
    assert.deepEqual(events(sink, 0n), ['DELETE k=@4']);
    assert.deepEqual(events(sink, 1n), ['PUT k=v1@2', 'PUT k=v2@3 prev=v1@2']);
    assert.deepEqual(events(sink, 2n), ['PUT zebra=z@5']);
    assert.deepEqual(events(sink, 3n), ['PUT \0=nul@7']);
  });

  test('a future start revision waits for it', async () => {
    const { s, sink } = open();
    create(s, { key: 'f', startRevision: 4 });
    put(fx.store, 'f', '2');
    put(fx.store, 'f', '3');
    put(fx.store, 'f', '4');
    await settle();
    assert.deepEqual(events(sink, 0n), ['PUT f=4@4']);
  });
});

describe('watch hub: catching up', () => {
  test('an old start revision replays history in order, then continues live without gaps or repeats', async () => {
    for (let i = 0; i < 20; i++) put(fx.store, `h${i % 3}`, `v${i}`);
    const { s, sink } = open();
    create(s, { key: 'h', end: 'i', startRevision: 5, prevKv: true });
    put(fx.store, 'h9', 'during');
    await until(() => events(sink, 0n).length >= 18);
    put(fx.store, 'h1', 'after');
    await settle();
    const evs = events(sink, 0n);
    const revs = evs.map((e) => Number(/@(\d+)/.exec(e)![1]));
    assert.deepEqual(
      revs,
      Array.from({ length: 19 }, (_, i) => 5 + i),
    );
    assert.equal(evs[0], 'PUT h0=v3@5 prev=v0@2');
    assert.equal(evs.at(-2), 'PUT h9=during@22');
    assert.equal(evs.at(-1), 'PUT h1=after@23 prev=v19@21');
    assert.equal(sink.got[1]!.header!.revision, 22n, 'catch-up responses carry the current revision');
  });

  test('more than 1,000 revisions arrive in several responses of at most 1,000 revisions', async () => {
    fx.backend.batch(() => {
      for (let i = 0; i < 2500; i++) put(fx.store, 'bulk', String(i));
    });
    const { s, sink } = open();
    create(s, { key: 'bulk', startRevision: 1 });
    await until(() => events(sink, 0n).length === 2500);
    const sizes = sink.got.filter((r) => r.events.length > 0).map((r) => r.events.length);
    assert.deepEqual(sizes, [1000, 1000, 500]);
  });

  test('a compacted start revision is canceled with the compaction revision; the ID stays taken until canceled', async () => {
    for (let i = 0; i < 5; i++) put(fx.store, 'c', String(i));
    fx.store.compact(4);
    const { s, sink } = open();
    create(s, { key: 'c', startRevision: 2, watchId: 5 });
    // etcd 3.5.24+: a negative start revision is refused at once, with the compaction error's text
    create(s, { key: 'c', startRevision: -3 });
    await settle();
    const cancels = sink.got.filter((r) => r.canceled);
    assert.deepEqual(
      cancels.map((r) => [r.watchId, r.compactRevision, r.cancelReason, r.header!.revision, r.created]),
      [
        [-1n, 0n, ERR_NEGATIVE_START, 6n, true],
        [5n, 4n, '', 0n, false],
      ],
    );
    create(s, { key: 'c', watchId: 5 });
    s.cancel(5n);
    await settle();
    const tail = sink.got.slice(-2);
    assert.equal(tail[0]!.cancelReason, ERR_DUPLICATE_ID);
    assert.deepEqual([tail[1]!.watchId, tail[1]!.canceled, tail[1]!.header!.revision], [5n, true, 6n]);
  });
});

describe('watch hub: stream requests', () => {
  test('IDs: automatic from 0 skipping taken ones, duplicates and empty ranges refused, unknown cancel ignored', async () => {
    const { s, sink } = open();
    create(s, { key: 'a', watchId: 1 });
    create(s, { key: 'a' });
    create(s, { key: 'a' });
    create(s, { key: 'a', watchId: 1 });
    create(s, { key: 'z', end: 'a' });
    s.cancel(42n);
    s.cancel(0n);
    await settle();
    assert.deepEqual(
      sink.got.map((r) => [r.watchId, r.created, r.canceled, r.cancelReason]),
      [
        [1n, true, false, ''],
        [0n, true, false, ''],
        [2n, true, false, ''],
        [-1n, true, true, ERR_DUPLICATE_ID],
        [-1n, true, true, ERR_EMPTY_RANGE],
        [0n, false, true, ''],
      ],
    );
  });

  test('a refused create (permission) is answered with ID -1, created and canceled, and the reason', async () => {
    const { s, sink } = open();
    s.create(etcdserverpb.WatchCreateRequest.create({ key: b('secret') }), 'etcdserver: permission denied');
    create(s, { key: 'open' });
    put(fx.store, 'secret', 'x');
    put(fx.store, 'open', 'y');
    await settle();
    assert.deepEqual(
      sink.got.map((r) => [r.watchId, r.created, r.canceled, r.cancelReason, r.events.length]),
      [
        [-1n, true, true, 'etcdserver: permission denied', 0],
        [0n, true, false, '', 0],
        [0n, false, false, '', 1],
      ],
    );
  });

  test('a progress request is answered with ID -1 only while every watcher is synced (else dropped), after the events', async () => {
    for (let i = 0; i < 10; i++) put(fx.store, 'p', String(i));
    const { s, sink } = open();
    s.requestProgress(); // no watchers: nothing
    create(s, { key: 'p', startRevision: 2 });
    s.requestProgress(); // catching up: dropped, not deferred
    await until(() => events(sink, 0n).length === 10);
    await settle();
    s.requestProgress();
    await until(() => sink.got.some((r) => r.watchId === -1n));
    const order = sink.got.map((r) =>
      r.watchId === -1n ? `progress@${r.header!.revision}` : r.created ? 'created' : `events:${r.events.length}`,
    );
    assert.deepEqual(order, ['created', 'events:10', 'progress@11']);
  });

  test('a watcher whose start revision is still ahead keeps progress from its stream until the store gets there', async () => {
    const { s, sink } = open();
    create(s, { key: 'q', startRevision: 4 });
    s.requestProgress();
    await settle();
    assert.equal(sink.got.filter((r) => r.watchId === -1n).length, 0);
    put(fx.store, 'other', '1'); // revision 2
    put(fx.store, 'other', '2'); // revision 3
    s.requestProgress();
    await settle();
    assert.equal(sink.got.filter((r) => r.watchId === -1n).length, 0);
    put(fx.store, 'other', '3'); // revision 4
    s.requestProgress();
    await settle();
    assert.deepEqual(
      sink.got.filter((r) => r.watchId === -1n).map((r) => r.header!.revision),
      [4n],
    );
  });

  test('progress notifications go to idle progress_notify watchers at the interval', async () => {
    const { s, sink } = open({ progressIntervalMs: 100 });
    create(s, { key: 'idle', progressNotify: true });
    create(s, { key: 'busy', progressNotify: true });
    create(s, { key: 'quiet' });
    const timer = setInterval(() => put(fx.store, 'busy', 'x'), 20);
    await new Promise((r) => setTimeout(r, 260));
    clearInterval(timer);
    const progress = sink.got.filter((r) => !r.created && r.events.length === 0);
    assert.ok(progress.length >= 1 && progress.length <= 3, `progress responses: ${progress.length}`);
    assert.ok(progress.every((r) => r.watchId === 0n));
    const rev = Number(progress[0]!.header!.revision);
    assert.ok(rev >= 1 && rev <= fx.store.currentRevision, `progress at revision ${rev}`);
  });

  test('fragment: a large response is split, fragment set on all parts but the last', async () => {
    const { s, sink } = open({ fragmentBytes: 300 });
    create(s, { key: 'f', end: 'g', fragment: true });
    create(s, { key: 'f', end: 'g' });
    fx.store.write((t) => {
      for (let i = 0; i < 6; i++) t.put(b(`f${i}`), Buffer.alloc(100, 0x61 + i));
    });
    await settle();
    const parts = sink.got.filter((r) => r.watchId === 0n && r.events.length > 0);
    assert.ok(parts.length >= 3, `${parts.length} parts`);
    assert.deepEqual(
      parts.map((r) => r.fragment),
      parts.map((_, i) => i < parts.length - 1),
    );
    assert.deepEqual(events(sink, 0n), events(sink, 1n));
    assert.equal(sink.got.filter((r) => r.watchId === 1n && r.events.length > 0).length, 1);
  });
});

describe('watch hub: slow streams', () => {
  test('a congested stream makes victims that catch up from history once it drains; others are not delayed', async () => {
    const slow = open();
    const fast = open();
    create(slow.s, { key: 'v', end: 'w' });
    create(fast.s, { key: 'v', end: 'w' });
    await settle();
    slow.sink.congested = true;
    const n = MAX_QUEUED_RESPONSES + 200;
    for (let i = 0; i < n; i++) {
      put(fx.store, `v${i % 7}`, String(i));
      if (i % 50 === 0) await settle(1);
    }
    await settle();
    assert.equal(events(fast.sink, 0n).length, n, 'the fast stream got everything at once');
    const before = events(slow.sink, 0n).length;
    assert.ok(before < n, 'the slow stream stopped receiving');
    assert.equal(slow.s.victims.size, 1);
    slow.sink.release();
    await until(() => events(slow.sink, 0n).length === n);
    assert.deepEqual(events(slow.sink, 0n), events(fast.sink, 0n));
    put(fx.store, 'v1', 'live again');
    await settle();
    assert.equal(events(slow.sink, 0n).at(-1), `PUT v1=live again@${fx.store.currentRevision}`);
    assert.deepEqual(hub.counts, { synced: 2, unsynced: 0 });
  });

  test('live responses are written in batches: one write per stream per commit batch', async () => {
    const { s, sink } = open();
    for (let i = 0; i < 10; i++) create(s, { key: 'batch' });
    await settle();
    const writes = sink.writes;
    fx.backend.batch(() => {
      for (let i = 0; i < 5; i++) put(fx.store, 'batch', String(i));
    });
    await settle();
    assert.equal(sink.writes, writes + 1);
    assert.equal(sink.got.filter((r) => r.events.length > 0).length, 50);
  });
});
