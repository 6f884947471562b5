// Model check of the packed key entry (key-entry.ts): random sequences of puts, tombstones,
// rolled-back writes, compactions and restarts (rebuilding from the revisions a compaction leaves
// stored) give the same generations and the same at()/keep() answers as a plain one-object-per-
// generation structure, and at() agrees with the full history at every revision not compacted.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyIndex } from './key-index.js';
import type { Generation } from './key-entry.js';
import { mulberry32 } from '../../testing/random.js';

/** The plain structure: one object per generation, revisions as (main, sub) pairs. */
class PlainEntry {
  gens: Generation[] = [{ ver: 0, created: 0, revs: [] }];
  get last(): Generation {
    return this.gens[this.gens.length - 1]!;
  }
  put(main: number, sub: number): void {
    const g = this.last;
    if (g.revs.length === 0) g.created = main;
    g.revs.push(main, sub);
    g.ver++;
  }
  tombstone(main: number, sub: number): void {
    this.put(main, sub);
    this.gens.push({ ver: 0, created: 0, revs: [] });
  }
  undoPut(): void {
    const g = this.last;
    g.revs.length -= 2;
    g.ver--;
    if (g.revs.length === 0) g.created = 0;
  }
  undoTombstone(): void {
    this.gens.pop();
    this.undoPut();
  }
  /** [main, sub, created] visible at atRev, or null (etcd's keyIndex.get). */
  at(atRev: number): [number, number, number] | null {
    for (let gi = this.gens.length - 1; gi >= 0; gi--) {
      const { revs: r, created } = this.gens[gi]!;
      if (r.length === 0 || r[0]! > atRev) continue;
      if (gi !== this.gens.length - 1 && r[r.length - 2]! <= atRev) return null;
      let i = r.length - 2;
      while (r[i]! > atRev) i -= 2;
      return [r[i]!, r[i + 1]!, created];
    }
    return null;
  }
  private firstGenAfter(atRev: number): number {
    let gi = 0;
    while (gi < this.gens.length - 1 && this.gens[gi]!.revs.at(-2)! <= atRev) gi++;
    return gi;
  }
  /** [main, sub, created] that compacting at atRev keeps, or null (etcd's keyIndex.keep). */
  keep(atRev: number): [number, number, number] | null {
    const gi = this.firstGenAfter(atRev);
    const { revs: r, created } = this.gens[gi]!;
    let i = r.length - 2;
    while (i >= 0 && r[i]! > atRev) i -= 2;
    if (i < 0 || (i === r.length - 2 && gi !== this.gens.length - 1)) return null;
    return [r[i]!, r[i + 1]!, created];
  }
  /** etcd's keyIndex.compact; true when the entry is left empty. */
  compact(atRev: number): boolean {
    let gi = this.firstGenAfter(atRev);
    const r = this.gens[gi]!.revs;
    let i = r.length - 2;
    while (i >= 0 && r[i]! > atRev) i -= 2;
    if (i > 0) r.splice(0, i);
    if (r.length === 2 && gi !== this.gens.length - 1) gi++;
    this.gens.splice(0, gi);
    return this.gens.length === 1 && this.gens[0]!.revs.length === 0;
  }
}

/** A stored revision, as the `key` sub-database holds it. */
interface Stored {
  k: string;
  main: number;
  sub: number;
  tomb: boolean;
  created: number;
  ver: number;
}

const fmt = (x: readonly number[] | null): string => (x === null ? '-' : x.join());
const hitOf = (ix: KeyIndex): [number, number, number] => [ix.hitMain, ix.hitSub, ix.hitCreated];

