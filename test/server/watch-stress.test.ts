// Watch under load, on one member: 200 watchers (single keys, prefixes, ranges, from-key, some
// with filters or prev_kv) on eight streams over four connections, while concurrent clients put,
// delete and run multi-key txns, and the history is compacted halfway. Two streams stop reading for
// a while (slow consumers): the first catches up before the compaction, the second only after it.
// Every watcher must see exactly the committed events of its range from its start revision, in
// revision order, each once, every revision's events in one response, after a created response
// (the second slow consumer's watchers may instead end with a compaction cancel after a correct
// prefix); watchers started at an old revision see the same sequence; watchers started below the
// compaction revision are canceled with it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import type { MemberHandle } from '../../packages/server/src/embed/start.js';
import { mulberry32 } from '../../packages/server/testing/random.js';
import { streamClient, type RawStream, type StreamClient } from '../helpers/etcd-streams.js';
import { startInProcess } from '../helpers/in-process.js';
import { tempDir } from '../helpers/tmp.js';

type WatchStreamT = RawStream<etcdserverpb.WatchRequest, etcdserverpb.WatchResponse>;

interface Spec {
  key: string;
  end?: string;
  startRevision: number;
  noPut?: boolean;
  noDelete?: boolean;
  prevKv?: boolean;
}

interface Ev {
  type: 'PUT' | 'DELETE';
  key: string;
  value: string;
  rev: number;
}

const dir = tempDir('conclave-watch-stress');
let member: MemberHandle;
let clients: StreamClient[] = [];

before(async () => {
  let endpoint: string;
  ({ member, endpoint } = await startInProcess(`${dir.path}/m.etcd`, ['--log-level=error']));
  clients = Array.from({ length: 4 }, () => streamClient(endpoint));
});

after(async () => {
  for (const c of clients) c.close();
  await member?.close();
  dir.cleanup();
});

const KEYS = Array.from({ length: 40 }, (_, i) => `k/${String.fromCharCode(97 + (i % 8))}/${Math.floor(i / 8)}`);

function covers(s: Spec, key: string): boolean {
  const k = s.key === '' ? '\0' : s.key;
  if (s.end === undefined) return key === k;
  if (s.end === '\0') return key >= k;
  return key >= k && key < s.end;
}

function randomSpec(rand: () => number, startRevision: number): Spec {
  const r = rand();
  const pick = () => KEYS[Math.floor(rand() * KEYS.length)]!;
  let s: Spec;
  if (r < 0.3) s = { key: pick(), startRevision };
  else if (r < 0.6) {
    const p = `k/${String.fromCharCode(97 + Math.floor(rand() * 8))}/`;
    s = { key: p, end: p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1), startRevision };
  } else if (r < 0.8) {
    const [a, b] = [pick(), pick()].sort();
    s = { key: a!, end: a === b ? `${b}\0` : b!, startRevision };
  } else s = { key: pick(), end: '\0', startRevision };
  const f = rand();
  if (f < 0.1) s.noPut = true;
  else if (f < 0.2) s.noDelete = true;
  else if (f < 0.4) s.prevKv = true;
  return s;
}

function createReq(s: Spec, watchId: number): Parameters<WatchStreamT['write']>[0] {
  const F = etcdserverpb.WatchCreateRequest_FilterType;
  const filters = [...(s.noPut ? [F.NOPUT] : []), ...(s.noDelete ? [F.NODELETE] : [])];
  return {
    createRequest: {
      key: Buffer.from(s.key, 'latin1'),
      rangeEnd: s.end === undefined ? undefined : Buffer.from(s.end, 'latin1'),
      startRevision: s.startRevision,
      filters,
      prevKv: s.prevKv ?? false,
      watchId,
    },
  };
}

const str = (b: Uint8Array | undefined) => Buffer.from(b ?? new Uint8Array()).toString('latin1');

