// Model test of the streamed Range: over random histories (empty, small and large values, leases,
// many revisions of a key, deletes and re-creates, several keys in one revision, a compaction) and
// random requests (key ranges, limits, read revisions, every sort target and order, revision
// filters, keys-only, count-only), the chunks the streamed encoder produces, put together, are
// byte for byte what the plain path (applyRange + the generated encoder) sends; every chunk stays
// within its bound; and the read view is released.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { encodeMessage, etcdserverpb, type PartialMessage } from '@conclave/api';
import { openFixture, type Fixture } from '../../testing/mvcc-fixture.js';
import { mulberry32 } from '../../testing/random.js';
import { applyRange } from '../apply/kv.js';
import { CHUNK_BYTES, streamRange } from './index.js';

const SortOrder = etcdserverpb.RangeRequest_SortOrder;
const SortTarget = etcdserverpb.RangeRequest_SortTarget;

const fixtures: Fixture[] = [];
/** Read views of each fixture's backend not yet released (counted by wrapping readView). */
const openViews = new WeakMap<Fixture, () => number>();

async function fixture(): Promise<Fixture> {
  const fx = await openFixture();
  fixtures.push(fx);
  let open = 0;
  const readView = fx.backend.readView.bind(fx.backend);
  fx.backend.readView = () => {
    const v = readView();
    open++;
    let released = false;
    const release = v.release;
    v.release = () => {
      if (!released) open--;
      released = true;
      release();
    };
    return v;
  };
  openViews.set(fx, () => open);
  return fx;
}
const views = (fx: Fixture): number => openViews.get(fx)!();
const MAX_VALUE = 70_000;
after(async () => {
  for (const fx of fixtures) await fx.close();
});

const header = (rev: number): PartialMessage<etcdserverpb.ResponseHeader> => ({
  clusterId: 0x1234_5678_9abc_def0n,
  memberId: 42n,
  revision: rev,
  raftTerm: 7,
});

function plainBytes(fx: Fixture, r: etcdserverpb.RangeRequest): Buffer {
  const res = applyRange(fx.store, r);
  return Buffer.from(
    encodeMessage(etcdserverpb.RangeResponse, { ...res, header: header(Number(res.header!.revision)) }),
  );
}

/** The streamed body put together (null: the plan left it to the plain path), chunks checked. */
function streamedBytes(fx: Fixture, r: etcdserverpb.RangeRequest): Buffer | null {
  const body = streamRange(fx.store, r, header, 0);
  if (body === null) {
    assert.equal(views(fx), 0, 'no read view left open by a refused plan');
    return null;
  }
  const chunks: Buffer[] = [];
  try {
    for (let c = body.next(); c !== null; c = body.next()) {
      assert.ok(c.length > 0, 'no empty chunk');
      chunks.push(c);
    }
  } finally {
    body.close();
  }
  // a chunk holds at most CHUNK_BYTES of kvs (plus header and tail), or one kv larger than that
  for (const c of chunks) assert.ok(c.length <= Math.max(CHUNK_BYTES, MAX_VALUE + 200) + 64, `chunk of ${c.length}`);
  const out = Buffer.concat(chunks);
  assert.equal(out.length, body.size, 'announced size');
  return out;
}

async function history(seed: number): Promise<{ fx: Fixture; keys: string[]; revs: number[] }> {
  const rnd = mulberry32(seed);
  const fx = await fixture();
  const nKeys = 5 + Math.floor(rnd() * 120);
  const keys = Array.from({ length: nKeys }, (_, i) => `k/${String(i).padStart(3, '0')}${rnd() < 0.2 ? '/x' : ''}`);
  const value = (): Buffer => {
    const x = rnd();
    const len =
      x < 0.15 ? 0 : x < 0.9 ? Math.floor(rnd() * 300) : x < 0.97 ? 2000 + Math.floor(rnd() * 20_000) : MAX_VALUE;
    return Buffer.alloc(len, Math.floor(rnd() * 256));
  };
  const revs: number[] = [];
  const steps = 50 + Math.floor(rnd() * 250);
  for (let i = 0; i < steps; i++) {
    fx.store.write((t) => {
      for (let j = 0, n = 1 + Math.floor(rnd() * 3); j < n; j++) {
        const k = Buffer.from(keys[Math.floor(rnd() * keys.length)]!);
        if (rnd() < 0.12) t.deleteRange(k, null);
        else {
          const lease = rnd() < 0.2 ? BigInt(1 + Math.floor(rnd() * 2 ** 40)) : rnd() < 0.02 ? -5n : 0n;
          t.put(k, value(), lease);
        }
      }
    });
    revs.push(fx.store.currentRevision);
    if (i === Math.floor(steps / 3) && rnd() < 0.5) await fx.store.compact(fx.store.currentRevision - 5).done;
  }
  return { fx, keys, revs };
}