function run(seed: number, steps: number, keyCount: number): void {
  const rnd = mulberry32(seed);
  const keys = Array.from({ length: keyCount }, (_, i) => `k${i}`);
  let ix = new KeyIndex();
  let plain = new Map<string, PlainEntry>();
  let stored: Stored[] = [];
  const history = new Map<string, Stored[]>(); // every committed revision per key, never compacted
  let rev = 1;
  let compactRev = 0;

  const check = (where: string): void => {
    assert.equal(ix.size, plain.size, `${where}: entries`);
    assert.equal(ix.liveCount, [...plain.values()].filter((p) => p.last.revs.length > 0).length, `${where}: live`);
    for (const [k, p] of plain) {
      const e = ix.get(k);
      assert.ok(e, `${where}: ${k} missing`);
      const gens = e.generations();
      assert.deepEqual(gens, p.gens, `${where}: ${k} generations`);
      assert.equal(e.live, p.last.revs.length > 0);
      if (e.live) assert.deepEqual([e.modRevision, e.c, e.v], [p.last.revs.at(-2), p.last.created, p.last.ver]);
      for (let r = Math.max(1, compactRev - 2); r <= rev + 1; r++) {
        const want = fmt(p.at(r));
        if (fmt(ix.at(e, r) ? hitOf(ix) : null) !== want) assert.fail(`${where}: ${k} at ${r}`);
        if (fmt(ix.keep(e, r) ? hitOf(ix) : null) !== fmt(p.keep(r))) assert.fail(`${where}: ${k} keep ${r}`);
        if (r < compactRev) continue;
        const last = history.get(k)?.findLast((h) => h.main <= r);
        if (fmt(last && !last.tomb ? [last.main, last.sub, last.created] : null) !== want) {
          assert.fail(`${where}: ${k} history at ${r}`);
        }
      }
      if (p.gens[0]!.revs.length > 0) {
        const [m, s] = p.gens[0]!.revs;
        assert.ok(e.isFirst(m!, s!) && !e.isFirst(m!, s! + 1), `${where}: ${k} isFirst`);
      }
    }
  };

  for (let step = 0; step < steps; step++) {
    const op = rnd();
    if (op < 0.75) {
      // One revision of 1-3 writes, rolled back one time in six (as a failed txn or batch).
      const main = rev + 1;
      const undo: Array<{ k: string; kind: 'put' | 'insert' | 'tomb' }> = [];
      const writes: Stored[] = [];
      const n = 1 + Math.floor(rnd() * 3);
      for (let sub = 0; sub < n; sub++) {
        const k = keys[Math.floor(rnd() * keys.length)]!;
        let e = ix.get(k);
        let p = plain.get(k);
        const live = e?.live === true;
        if (live && rnd() < 0.35) {
          e!.tombstone(main, sub);
          p!.tombstone(main, sub);
          ix.liveCount--;
          undo.push({ k, kind: 'tomb' });
          writes.push({ k, main, sub, tomb: true, created: 0, ver: 0 });
          continue;
        }
        const kind = e ? 'put' : 'insert';
        if (!e) {
          e = ix.insert(k);
          p = new PlainEntry();
          plain.set(k, p);
        }
        const created = live ? e.c : main;
        const ver = live ? e.v + 1 : 1;
        if (e.put(main, sub)) ix.liveCount++;
        p!.put(main, sub);
        undo.push({ k, kind });
        writes.push({ k, main, sub, tomb: false, created, ver });
      }
      if (rnd() < 1 / 6) {
        for (const u of undo.reverse()) {
          const e = ix.get(u.k)!;
          const p = plain.get(u.k)!;
          if (u.kind === 'tomb') {
            e.undoTombstone();
            p.undoTombstone();
            ix.liveCount++;
            continue;
          }
          const wasLive = e.generations().at(-1)!.revs.length > 2;
          e.undoPut();
          p.undoPut();
          if (!wasLive) ix.liveCount--;
          if (u.kind === 'insert') {
            ix.remove(e);
            plain.delete(u.k);
          }
        }
      } else {
        rev = main;
        stored.push(...writes);
        for (const w of writes) history.set(w.k, [...(history.get(w.k) ?? []), w]);
      }
    } else if (op < 0.9 && rev > compactRev) {
      // Compaction at a revision between the last one and now, index in small slices, then the
      // stored revisions it no longer needs go (what the compactor does).
      compactRev = compactRev + 1 + Math.floor(rnd() * (rev - compactRev));
      let from: string | null = '';
      while (from !== null) from = ix.compactSlice(compactRev, from, 1 + Math.floor(rnd() * 4));
      for (const [k, p] of plain) if (p.compact(compactRev)) plain.delete(k);
      stored = stored.filter((s) => s.main > compactRev || ix.get(s.k)?.isFirst(s.main, s.sub) === true);
    } else {
      // Restart: both structures rebuilt from the stored revisions in revision order (as rebuild.ts).
      ix = new KeyIndex();
      plain = new Map();
      for (const s of stored) {
        ix.restore(s.k, s.main, s.sub, s.tomb, s.created, s.ver, 0n);
        let p = plain.get(s.k);
        if (s.tomb) {
          if (p?.last.revs.length) p.tombstone(s.main, s.sub);
          continue;
        }
        if (!p) {
          p = new PlainEntry();
          p.gens[0] = { created: s.created, ver: s.ver, revs: [s.main, s.sub] };
          plain.set(s.k, p);
        } else p.put(s.main, s.sub);
      }
    }
    check(`seed ${seed} step ${step}`);
  }
}

test('packed key entries answer as the plain structure (random puts, deletes, rollbacks, compactions, restarts)', () => {
  for (let seed = 1; seed <= 12; seed++) run(seed, 300, seed % 3 === 0 ? 2 : 6);
});

test('a key with a long history (past the exact-size copies) keeps every revision', () => {
  const ix = new KeyIndex();
  const e = ix.insert('k');
  const p = new PlainEntry();
  for (let r = 2; r < 400; r++) {
    if (r % 50 === 0) {
      e.tombstone(r, 0);
      p.tombstone(r, 0);
    } else {
      e.put(r, r % 3);
      p.put(r, r % 3);
    }
  }
  assert.deepEqual(e.generations(), p.gens);
  for (let r = 1; r < 402; r += 7) assert.deepEqual(ix.at(e, r) ? hitOf(ix) : null, p.at(r), `at ${r}`);
  KeyIndex.compactEntry(e, 175);
  p.compact(175);
  assert.deepEqual(e.generations(), p.gens);
});
