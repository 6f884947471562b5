// The bbolt reader on databases written by the real bbolt library (test/go/boltcheck make): nested
// and inline buckets, overflow values, freed pages and a synced freelist, other page sizes; and
// damaged files refused with bbolt's texts.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BoltReader, BoltReadError, type BucketRef } from '../../../packages/server/src/storage/bbolt/reader.js';
import { mulberry32 } from '../../../packages/server/testing/random.js';
import { boltcheck, writeFile } from './fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'bbolt-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const flip = (b: Buffer, off: number, mask: number): void => {
  b[off] = b[off]! ^ mask;
};

type Op = { op: string; path?: string[]; key?: string; value?: string; percent?: number; seq?: number };
const hex = (s: string | Buffer) => Buffer.from(s).toString('hex');

/** Every entry under every bucket, as "path/key=value" lines (values as hex), like boltcheck dump. */
function flatten(r: BoltReader, ref: BucketRef, path: string[], out: string[]): void {
  const subs: Array<[string, BucketRef]> = [];
  for (const it of r.entries(ref)) {
    if (it.bucket) {
      const sub = BoltReader.bucketRef(Buffer.from(it.value));
      out.push(`${path.join('/')}|${it.key.toString('hex')}|bucket|${sub.sequence}`);
      subs.push([it.key.toString(), sub]);
    } else out.push(`${path.join('/')}|${it.key.toString('hex')}|${it.value.toString('hex')}`);
  }
  for (const [name, sub] of subs) {
    // boltcheck prints a bucket's entries right after the bucket: reorder to compare
    const inner: string[] = [];
    flatten(r, sub, [...path, name], inner);
    const at = out.findIndex((l) => l.startsWith(`${path.join('/')}|${Buffer.from(name).toString('hex')}|bucket|`));
    out.splice(at + 1, 0, ...inner);
  }
}

function dumpLines(file: string): string[] {
  return boltcheck(['dump', file])
    .out.trim()
    .split('\n')
    .map((l) => {
      const e = JSON.parse(l) as { path: string[]; key: string; value?: string; bucket?: boolean; seq?: number };
      return e.bucket ? `${e.path.join('/')}|${e.key}|bucket|${e.seq}` : `${e.path.join('/')}|${e.key}|${e.value}`;
    });
}

function goMake(name: string, ops: Op[], pageSize = 4096): string {
  const file = join(dir, name);
  boltcheck(['-pagesize', String(pageSize), 'make', file], `${ops.map((o) => JSON.stringify(o)).join('\n')}\n`);
  return file;
}

function readAll(file: string): string[] {
  const r = BoltReader.open(file);
  try {
    const out: string[] = [];
    flatten(r, r.root, [], out);
    return out;
  } finally {
    r.close();
  }
}

describe('databases written by bbolt', () => {
  for (const pageSize of [1024, 4096, 8192]) {
    test(`nested and inline buckets, overflow values, freed pages (page size ${pageSize})`, () => {
      const r = mulberry32(pageSize);
      const ops: Op[] = [{ op: 'begin' }];
      for (let i = 0; i < 3000; i++) {
        const big = r() < 0.02;
        ops.push({
          op: 'put',
          path: ['key'],
          key: hex(`k${String(Math.floor(r() * 1e6)).padStart(7, '0')}`),
          value: big ? 'ab'.repeat(3 * pageSize) : hex(`value-${i}`),
        });
      }
      ops.push({ op: 'commit' });
      ops.push({ op: 'put', path: ['outer', 'inner'], key: hex('x'), value: hex('1') });
      ops.push({ op: 'put', path: ['outer', 'inner', 'deeper'], key: hex('y'), value: hex('2') });
      ops.push({ op: 'put', path: ['outer'], key: hex('plain'), value: hex('3') });
      ops.push({ op: 'seq', path: ['outer', 'inner'], seq: 42 });
      ops.push({ op: 'bucket', path: ['empty'] });
      for (let i = 0; i < 200; i++) ops.push({ op: 'put', path: ['big'], key: hex(`b${i}`), value: 'cd'.repeat(400) });
      // free pages: delete a lot in separate transactions
      for (let i = 0; i < 200; i += 2) ops.push({ op: 'del', path: ['big'], key: hex(`b${i}`) });
      const file = goMake(`go-${pageSize}.db`, ops, pageSize);
      const reader = BoltReader.open(file);
      assert.equal(reader.pageSize, pageSize);
      const free = reader.freelist();
      assert.ok(free.length > 0, 'deletes left free pages');
      assert.ok(free.every((id) => id >= 2 && id < reader.meta.pgid));
      reader.close();
      assert.deepEqual(readAll(file), dumpLines(file));
    });
  }

  test('bucket() finds a top-level or nested bucket, null otherwise', () => {
    const file = goMake('lookup.db', [
      { op: 'put', path: ['a', 'b'], key: hex('k'), value: hex('v') },
      { op: 'put', path: ['c'], key: hex('k'), value: hex('v') },
    ]);
    const r = BoltReader.open(file);
    const a = r.bucket(Buffer.from('a'))!;
    assert.ok(a);
    const b = r.bucket(Buffer.from('b'), a)!;
    assert.deepEqual(
      [...r.entries(b)].map((e) => e.key.toString()),
      ['k'],
    );
    assert.equal(r.bucket(Buffer.from('b')), null);
    assert.equal(r.bucket(Buffer.from('k'), r.bucket(Buffer.from('c'))!), null, 'a plain key is not a bucket');
    r.close();
  });
});