function randomRequest(
  rnd: () => number,
  keys: string[],
  revs: number[],
  compactRev: number,
): etcdserverpb.RangeRequest {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const r = etcdserverpb.RangeRequest.create();
  const x = rnd();
  if (x < 0.3) {
    r.key = Buffer.from('k/');
    r.rangeEnd = Buffer.from('k0');
  } else if (x < 0.45) {
    r.key = Buffer.from([0]);
    r.rangeEnd = Buffer.from([0]);
  } else {
    const [a, b] = [pick(keys), pick(keys)].sort();
    r.key = Buffer.from(a!);
    r.rangeEnd = Buffer.from(rnd() < 0.2 ? [0] : Buffer.from(b!));
  }
  if (rnd() < 0.4) r.limit = BigInt(Math.floor(rnd() * 40));
  if (rnd() < 0.3) {
    const usable = revs.filter((v) => v >= compactRev);
    r.revision = BigInt(pick(usable));
  }
  if (rnd() < 0.5) r.sortOrder = pick([SortOrder.NONE, SortOrder.ASCEND, SortOrder.DESCEND]);
  if (rnd() < 0.5)
    r.sortTarget = pick([SortTarget.KEY, SortTarget.VERSION, SortTarget.CREATE, SortTarget.MOD, SortTarget.VALUE]);
  const someRev = () => BigInt(pick(revs));
  if (rnd() < 0.15) r.minModRevision = someRev();
  if (rnd() < 0.15) r.maxModRevision = someRev();
  if (rnd() < 0.15) r.minCreateRevision = someRev();
  if (rnd() < 0.15) r.maxCreateRevision = someRev();
  r.keysOnly = rnd() < 0.25;
  r.countOnly = rnd() < 0.05;
  return r;
}

function describe(r: etcdserverpb.RangeRequest): string {
  const k = (b: Uint8Array) => JSON.stringify(Buffer.from(b).toString('latin1'));
  return [
    `[${k(r.key)}, ${k(r.rangeEnd)})`,
    `limit ${r.limit} rev ${r.revision} order ${r.sortOrder} target ${r.sortTarget}`,
    `mod ${r.minModRevision}–${r.maxModRevision} create ${r.minCreateRevision}–${r.maxCreateRevision}`,
    `keysOnly ${r.keysOnly} countOnly ${r.countOnly}`,
  ].join(' ');
}

test('the streamed encoder sends the plain encoder’s bytes (random histories and requests)', async () => {
  let streamed = 0;
  let plainOnly = 0;
  for (let seed = 1; seed <= 12; seed++) {
    const { fx, keys, revs } = await history(seed);
    const rnd = mulberry32(seed * 7919);
    for (let i = 0; i < 150; i++) {
      const r = randomRequest(rnd, keys, revs, fx.store.compactRevision);
      const where = `seed ${seed} request ${i}: ${describe(r)}`;
      const got = streamedBytes(fx, r);
      if (got === null) {
        plainOnly++;
        // left to the plain path only: count-only, by value, or nothing to send
        const byValue = r.sortTarget === SortTarget.VALUE;
        const none = applyRange(fx.store, r).kvs!.length === 0;
        assert.ok(r.countOnly || byValue || none, `${where}: refused a plannable range`);
        continue;
      }
      streamed++;
      assert.ok(got.equals(plainBytes(fx, r)), `${where}: bytes differ`);
    }
    assert.equal(views(fx), 0, 'every read view released');
  }
  assert.ok(streamed > 1000, `streamed ${streamed} of ${streamed + plainOnly}`);
});

test('a streamed range reads one revision: later writes and a compaction change nothing', async () => {
  const fx = await fixture();
  for (let i = 0; i < 300; i++) fx.store.write((t) => t.put(Buffer.from(`a/${i}`), Buffer.alloc(400, i), 0n));
  const r = etcdserverpb.RangeRequest.create({ key: Buffer.from('a/'), rangeEnd: Buffer.from('a0') });
  const want = plainBytes(fx, r);
  const body = streamRange(fx.store, r, header, 0)!;
  const first = body.next()!;
  // overwrite and delete everything, then compact the old revisions away, between two chunks
  for (let i = 0; i < 300; i++) fx.store.write((t) => t.put(Buffer.from(`a/${i}`), Buffer.from('new'), 0n));
  fx.store.write((t) => t.deleteRange(Buffer.from('a/'), Buffer.from('a0')));
  await fx.store.compact(fx.store.currentRevision).done;
  const chunks = [first];
  for (let c = body.next(); c !== null; c = body.next()) chunks.push(c);
  body.close();
  assert.ok(Buffer.concat(chunks).equals(want));
  assert.ok(chunks.length > 1, 'sent in several chunks');
  assert.equal(views(fx), 0);
});

test('compacted and future revisions fail as on the plain path, leaving no read view open', async () => {
  const fx = await fixture();
  for (let i = 0; i < 10; i++) fx.store.write((t) => t.put(Buffer.from(`b/${i}`), Buffer.from('v'), 0n));
  await fx.store.compact(5).done;
  for (const revision of [3n, 100n]) {
    const r = etcdserverpb.RangeRequest.create({ key: Buffer.from('b/'), rangeEnd: Buffer.from('b0'), revision });
    const plain = (() => {
      try {
        applyRange(fx.store, r);
      } catch (e) {
        return e as Error;
      }
    })();
    assert.throws(() => streamRange(fx.store, r, header, 0), { message: plain!.message });
  }
  assert.equal(views(fx), 0);
});
