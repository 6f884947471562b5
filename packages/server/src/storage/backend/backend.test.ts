import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Backend } from './backend.js';
import { BackendBusyError, BackendClosedError, NotInBatchError } from './errors.js';
import { dataFileName } from './files.js';

const root = mkdtempSync(join(tmpdir(), 'conclave-backend-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => join(root, `b${++n}`);

const k = (s: string) => Buffer.from(s);

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

test('batch writes are visible, applied index persists across reopen', async () => {
  const dir = newDir();
  let b = await Backend.open({ path: dir });
  assert.equal(b.appliedIndex(), 0);
  b.batch(() => {
    b.dbs.lease.putSync(k('l1'), k('v1'));
    b.setAppliedIndex(7, 2);
  });
  assert.deepEqual(b.dbs.lease.get(k('l1')), k('v1'));
  assert.equal(b.appliedIndex(), 7);
  assert.equal(b.appliedTerm(), 2);
  await b.sync();
  await b.close();
  b = await Backend.open({ path: dir });
  assert.equal(b.appliedIndex(), 7);
  assert.deepEqual(b.dbs.lease.get(k('l1')), k('v1'));
  await b.close();
});

test('a batch that throws writes nothing; abort hooks run in reverse, commit hooks after commit', async () => {
  const b = await Backend.open({ path: newDir() });
  b.batch(() => b.setAppliedIndex(1, 1));
  const calls: string[] = [];
  assert.throws(
    () =>
      b.batch(() => {
        b.setAppliedIndex(2, 1);
        b.dbs.auth.putSync(k('x'), k('y'));
        b.onAbort(() => calls.push('a1'));
        b.onAbort(() => calls.push('a2'));
        b.afterCommit(() => calls.push('c'));
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.deepEqual(calls, ['a2', 'a1']);
  assert.equal(b.appliedIndex(), 1);
  assert.equal(b.dbs.auth.get(k('x')), undefined);
  calls.length = 0;
  const r = b.batch(() => {
    b.afterCommit(() => calls.push(`c:${b.inBatch}`));
    b.batch(() => b.setAppliedIndex(3, 1)); // nested: joins the outer batch
    calls.push('body');
    return 42;
  });
  assert.equal(r, 42);
  assert.deepEqual(calls, ['body', 'c:false']);
  assert.equal(b.appliedIndex(), 3);
  await b.close();
});

test('batch rejects async functions and writes outside a batch', async () => {
  const b = await Backend.open({ path: newDir() });
  assert.throws(() => b.batch(async () => b.setAppliedIndex(9, 9)), TypeError);
  assert.equal(b.appliedIndex(), 0);
  assert.throws(() => b.setAppliedIndex(1, 1), NotInBatchError);
  assert.throws(() => b.afterCommit(() => undefined), NotInBatchError);
  await b.close();
});

test('close never hangs, including after only synchronous transactions', async () => {
  for (let round = 0; round < 3; round++) {
    const b = await Backend.open({ path: newDir() });
    for (let i = 0; i < 200; i++) b.batch(() => b.dbs.members.putSync(k(`m${i}`), Buffer.alloc(64, i)));
    await withTimeout(b.close(), 5000, 'close');
    await withTimeout(b.close(), 1000, 'second close');
    assert.throws(() => b.batch(() => undefined), BackendClosedError);
  }
  const idle = await Backend.open({ path: newDir() });
  await withTimeout(idle.close(), 5000, 'close of an unused backend');
});

test('defragment shrinks the file, keeps the data and holds writes off meanwhile', async () => {
  const dir = newDir();
  const b = await Backend.open({ path: dir });
  const val = Buffer.alloc(1000, 7);
  for (let j = 0; j < 20; j++) {
    b.batch(() => {
      for (let i = 0; i < 100; i++) b.dbs.key.putSync(k(`k${j}-${i}`), val);
    });
  }
  b.batch(() => {
    for (let j = 0; j < 20; j++) for (let i = 0; i < 100; i++) if (j > 0) b.dbs.key.removeSync(k(`k${j}-${i}`));
    b.setAppliedIndex(5, 1);
  });
  await b.sync();
  const before = b.size();
  const inUse = b.sizeInUse();
  assert.ok(inUse > 0 && inUse < before, `in use ${inUse} < size ${before}`);
  const replaced: string[] = [];
  b.onReplace((r) => replaced.push(r));
  const p = b.defragment();
  assert.equal(b.busyOperation, 'defragment');
  assert.throws(() => b.batch(() => undefined), BackendBusyError);
  assert.deepEqual(b.dbs.key.get(k('k0-5')), val); // reads keep working
  await b.whenIdle();
  await p;
  assert.deepEqual(replaced, ['defragment']);
  const after = b.size();
  assert.ok(after < before, `defragmented size ${after} < ${before}`);
  assert.deepEqual(b.dbs.key.get(k('k0-99')), val);
  assert.equal(b.dbs.key.get(k('k1-0')), undefined);
  assert.equal(b.appliedIndex(), 5);
  b.batch(() => b.setAppliedIndex(6, 1));
  assert.deepEqual(readdirSync(dir).sort(), [dataFileName(2), `${dataFileName(2)}-lock`]);
  await b.close();
  const again = await Backend.open({ path: dir });
  assert.equal(again.appliedIndex(), 6);
  assert.equal(again.dbs.key.getCount(), 100);
  await again.close();
});

test('snapshotTo / restoreFrom round trip', async () => {
  const b = await Backend.open({ path: newDir() });
  b.batch(() => {
    b.dbs.key.putSync(k('a'), k('1'));
    b.setAppliedIndex(10, 3);
  });
  const snap = join(root, `snap-${n}.db`);
  await b.snapshotTo(snap);
  b.batch(() => {
    b.dbs.key.putSync(k('b'), k('2'));
    b.setAppliedIndex(11, 3);
  });
  const replaced: string[] = [];
  b.onReplace((r) => replaced.push(r));
  await b.restoreFrom(snap);
  assert.deepEqual(replaced, ['restore']);
  assert.equal(b.appliedIndex(), 10);
  assert.deepEqual(b.dbs.key.get(k('a')), k('1'));
  assert.equal(b.dbs.key.get(k('b')), undefined);

  // A restored backend is an ordinary one: it can be opened elsewhere from its own snapshot.
  const other = await Backend.open({ path: newDir() });
  await other.restoreFrom(snap);
  assert.equal(other.appliedIndex(), 10);
  await other.close();

  // A file that is not an LMDB environment is refused and leaves the state alone.
  const junk = join(root, `junk-${n}.db`);
  writeFileSync(junk, Buffer.alloc(10000, 0x5a));
  await assert.rejects(b.restoreFrom(junk));
  assert.equal(b.appliedIndex(), 10);
  b.batch(() => b.setAppliedIndex(12, 3));
  await b.close();
});

test('snapshotStream yields a restorable copy and removes its temporary file', async () => {
  const dir = newDir();
  const b = await Backend.open({ path: dir });
  b.batch(() => {
    for (let i = 0; i < 500; i++) b.dbs.key.putSync(k(`key-${i}`), Buffer.alloc(200, i));
    b.setAppliedIndex(99, 4);
  });
  const { size, stream } = await b.snapshotStream();
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  const bytes = Buffer.concat(chunks);
  assert.equal(bytes.length, size);
  await new Promise((r) => setImmediate(r));
  assert.ok(!readdirSync(dir).some((f) => f.startsWith('snapshot-')), 'temporary snapshot file removed');
  const file = join(root, `stream-${n}.db`);
  writeFileSync(file, bytes);
  const other = await Backend.open({ path: newDir() });
  await other.restoreFrom(file);
  assert.equal(other.appliedIndex(), 99);
  assert.equal(other.dbs.key.getCount(), 500);
  await Promise.all([other.close(), b.close()]);
});

test('open removes leftovers of interrupted copies and keeps the newest generation', async () => {
  const dir = newDir();
  const b = await Backend.open({ path: dir });
  b.batch(() => b.setAppliedIndex(4, 1));
  await b.defragment(); // now at generation 2
  b.batch(() => b.setAppliedIndex(5, 1));
  await b.close();
  writeFileSync(join(dir, `${dataFileName(3)}.tmp`), 'partial copy');
  writeFileSync(join(dir, dataFileName(1)), 'superseded generation');
  const again = await Backend.open({ path: dir });
  assert.equal(again.appliedIndex(), 5);
  assert.deepEqual(readdirSync(dir).sort(), [dataFileName(2), `${dataFileName(2)}-lock`]);
  await again.close();
});

test('keys of 10 KB cannot be LMDB keys but are fine as values', async () => {
  const b = await Backend.open({ path: newDir() });
  const big = Buffer.alloc(10 * 1024, 0xab);
  assert.throws(() => b.batch(() => b.dbs.lease.putSync(big, k('v'))));
  b.batch(() => b.dbs.lease.putSync(k('id'), big));
  assert.deepEqual(b.dbs.lease.get(k('id')), big);
  await b.close();
});
