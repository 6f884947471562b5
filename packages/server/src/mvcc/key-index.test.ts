import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyIndex, type KeyEntry } from './key-index.js';

// etcd's newTestKeyIndex:
//   {{2,0}, {4,0}, {6,0}(t)}, {{8,0}, {10,0}, {12,0}(t)}, {{14,0}, {14,1}, {16,0}(t)}, {empty}
function testEntry(index: KeyIndex): KeyEntry {
  const e = index.insert('foo');
  e.put(2, 0);
  e.put(4, 0);
  e.tombstone(6, 0);
  e.put(8, 0);
  e.put(10, 0);
  e.tombstone(12, 0);
  e.put(14, 0);
  e.put(14, 1);
  e.tombstone(16, 0);
  return e;
}

const gens = (e: KeyEntry) => e.generations().map((g) => g.revs);

test('at(): the revision visible at each revision, as etcd keyIndex.get', () => {
  const index = new KeyIndex();
  const e = testEntry(index);
  const want: Record<number, [number, number] | null> = {
    17: null,
    16: null,
    15: [14, 1],
    14: [14, 1],
    13: null,
    12: null,
    11: [10, 0],
    10: [10, 0],
    9: [8, 0],
    8: [8, 0],
    7: null,
    6: null,
    5: [4, 0],
    4: [4, 0],
    3: [2, 0],
    2: [2, 0],
    1: null,
  };
  for (const [rev, exp] of Object.entries(want)) {
    const found = index.at(e, Number(rev));
    assert.deepEqual(found ? [index.hitMain, index.hitSub] : null, exp, `at ${rev}`);
  }
  assert.equal(e.live, false);
  e.put(18, 0);
  assert.ok(index.at(e, 100) && index.hitMain === 18);
  assert.equal(e.generations()[3]!.created, 18);
  assert.equal(e.generations()[3]!.ver, 1);
  assert.equal(e.generations()[2]!.ver, 3); // two puts and the tombstone, as etcd
});

test('compactEntry() and keep() follow etcd keyIndex.compact / keep', () => {
  const cases: Array<[number, number[][] | 'empty', [number, number] | null]> = [
    [1, [[2, 0, 4, 0, 6, 0], [8, 0, 10, 0, 12, 0], [14, 0, 14, 1, 16, 0], []], null],
    [2, [[2, 0, 4, 0, 6, 0], [8, 0, 10, 0, 12, 0], [14, 0, 14, 1, 16, 0], []], [2, 0]],
    [3, [[2, 0, 4, 0, 6, 0], [8, 0, 10, 0, 12, 0], [14, 0, 14, 1, 16, 0], []], [2, 0]],
    [4, [[4, 0, 6, 0], [8, 0, 10, 0, 12, 0], [14, 0, 14, 1, 16, 0], []], [4, 0]],
    [5, [[4, 0, 6, 0], [8, 0, 10, 0, 12, 0], [14, 0, 14, 1, 16, 0], []], [4, 0]],
    [6, [[8, 0, 10, 0, 12, 0], [14, 0, 14, 1, 16, 0], []], null],
    [7, [[8, 0, 10, 0, 12, 0], [14, 0, 14, 1, 16, 0], []], null],
    [8, [[8, 0, 10, 0, 12, 0], [14, 0, 14, 1, 16, 0], []], [8, 0]],
    [10, [[10, 0, 12, 0], [14, 0, 14, 1, 16, 0], []], [10, 0]],
    [11, [[10, 0, 12, 0], [14, 0, 14, 1, 16, 0], []], [10, 0]],
    [12, [[14, 0, 14, 1, 16, 0], []], null],
    [14, [[14, 1, 16, 0], []], [14, 1]],
    [15, [[14, 1, 16, 0], []], [14, 1]],
    [16, 'empty', null],
    [17, 'empty', null],
  ];
  for (const [rev, want, kept] of cases) {
    const index = new KeyIndex();
    const e = testEntry(index);
    const k = index.keep(e, rev);
    assert.deepEqual(k ? [index.hitMain, index.hitSub] : null, kept, `keep at ${rev}`);
    const empty = KeyIndex.compactEntry(e, rev);
    if (want === 'empty') assert.ok(empty, `empty after compact at ${rev}`);
    else assert.deepEqual(gens(e), want, `compact at ${rev}`);
  }
  // Compacting step by step gives the same result as compacting at once.
  const index = new KeyIndex();
  const e = testEntry(index);
  for (let rev = 1; rev <= 14; rev++) KeyIndex.compactEntry(e, rev);
  assert.deepEqual(gens(e), [[14, 1, 16, 0], []]);
});

test('a live key keeps its latest revision through compaction; ver and created survive', () => {
  const index = new KeyIndex();
  const e = index.insert('k');
  e.put(2, 0);
  e.put(3, 0);
  e.put(5, 0);
  assert.equal(KeyIndex.compactEntry(e, 10), false);
  assert.deepEqual(gens(e), [[5, 0]]);
  assert.equal(e.generations()[0]!.ver, 3);
  assert.equal(e.generations()[0]!.created, 2);
});

test('the tree orders binary keys by bytes; compactSlice resumes and removes empty entries', () => {
  const index = new KeyIndex();
  const keys = [
    Buffer.from([0xff]),
    Buffer.from([0x00]),
    Buffer.from('a'),
    Buffer.from([0x61, 0x00]),
    Buffer.from([0x7f, 0xff]),
    Buffer.from([0x80]),
  ];
  let rev = 2;
  for (const k of keys) {
    const e = index.insert(k.toString('latin1'));
    e.put(rev++, 0);
  }
  const seen: string[] = [];
  index.forRange('', null, (e) => void seen.push(e.key.toString('hex')));
  assert.deepEqual(seen, ['00', '61', '6100', '7fff', '80', 'ff']);
  const bounded: string[] = [];
  index.forRange('a', '\x80', (e) => void bounded.push(e.key.toString('hex')));
  assert.deepEqual(bounded, ['61', '6100', '7fff']);

  // Delete every other key, then compact in slices of 2.
  for (const e of [...index.values()].filter((_, i) => i % 2 === 0)) e.tombstone(rev++, 0);
  let from: string | null = '';
  let slices = 0;
  while (from !== null) {
    from = index.compactSlice(rev, from, 2);
    slices++;
  }
  assert.ok(slices >= 3);
  assert.deepEqual(
    [...index.values()].map((e) => e.key.toString('hex')),
    ['61', '7fff', 'ff'],
  );
});