describe('damaged files', () => {
  const good = (): string => {
    const file = join(dir, `good-${Math.random().toString(36).slice(2)}.db`);
    const entries: Array<[Buffer, Buffer]> = [];
    for (let i = 0; i < 2000; i++) entries.push([Buffer.from(`k${String(i).padStart(5, '0')}`), Buffer.alloc(60, i)]);
    writeFile(file, new Map([['key', entries]]));
    return file;
  };
  const openErr = (file: string, opts = {}): string => {
    try {
      const r = BoltReader.open(file, opts);
      for (const b of r.entries(r.root)) for (const _ of r.entries(BoltReader.bucketRef(Buffer.from(b.value))));
      r.close();
      return 'no error';
    } catch (e) {
      assert.ok(e instanceof BoltReadError, String(e));
      return e.message;
    }
  };

  test('not a database, too small, bad checksums, wrong version', () => {
    const notDb = join(dir, 'not.db');
    writeFileSync(notDb, Buffer.alloc(16384, 'not a database '));
    assert.equal(openErr(notDb), 'invalid database');
    const tiny = join(dir, 'tiny.db');
    writeFileSync(tiny, Buffer.alloc(2800, 1));
    assert.equal(openErr(tiny), 'file size too small 2800');

    const both = good();
    const buf = readFileSync(both);
    flip(buf, 16 + 40, 1); // meta 0's pgid
    flip(buf, 4096 + 16 + 40, 1);
    writeFileSync(both, buf);
    assert.equal(openErr(both), 'checksum error');

    const one = good();
    const b1 = readFileSync(one);
    flip(b1, 4096 + 16 + 48, 0xff); // meta 1's txid (the newer one): meta 0 still serves
    writeFileSync(one, b1);
    assert.equal(openErr(one), 'no error');

    const ver = good();
    const b2 = readFileSync(ver);
    b2[16 + 4] = 3;
    b2[4096 + 16 + 4] = 3;
    writeFileSync(ver, b2);
    assert.equal(openErr(ver), 'version mismatch');
  });

  test('a truncated file, a page with a wrong id, pages that must stop before a trailer', () => {
    const cut = good();
    truncateSync(cut, 8 * 4096);
    assert.match(openErr(cut), /^database file truncated: 32768 bytes hold 8 of its \d+ pages$/);

    const bad = good();
    const buf = readFileSync(bad);
    buf.writeUInt32LE(999, 5 * 4096); // page 5's id
    writeFileSync(bad, buf);
    assert.match(openErr(bad), /^page 5: invalid page id 999/);

    const file = good();
    assert.match(openErr(file, { trailerBytes: 32 }), /^database file truncated/);
    const withTrailer = join(dir, 'trailer.db');
    writeFileSync(withTrailer, Buffer.concat([readFileSync(file), Buffer.alloc(32, 7)]));
    assert.equal(openErr(withTrailer, { trailerBytes: 32 }), 'no error');
  });
});
