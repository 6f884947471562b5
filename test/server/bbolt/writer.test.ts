// The bbolt writer: page layout (meta pages, freelist, leaves, branches, overflow pages, inline
// buckets) checked byte by byte, and random databases checked by the real bbolt library
// (test/go/boltcheck: tx.Check and a full dump) and read back by our reader.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BoltReader } from '../../../packages/server/src/storage/bbolt/reader.js';
import { BoltWriteError, type BoltWriter } from '../../../packages/server/src/storage/bbolt/writer.js';
import {
  BUCKET_LEAF_FLAG,
  MAGIC,
  PAGE_BRANCH,
  PAGE_FREELIST,
  PAGE_LEAF,
  PAGE_META,
  fnv1a64,
  readMetaPage,
  readPageHeader,
  readU32,
} from '../../../packages/server/src/storage/bbolt/format.js';
import {
  boltcheck,
  dumpModel,
  haveBoltcheck,
  inputs,
  randomModel,
  writeAll,
  writeFile,
  type Model,
} from './fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'bbolt-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PS = 4096;
const kv = (k: string, v: string | Buffer): [Buffer, Buffer] => [
  Buffer.from(k),
  typeof v === 'string' ? Buffer.from(v) : v,
];
const pagesOf = (path: string) =>
  boltcheck(['pages', path])
    .out.trim()
    .split('\n')
    .map(
      (l) => JSON.parse(l) as { id: number; type: string; count: number; overflow: number; meta?: { pgid: number } },
    );

function readBack(path: string): Model {
  const r = BoltReader.open(path);
  try {
    const model: Model = new Map();
    for (const b of r.entries(r.root)) {
      assert.ok(b.bucket, 'top-level entries are buckets');
      const ref = BoltReader.bucketRef(Buffer.from(b.value));
      const entries: Array<[Buffer, Buffer]> = [];
      // items are reused by the iterator: copy each before asking for the next
      for (const e of r.entries(ref)) entries.push([Buffer.from(e.key), Buffer.from(e.value)]);
      model.set(b.key.toString(), entries);
    }
    return model;
  } finally {
    r.close();
  }
}

test('the referee is built (npm test builds test/go/boltcheck)', () => {
  assert.ok(haveBoltcheck(), 'node_modules/.cache/conclave-go/boltcheck is missing: run `npm test` once');
});

describe('page layout', () => {
  test('meta pages, empty freelist, inline buckets in the root leaf', () => {
    const model: Model = new Map([
      ['a', [kv('k1', 'v1'), kv('k2', '')]],
      ['empty', []],
    ]);
    const { file } = writeAll(inputs(model));
    assert.equal(file.length, 4 * PS, 'metas, freelist, root leaf');
    for (const id of [0, 1]) {
      const h = readPageHeader(file, id * PS);
      assert.deepEqual(h, { id, flags: PAGE_META, count: 0, overflow: 0 });
      assert.equal(readU32(file, id * PS + 16), MAGIC);
      const m = readMetaPage(file, id * PS);
      assert.ok(m.ok);
      assert.deepEqual(
        { ...m.meta, rootSequence: Number(m.meta.rootSequence) },
        { pageSize: PS, flags: 0, root: 3, rootSequence: 0, freelist: 2, pgid: 4, txid: id },
      );
      const sum = fnv1a64(file, id * PS + 16, id * PS + 16 + 56);
      assert.equal(file.readBigUInt64LE(id * PS + 16 + 56), sum);
    }
    assert.deepEqual(readPageHeader(file, 2 * PS), { id: 2, flags: PAGE_FREELIST, count: 0, overflow: 0 });
    const root = readPageHeader(file, 3 * PS);
    assert.deepEqual(root, { id: 3, flags: PAGE_LEAF, count: 2, overflow: 0 });
    // element 0: bucket "a", inline: 16-byte header (root 0, sequence 0) + its page
    const e0 = 3 * PS + 16;
    assert.equal(readU32(file, e0), BUCKET_LEAF_FLAG);
    const pos = readU32(file, e0 + 4);
    assert.equal(readU32(file, e0 + 8), 1);
    const vsize = readU32(file, e0 + 12);
    assert.equal(file.toString('latin1', e0 + pos, e0 + pos + 1), 'a');
    const value = file.subarray(e0 + pos + 1, e0 + pos + 1 + vsize);
    assert.equal(value.readBigUInt64LE(0), 0n, 'inline: root 0');
    assert.deepEqual(readPageHeader(value, 16), { id: 0, flags: PAGE_LEAF, count: 2, overflow: 0 });
    assert.equal(vsize, 16 + 16 + 2 * 16 + 'k1v1k2'.length);
    // the empty bucket: header + an empty leaf page
    const e1 = e0 + 16;
    assert.equal(readU32(file, e1 + 12), 32);
    const p = join(dir, 'layout.db');
    writeFile(p, model);
    boltcheck(['check', p]);
    assert.deepEqual(dumpModel(p), model);
  });

  test('a bucket stays inline up to a quarter page, then gets pages of its own', () => {
    // node size = 16 (page header) + per entry 16 + key + value
    const at = (size: number): Model => new Map([['b', [kv('k', Buffer.alloc(size - 16 - 16 - 1, 1))]]]);
    const inline = writeAll(inputs(at(1024))).file;
    assert.equal(inline.length, 4 * PS);
    const paged = writeAll(inputs(at(1025))).file;
    assert.equal(paged.length, 5 * PS);
    assert.deepEqual(readPageHeader(paged, 3 * PS), { id: 3, flags: PAGE_LEAF, count: 1, overflow: 0 });
    assert.equal(readPageHeader(paged, 4 * PS).id, 4, 'the root bucket comes last');
    const p = join(dir, 'threshold.db');
    writeFile(p, at(1025));
    boltcheck(['check', p]);
  });

  test('a value larger than a page gets overflow pages; branch pages above many leaves', () => {
    const entries: Array<[Buffer, Buffer]> = [];
    for (let i = 0; i < 5000; i++)
      entries.push([Buffer.from(`key/${String(i).padStart(6, '0')}`), Buffer.alloc(i === 77 ? 10_000 : 100, i & 0xff)]);
    const model: Model = new Map([['big', entries]]);
    const p = join(dir, 'overflow.db');
    writeFile(p, model);
    boltcheck(['check', p]);
    const pages = pagesOf(p);
    const big = pages.find((x) => x.overflow > 0)!;
    assert.deepEqual(
      { type: big.type, count: big.count, overflow: big.overflow },
      { type: 'leaf', count: 1, overflow: 2 },
    );
    assert.ok(
      pages.some((x) => x.type === 'branch'),
      'branch pages',
    );
    assert.ok(pages.filter((x) => x.type === 'leaf').length > 100);
    assert.deepEqual(dumpModel(p), model);
    assert.deepEqual(readBack(p), model);
  });

  test('three levels: branch pages of branch pages', () => {
    const entries: Array<[Buffer, Buffer]> = [];
    for (let i = 0; i < 200_000; i++) {
      const k = Buffer.alloc(17);
      k.writeUInt32BE(i, 4);
      entries.push([k, Buffer.from([i & 0xff])]);
    }
    const model: Model = new Map([['key', entries]]);
    const { file } = writeAll(inputs(model));
    const r = (() => {
      const p = join(dir, 'deep.db');
      writeFile(p, model);
      return p;
    })();
    boltcheck(['check', r]);
    const reader = BoltReader.open(r);
    const ref = reader.bucket(Buffer.from('key'))!;
    const root = readPageHeader(file, ref.root * PS);
    assert.equal(root.flags, PAGE_BRANCH);
    const child = file.readUInt32LE(ref.root * PS + 16 + 8);
    assert.equal(readPageHeader(file, child * PS).flags, PAGE_BRANCH, 'the root points at branch pages');
    let n = 0;
    for (const e of reader.entries(ref)) assert.equal(e.key.readUInt32BE(4), n++);
    assert.equal(n, 200_000);
    reader.close();
  });

  test('chunks are whole pages of the configured size; the plan size is exact', () => {
    const { file, chunks } = writeAll(inputs(randomModel(3)), { chunkSize: 64 * 1024 });
    for (const c of chunks.slice(0, -1)) assert.equal(c.length % PS, 0);
    assert.ok(chunks.every((c) => c.length <= 64 * 1024 || c.length % PS === 0));
    assert.equal(file.length % PS, 0);
  });
});

