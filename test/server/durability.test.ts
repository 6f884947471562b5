// Durability of the `conclave` binary: SIGKILL during a stream of acknowledged writes, restart on the
// same data dir, and every acknowledged write is there, with consistent revisions and nothing else
// damaged; a torn tail of the newest WAL segment (garbage or a cut-off record after the last valid
// record, as a crash in the middle of a write leaves it) is repaired on start.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { RawClient } from '../helpers/grpc.js';
import { startServer, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';

const WRITERS = 20;

interface Ack {
  key: string;
  value: string;
  revision: number;
}

/** What the test knows about the store: every put attempted and every put acknowledged, over all rounds. */
const attempted = new Map<string, string>();
const acked = new Map<string, Ack>();

const dir = tempDir('conclave-durability');
const dataDir = join(dir.path, 'm.etcd');
let current: ServerProcess | null = null;

async function start(): Promise<ServerProcess> {
  current = await startServer('conclave', { dataDir });
  return current;
}

after(async () => {
  await current?.stop();
  dir.cleanup();
});

/**
 * Runs WRITERS concurrent put loops against `srv` and SIGKILLs it from inside the callback of the
 * `killAt`-th acknowledgement, while the other writers' puts are in flight.
 */
async function writeUntilKilled(srv: ServerProcess, round: string, killAt: number): Promise<number> {
  const c = new RawClient(srv.endpoint);
  let acks = 0;
  let killed = false;
  const writer = async (w: number): Promise<void> => {
    for (let n = 0; ; n++) {
      const key = `${round}/w${w}/${n}`;
      const value = randomBytes(1 + ((w * 31 + n) % 200)).toString('hex');
      attempted.set(key, value);
      let res: etcdserverpb.PutResponse;
      try {
        res = await c.put(key, value, { timeoutMs: 10_000 });
      } catch {
        assert.ok(killed, `put ${key} failed before the server was killed`);
        return;
      }
      acked.set(key, { key, value, revision: Number(res.header!.revision) });
      if (++acks === killAt) {
        killed = true;
        srv.child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  await srv.kill('SIGKILL');
  c.close();
  return acks;
}

/** Checks the restarted store against what was attempted and acknowledged; returns the current revision. */
async function verify(srv: ServerProcess): Promise<number> {
  const c = new RawClient(srv.endpoint);
  try {
    const { kvs, revision } = await c.all();
    const byRev = new Map<number, string>();
    const present = new Map<string, (typeof kvs)[number]>();
    for (const kv of kvs) {
      const key = Buffer.from(kv.key).toString();
      present.set(key, kv);
      // Nothing but attempted puts, each with exactly the value sent, written once (version 1).
      assert.equal(Buffer.from(kv.value).toString(), attempted.get(key), `value of ${key}`);
      assert.equal(kv.version, 1n, `version of ${key}`);
      assert.equal(kv.createRevision, kv.modRevision, `revisions of ${key}`);
      const rev = Number(kv.modRevision);
      assert.ok(!byRev.has(rev), `revision ${rev} holds ${key} and ${byRev.get(rev)}`);
      byRev.set(rev, key);
    }
    // One single-key put per revision: revisions 2..current are exactly the keys present, no gaps.
    assert.equal(byRev.size, revision - 1, `keys ${byRev.size} vs revision ${revision}`);
    for (let r = 2; r <= revision; r++) assert.ok(byRev.has(r), `no key has mod revision ${r}`);
    // Every acknowledged put is there, at the revision it was acknowledged with.
    for (const a of acked.values()) {
      const kv = present.get(a.key);
      assert.ok(kv, `acknowledged put ${a.key} (revision ${a.revision}) is missing`);
      assert.equal(Number(kv.modRevision), a.revision, `revision of ${a.key}`);
      assert.ok(a.revision <= revision);
    }
    // Reading at acknowledged revisions works: the key is there at its revision and not just before.
    const sample = [...acked.values()].filter((_, i) => i % 97 === 0);
    for (const a of sample) {
      const at = await c.get(a.key, a.revision);
      assert.equal(at && Buffer.from(at.value).toString(), a.value, `${a.key} at revision ${a.revision}`);
      assert.equal(await c.get(a.key, a.revision - 1), undefined, `${a.key} before revision ${a.revision}`);
    }
    // The store still takes writes, at the next revision.
    const res = await c.put(`probe/${revision}`, 'ok');
    assert.equal(Number(res.header!.revision), revision + 1);
    attempted.set(`probe/${revision}`, 'ok');
    acked.set(`probe/${revision}`, { key: `probe/${revision}`, value: 'ok', revision: revision + 1 });
    return revision + 1;
  } finally {
    c.close();
  }
}

/** The newest WAL segment (highest sequence number). */
function newestSegment(): string {
  const walDir = join(dataDir, 'member', 'wal');
  const names = readdirSync(walDir)
    .filter((n) => n.endsWith('.wal'))
    .sort();
  assert.ok(names.length > 0, 'no WAL segments');
  return join(walDir, names.at(-1)!);
}

/** Where valid records end in a segment (records: u32 crc, u32 len, len bytes, zero padding to 8). */
function dataEnd(buf: Buffer): number {
  let off = 0;
  while (off + 8 <= buf.length) {
    const len = buf.readUInt32LE(off + 4);
    if (len === 0 || off + 8 + len > buf.length) break;
    off += Math.ceil((8 + len) / 8) * 8;
  }
  return off;
}

/**
 * A member SIGKILLed after 250 acknowledged writes of `round`: its newest WAL segment (path and
 * bytes) and where the records in it end.
 */
async function crashedSegment(round: string): Promise<{ seg: string; buf: Buffer; end: number }> {
  await writeUntilKilled(await start(), round, 250);
  const seg = newestSegment();
  const buf = readFileSync(seg);
  return { seg, buf, end: dataEnd(buf) };
}

describe('SIGKILL during acknowledged writes', () => {
  test('three kill/restart rounds lose no acknowledged write', async () => {
    let srv = await start();
    for (let round = 0; round < 3; round++) {
      const acks = await writeUntilKilled(srv, `r${round}`, 300 + 150 * round);
      assert.ok(acks >= 300 + 150 * round);
      srv = await start();
      await verify(srv);
    }
    // A clean stop and start after the crashes: same data, same KV hash.
    const c = new RawClient(srv.endpoint);
    const h1 = await c.unary(etcdserverpb.MaintenanceService.HashKV, { revision: 0 });
    c.close();
    await srv.kill('SIGTERM');
    srv = await start();
    const c2 = new RawClient(srv.endpoint);
    const h2 = await c2.unary(etcdserverpb.MaintenanceService.HashKV, { revision: 0 });
    c2.close();
    assert.equal(h2.hash, h1.hash);
    assert.equal(h2.header!.revision, h1.header!.revision);
    await verify(srv);
    await srv.kill('SIGKILL');
  });

  test('a torn tail (garbage after the last record) is repaired on start', async () => {
    const { seg, buf, end } = await crashedSegment('torn1');
    assert.ok(end > 0 && end < buf.length);
    // A half-written record: a header claiming 4 KiB, then 1 KiB of random bytes.
    const garbage = Buffer.concat([Buffer.from([1, 2, 3, 4, 0, 16, 0, 0]), randomBytes(1024)]);
    garbage.copy(buf, end);
    writeFileSync(seg, buf);

    let srv = await start();
    const repair = /"msg":"wal: repaired torn tail"[^\n]*/.exec(srv.log());
    assert.ok(repair, `no repair logged:\n${srv.log()}`);
    assert.match(repair[0], new RegExp(`"offset":${end}\\b`));
    assert.match(repair[0], /"damage":"torn"/);
    await verify(srv);
    // The repaired log keeps working across another crash.
    await writeUntilKilled(srv, 'torn1b', 150);
    srv = await start();
    assert.doesNotMatch(srv.log(), /repaired torn tail/);
    await verify(srv);
    await srv.kill('SIGKILL');
  });

  test('a torn tail (file cut inside a partial record) is repaired on start', async () => {
    const { seg, buf, end } = await crashedSegment('torn2');
    // A record whose write stopped after 21 of its bytes, and the file ends there.
    const partial = Buffer.concat([Buffer.from([9, 9, 9, 9, 200, 0, 0, 0, 3]), randomBytes(12)]);
    partial.copy(buf, end);
    writeFileSync(seg, buf.subarray(0, end + partial.length));
    assert.equal(statSync(seg).size, end + partial.length);

    const srv = await start();
    assert.match(srv.log(), new RegExp(`"msg":"wal: repaired torn tail"[^\\n]*"offset":${end}\\b`));
    await verify(srv);
    await srv.stop();
  });
});