test('many watchers see exactly the committed events of their ranges, through load, a slow consumer and compaction', async () => {
  const rand = mulberry32(7);
  const store = member.server.store;
  const base = store.currentRevision;
  // Streams: 2 per connection. Two are slow consumers: `slow1` stops reading during the first half
  // of the writes, `slow2` until the end (across the compaction).
  const streams: WatchStreamT[] = clients.flatMap((c) => [c.watch(), c.watch()]);
  const slow1 = streams[streams.length - 2]!;
  const slow2 = streams[streams.length - 1]!;
  const regular = streams.slice(0, -2);
  const watchers: Array<{ spec: Spec; stream: WatchStreamT; id: number }> = [];
  let nextId = 1;
  const add = (spec: Spec, stream: WatchStreamT) => {
    const id = nextId++;
    stream.write(createReq(spec, id));
    watchers.push({ spec, stream, id });
  };
  const createdAll = (list: WatchStreamT[]) =>
    Promise.all(
      list.map((st) =>
        st.until((rs) => rs.filter((r) => r.created).length === watchers.filter((w) => w.stream === st).length),
      ),
    );
  /**
   * Waits until every watcher of the stream is synced (the progress response, watch ID -1). A
   * request made while a watcher still catches up is dropped (etcd 3.5), so ask again every 100 ms,
   * as kube-apiserver does.
   */
  const synced = async (st: WatchStreamT) => {
    const before = st.responses.filter((r) => r.watchId === -1n && !r.created).length;
    st.write({ progressRequest: {} });
    const again = setInterval(() => st.write({ progressRequest: {} }), 100);
    try {
      await st.until((rs) => rs.filter((r) => r.watchId === -1n && !r.created).length > before, 20_000);
    } finally {
      clearInterval(again);
    }
  };
  for (let i = 0; i < 160; i++) add(randomSpec(rand, 0), streams[i % streams.length]!);
  await createdAll(streams);
  const firstRev = store.currentRevision + 1;
  for (const w of watchers) w.spec.startRevision = firstRev;
  slow1.pause();
  slow2.pause();

  const history: Ev[] = [];
  const unsubscribe = store.onCommit((_rev, evs) => {
    for (const e of evs)
      history.push({
        type: e.type === 'put' ? 'PUT' : 'DELETE',
        key: e.kv.key.toString('latin1'),
        value: e.kv.value.toString('latin1'),
        rev: e.kv.modRevision,
      });
  });
  // Writers: 8 concurrent clients doing puts, deletes (single and prefix) and multi-key txns.
  let ops = 0;
  const runOps = async (count: number) => {
    const stop = ops + count;
    const writer = async (c: StreamClient, seed: number) => {
      const r = mulberry32(seed);
      while (ops < stop) {
        const n = ops++;
        const k = KEYS[Math.floor(r() * KEYS.length)]!;
        const x = r();
        if (x < 0.6) await c.put({ key: Buffer.from(k), value: Buffer.from(`v${n}`) });
        else if (x < 0.8) await c.deleteRange({ key: Buffer.from(k) });
        else if (x < 0.9)
          await c.deleteRange({
            key: Buffer.from(k.slice(0, 4)),
            rangeEnd: Buffer.from(k.slice(0, 3) + String.fromCharCode(k.charCodeAt(3) + 1)),
          });
        else {
          const ks = [...new Set([k, KEYS[Math.floor(r() * KEYS.length)]!, KEYS[Math.floor(r() * KEYS.length)]!])];
          await c.txn({
            success: ks.map((key, i) => ({ requestPut: { key: Buffer.from(key), value: Buffer.from(`t${n}.${i}`) } })),
          });
        }
      }
    };
    await Promise.all(clients.flatMap((c, i) => [writer(c, 100 * ops + i), writer(c, 100 * ops + 50 + i)]));
  };
  await runOps(600);
  // Halfway: slow1 reads again and catches up; watchers replaying everything from the first write
  // join; once all of them are synced, the history is compacted.
  slow1.resume();
  for (let i = 0; i < 20; i++) add(randomSpec(rand, firstRev), regular[i % regular.length]!);
  await createdAll(regular);
  for (const st of [...regular, slow1]) await synced(st);
  const compactAt = store.currentRevision;
  await clients[0]!.compact({ revision: compactAt });
  await runOps(600);
  unsubscribe();
  const lastRev = store.currentRevision;
  // After the writes: watchers starting below the compaction revision (canceled), and at it or later.
  const compacted: Array<{ stream: WatchStreamT; id: number }> = [];
  for (let i = 0; i < 10; i++) {
    const id = nextId++;
    streams[0]!.write(createReq({ key: 'k/', end: 'k0', startRevision: compactAt - 1 - i }, id));
    compacted.push({ stream: streams[0]!, id });
  }
  for (let i = 0; i < 10; i++) add(randomSpec(rand, compactAt + i * 20), regular[i % regular.length]!);
  slow2.resume();

  // Expected: the committed history (recorded live from the store) per watcher.
  const prevOf = new Map<string, Ev | undefined>();
  const expectedPrev = new Map<Ev, Ev | undefined>();
  for (const e of history) {
    expectedPrev.set(e, prevOf.get(e.key));
    prevOf.set(e.key, e.type === 'PUT' ? e : undefined);
  }
  const expected = (s: Spec) =>
    history.filter(
      (e) =>
        e.rev >= s.startRevision &&
        covers(s, e.key) &&
        !(s.noPut && e.type === 'PUT') &&
        !(s.noDelete && e.type === 'DELETE'),
    );

  const received = (stream: WatchStreamT, id: number) => stream.responses.filter((r) => r.watchId === BigInt(id));
  const got = (stream: WatchStreamT, id: number) => received(stream, id).flatMap((r) => r.events);

  /** slow2's watchers may have fallen behind the compaction: then they end canceled by it. */
  const canceledByCompaction = (w: { stream: WatchStreamT; id: number }) =>
    w.stream === slow2 && received(w.stream, w.id).some((r) => r.canceled);
  for (const w of watchers) {
    const want = expected(w.spec).length;
    await w.stream
      .until(() => canceledByCompaction(w) || got(w.stream, w.id).length >= want, 20_000)
      .catch((e: unknown) => {
        throw new Error(`watcher ${w.id}: ${String(e)}`);
      });
    if (canceledByCompaction(w)) continue;
    await w.stream
      .until(() => got(w.stream, w.id).length >= want, 20_000)
      .catch((e: unknown) => {
        const rs = received(w.stream, w.id);
        throw new Error(
          `watcher ${w.id} ${JSON.stringify(w.spec)}: ${got(w.stream, w.id).length} of ${want} events; responses ${JSON.stringify(rs.filter((r) => r.events.length === 0).map((r) => [r.created, r.canceled, String(r.compactRevision)]))}: ${String(e)}`,
        );
      });
  }
  await Promise.all(compacted.map((c) => c.stream.until(() => received(c.stream, c.id).some((r) => r.canceled))));
  await new Promise((r) => setTimeout(r, 200)); // anything extra would arrive now

  let checked = 0;
  let slowCanceled = 0;
  for (const w of watchers) {
    const rs = received(w.stream, w.id);
    const label = `watcher ${w.id} ${JSON.stringify(w.spec)}`;
    assert.equal(rs[0]?.created, true, `${label}: created first`);
    let want = expected(w.spec);
    if (canceledByCompaction(w)) {
      const last = rs.at(-1)!;
      assert.deepEqual(
        [last.canceled, last.compactRevision, last.events.length],
        [true, BigInt(compactAt), 0],
        `${label}: compaction cancel`,
      );
      rs.pop();
      slowCanceled++;
      want = want.slice(
        0,
        rs.reduce((n, r) => n + r.events.length, 0),
      );
      assert.ok(
        want.length === 0 || want.at(-1)!.rev < compactAt,
        `${label}: canceled although caught up past the compaction`,
      );
    }
    assert.ok(
      rs.slice(1).every((r) => !r.created && !r.canceled),
      `${label}: nothing but events after created`,
    );
    const evs = rs.flatMap((r) => r.events.map((e) => ({ e, r })));
    assert.deepEqual(
      evs.map(
        ({ e }) => `${e.type === 1 ? 'DELETE' : 'PUT'} ${str(e.kv!.key)}=${str(e.kv!.value)}@${e.kv!.modRevision}`,
      ),
      want.map((e) => `${e.type} ${e.key}=${e.value}@${e.rev}`),
      `${label}: events`,
    );
    // Every revision's events in one response.
    const responseOfRev = new Map<bigint, etcdserverpb.WatchResponse>();
    for (const { e, r } of evs) {
      const seen = responseOfRev.get(e.kv!.modRevision);
      assert.ok(seen === undefined || seen === r, `${label}: revision ${e.kv!.modRevision} split over responses`);
      responseOfRev.set(e.kv!.modRevision, r);
    }
    if (w.spec.prevKv) {
      evs.forEach(({ e }, i) => {
        const p = expectedPrev.get(want[i]!);
        if (e.prevKv)
          assert.deepEqual([str(e.prevKv.key), str(e.prevKv.value)], [p?.key, p?.value], `${label}: prev_kv`);
        else
          assert.ok(
            p === undefined || Number(e.kv!.modRevision) - 1 < compactAt,
            `${label}: missing prev_kv at ${e.kv!.modRevision}`,
          );
      });
    }
    checked += evs.length;
  }
  for (const c of compacted) {
    const rs = received(c.stream, c.id);
    assert.equal(rs[0]?.created, true);
    const cancel = rs.find((r) => r.canceled)!;
    assert.equal(cancel.compactRevision, BigInt(compactAt));
    assert.equal(cancel.events.length, 0);
  }
  assert.ok(checked > 5000, `${checked} events checked`);
  assert.ok(slowCanceled > 0, "some of the slow consumer's watchers fell behind the compaction");
  assert.ok(slow1.responses.length > 1000, 'the first slow consumer caught up');
  assert.ok(lastRev > base + 1000);
  for (const s of streams) s.cancel();
});