describe('random databases (model test against the real bbolt)', () => {
  for (const seed of [1, 2, 5, 8, 13, 21]) {
    test(`seed ${seed}`, () => {
      const model = randomModel(seed);
      const p = join(dir, `model-${seed}.db`);
      writeFile(p, model);
      boltcheck(['check', p]);
      assert.deepEqual(dumpModel(p), model);
      assert.deepEqual(readBack(p), model);
    });
  }

  test('bbolt can write to the file afterwards (etcd does, after a restore)', () => {
    const model = randomModel(34);
    const p = join(dir, 'then-bbolt.db');
    writeFile(p, model);
    const [name, entries] = [...model].find(([, e]) => e.length > 100)!;
    // deleting most entries makes bbolt merge and rebalance nodes all over the tree
    const ops = entries
      .filter((_, i) => i % 10 !== 0)
      .map(([k]) => JSON.stringify({ op: 'del', path: [name], key: k.toString('hex') }));
    ops.push(JSON.stringify({ op: 'put', path: ['zz-new'], key: '01', value: 'ff'.repeat(3000) }));
    boltcheck(['make', p], `${ops.join('\n')}\n`);
    boltcheck(['check', p]);
    const expected = new Map(model);
    expected.set(
      name,
      entries.filter((_, i) => i % 10 === 0),
    );
    expected.set('zz-new', [[Buffer.from([1]), Buffer.alloc(3000, 0xff)]]);
    assert.deepEqual(readBack(p), expected);
  });
});

describe('bad input is refused', () => {
  const write = (buckets: ConstructorParameters<typeof BoltWriter>[0]) => () => writeAll(buckets);
  test('keys out of order, empty keys, duplicate buckets', () => {
    assert.throws(write(inputs(new Map([['b', [kv('b', ''), kv('a', '')]]]))), /not in ascending order/);
    assert.throws(write(inputs(new Map([['b', [kv('a', ''), kv('a', '')]]]))), /not in ascending order/);
    assert.throws(write(inputs(new Map([['b', [[Buffer.alloc(0), Buffer.from('x')]]]]))), /key of 0 bytes/);
    const dup = inputs(new Map([['b', []]]));
    assert.throws(write([...dup, ...dup]), BoltWriteError);
  });

  test('entries that change between the two passes', () => {
    let calls = 0;
    const changing = [
      {
        name: Buffer.from('b'),
        entries: () =>
          calls++ === 0
            ? [{ key: Buffer.from('a'), value: Buffer.from('1') }]
            : [{ key: Buffer.from('a'), value: Buffer.from('22') }],
      },
    ];
    assert.throws(write(changing), /changed between passes/);
  });
});
