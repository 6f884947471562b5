// `conclave snapshot restore` refuses what etcdutl 3.5 refuses, with the same message, and leaves
// nothing behind (etcdutl leaves a partial `member` dir): a wrong SHA-256 trailer, a changed byte in
// the database, a truncated file, a file that is not a snapshot, a missing file, a data dir in use.
// Where etcdutl crashes (a database that is not bbolt, behind a valid trailer; a truncated database
// with --skip-hash-check) Conclave refuses with bbolt's text instead.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { etcd35Bin } from '../helpers/etcd35.js';
import { RawClient } from '../helpers/grpc.js';
import { conclaveBin, startServer } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';
import { run } from './harness.js';

const dir = tempDir('conclave-restore-refusals');
let good: Buffer;
let n = 0;

before(async () => {
  const s = await startServer('conclave');
  try {
    const c = new RawClient(s.endpoint);
    try {
      for (let i = 0; i < 200; i++) await c.put(`k/${i}`, `value ${i}`.repeat(20));
    } finally {
      c.close();
    }
    const file = join(dir.path, 'good.db');
    const r = await run(process.execPath, [conclaveBin, 'snapshot', 'save', file, '--endpoints', s.endpoint]);
    assert.equal(r.code, 0, r.stderr);
    good = readFileSync(file);
  } finally {
    await s.stop();
  }
});
after(() => dir.cleanup());

const file = (name: string, bytes: Buffer): string => {
  const p = join(dir.path, name);
  writeFileSync(p, bytes);
  return p;
};

/** The "Error: ..." line a restore printed (both tools log JSON lines besides). */
const errorLine = (out: string): string | undefined => out.split('\n').find((l) => l.startsWith('Error: '));

/** Restores `snap` with both tools into fresh dirs (or `dataDir`); returns both results. */
async function both(snap: string, extra: string[] = [], dataDir?: (tool: string) => string) {
  const id = n++;
  const dirs = {
    etcdutl: dataDir?.('etcdutl') ?? join(dir.path, `e${id}`),
    conclave: dataDir?.('conclave') ?? join(dir.path, `c${id}`),
  };
  const [etcdutl, conclave] = await Promise.all([
    run(etcd35Bin('etcdutl'), ['snapshot', 'restore', snap, '--data-dir', dirs.etcdutl, ...extra]),
    run(process.execPath, [conclaveBin, 'snapshot', 'restore', snap, '--data-dir', dirs.conclave, ...extra]),
  ]);
  return { etcdutl, conclave, dirs };
}

describe('restore refusals: etcdutl 3.5 messages, nothing left behind', { timeout: 120_000 }, () => {
  test('the untouched snapshot restores with both tools (the cases below differ from it only as stated)', async () => {
    const r = await both(file('good-copy.db', good));
    assert.equal(r.etcdutl.code, 0, r.etcdutl.stderr);
    assert.equal(r.conclave.code, 0, r.conclave.stderr);
  });

  const refusals: Array<[string, () => string, RegExp]> = [
    [
      'a wrong SHA-256 trailer',
      () => {
        const b = Buffer.from(good);
        b[b.length - 1]! ^= 0xff;
        return file('bad-trailer.db', b);
      },
      /^Error: expected sha256 \[[\d ]+\], got \[[\d ]+\]$/,
    ],
    [
      'a changed byte in the database',
      () => {
        const b = Buffer.from(good);
        b[5000]! ^= 0x01;
        return file('bad-byte.db', b);
      },
      /^Error: expected sha256 /,
    ],
    ['a truncated snapshot', () => file('truncated.db', good.subarray(0, good.length - 1000)), /missing hash/],
    [
      'a file that is not a snapshot',
      () => file('text.db', Buffer.from('not a snapshot\n'.repeat(100))),
      /missing hash/,
    ],
    ['a missing file', () => join(dir.path, 'absent.db'), /^Error: open .*absent\.db: no such file or directory$/],
  ];
  for (const [what, make, message] of refusals) {
    test(what, async () => {
      const r = await both(make());
      assert.equal(r.etcdutl.code, 1, r.etcdutl.stdout + r.etcdutl.stderr);
      const want = errorLine(r.etcdutl.stdout + r.etcdutl.stderr);
      assert.match(String(want), message);
      assert.equal(r.conclave.code, 1, r.conclave.stderr);
      assert.equal(errorLine(r.conclave.stdout + r.conclave.stderr), want);
      assert.equal(existsSync(r.dirs.conclave), false, 'no data dir left behind');
    });
  }

  test('a data dir that is not empty is left as it was', async () => {
    const r = await both(file('good-2.db', good), [], (tool) => {
      const d = join(dir.path, `full-${tool}`);
      mkdirSync(d);
      writeFileSync(join(d, 'keep'), 'x');
      return d;
    });
    assert.equal(r.etcdutl.code, 1);
    assert.equal(
      errorLine(r.etcdutl.stdout + r.etcdutl.stderr),
      `Error: data-dir "${r.dirs.etcdutl}" not empty or could not be read`,
    );
    assert.equal(r.conclave.code, 1);
    assert.equal(
      errorLine(r.conclave.stdout + r.conclave.stderr),
      `Error: data-dir "${r.dirs.conclave}" not empty or could not be read`,
    );
    assert.deepEqual(readdirSync(r.dirs.conclave), ['keep']);
  });

  test('where etcdutl crashes, Conclave refuses: not a bbolt file behind a valid trailer', async () => {
    const junk = randomBytes(8192);
    const r = await both(file('junk.db', Buffer.concat([junk, createHash('sha256').update(junk).digest()])));
    assert.notEqual(r.etcdutl.code, 0, 'etcdutl refuses it too (it panics)');
    assert.equal(r.conclave.code, 1, r.conclave.stderr);
    assert.equal(errorLine(r.conclave.stdout + r.conclave.stderr), 'Error: invalid database');
    assert.equal(existsSync(r.dirs.conclave), false);
  });

  test('where etcdutl crashes, Conclave refuses: a truncated database with --skip-hash-check', async () => {
    const r = await both(file('half.db', good.subarray(0, 8192)), ['--skip-hash-check']);
    assert.notEqual(r.etcdutl.code, 0, 'etcdutl refuses it too (SIGBUS)');
    assert.equal(r.conclave.code, 1, r.conclave.stderr);
    assert.match(
      String(errorLine(r.conclave.stdout + r.conclave.stderr)),
      /^Error: database file truncated: 8192 bytes hold 2 of its \d+ pages$/,
    );
    assert.equal(existsSync(r.dirs.conclave), false);
  });
});
