// Randomized check of the store against a plain model (a full key → KeyValue map per revision),
// with transactions, range deletes, compactions (awaited or not), reopens and rolled-back batches.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompactedError } from './errors.js';
import { kvt, openFixture, type Fixture } from '../../testing/mvcc-fixture.js';
import { mulberry32 } from '../../testing/random.js';

type Kv = [string, string, number, number, number, bigint];
type State = Map<string, Kv>;

const KEYS = ['', '\x00', '\x00\x01', 'a', 'ab', 'abc', 'b', 'ba', '\x7f', '\xff', '\xff\xff', 'zz'].slice(1);
const buf = (s: string) => Buffer.from(s, 'latin1');
const sorted = (s: State): Kv[] => [...s.values()].sort((x, y) => Buffer.compare(buf(x[0]), buf(y[0])));
const inRange = (k: string, lo: string, hi: string | null) => k >= lo && (hi === null || k < hi);

async function run(seed: number, steps: number): Promise<void> {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const fx: Fixture = await openFixture();
  const states: State[] = [new Map(), new Map()]; // index = revision; revision 1 is empty
  let compactRev = -1;
  const pending: Array<Promise<void>> = [];

  const check = (where: string) => {
    const s = fx.store;
    const rev = states.length - 1;
    assert.equal(s.currentRevision, rev, `${where}: current revision`);
    assert.deepEqual(
      s.range(Buffer.from([0]), Buffer.from([0])).kvs.map(kvt),
      sorted(states[rev]!),
      `${where}: all keys`,
    );
    for (let i = 0; i < 3; i++) {
      const at = Math.max(compactRev, 1) + Math.floor(rnd() * (rev - Math.max(compactRev, 1) + 1));
      const lo = pick(KEYS);
      const picked = pick(KEYS);
      const hi = rnd() < 0.3 || picked === '\x00' ? null : picked; // end "\0" means "no upper bound"
      const want = sorted(states[at]!).filter((kv) => inRange(kv[0], lo, hi));
      const limit = Math.floor(rnd() * 4);
      const got = s.range(buf(lo), hi === null ? Buffer.from([0]) : buf(hi), { rev: at, limit });
      const expect = hi !== null && hi <= lo ? [] : want;
      assert.equal(got.count, expect.length, `${where}: count at ${at} [${lo}, ${hi})`);
      assert.deepEqual(got.kvs.map(kvt), limit ? expect.slice(0, limit) : expect, `${where}: range at ${at}`);
    }
    if (compactRev > 1) assert.throws(() => s.range(buf('a'), null, { rev: compactRev - 1 }), CompactedError);
  };

  for (let step = 0; step < steps; step++) {
    const rev = states.length - 1;
    const cur = new Map(states[rev]!);
    const next = rev + 1;
    let changed = false;
    const put = (k: string, v: string, lease: bigint) => {
      const old = cur.get(k);
      cur.set(k, [k, v, old ? old[2] : next, next, old ? old[4] + 1 : 1, lease]);
      changed = true;
    };
    const delRange = (lo: string, hi: string | null) => {
      for (const k of [...cur.keys()]) {
        if ((hi === null && k === lo) || (hi !== null && inRange(k, lo, hi))) {
          cur.delete(k);
          changed = true;
        }
      }
    };
    const r = rnd();
    if (r < 0.45) {
      const k = pick(KEYS);
      const v = `v${step}`;
      const lease = rnd() < 0.2 ? BigInt(step) : 0n;
      fx.store.write((t) => t.put(buf(k), buf(v), lease));
      put(k, v, lease);
    } else if (r < 0.65) {
      const ops = Array.from(
        { length: 1 + Math.floor(rnd() * 4) },
        () => [rnd() < 0.7, pick(KEYS), pick(KEYS)] as const,
      );
      fx.store.write((t) => {
        for (const [isPut, k, k2] of ops) {
          if (isPut) t.put(buf(k), buf(`t${step}`));
          else t.deleteRange(buf(k), k2 > k ? buf(k2) : null);
        }
      });
      for (const [isPut, k, k2] of ops) isPut ? put(k, `t${step}`, 0n) : delRange(k, k2 > k ? k2 : null);
    } else if (r < 0.8) {
      const lo = pick(KEYS);
      const picked = pick(KEYS);
      const hi = rnd() < 0.3 || picked === '\x00' ? '\uffff' : picked;
      fx.store.write((t) => t.deleteRange(buf(lo), hi === '\uffff' ? Buffer.from([0]) : buf(hi)));
      if (hi > lo) delRange(lo, hi);
    } else if (r < 0.87 && rev > compactRev + 1) {
      const at = compactRev + 1 + Math.floor(rnd() * (rev - compactRev));
      const { done } = fx.store.compact(at);
      compactRev = at;
      if (rnd() < 0.5) await done;
      else pending.push(done.catch(() => undefined));
    } else if (r < 0.93) {
      assert.throws(() =>
        fx.backend.batch(() => {
          fx.store.write((t) => t.put(buf(pick(KEYS)), buf('doomed')));
          throw new Error('rolled back');
        }),
      );
    } else if (r < 0.96) {
      await fx.reopen();
      assert.equal(fx.store.compactRevision, compactRev);
    } else {
      await fx.store.compactionIdle();
      const h = fx.store.hashKV();
      assert.equal(h.compactRevision, compactRev);
    }
    if (changed) states.push(cur);
    check(`seed ${seed} step ${step}`);
  }
  await Promise.all(pending);
  await fx.store.compactionIdle();
  const before = fx.store.hashKV();
  await fx.reopen();
  assert.deepEqual(fx.store.hashKV(), before);
  check(`seed ${seed} end`);
  await fx.close();
}

test('randomized histories agree with a reference model', async () => {
  for (const seed of [1, 2, 3, 42]) await run(seed, 250);
});
