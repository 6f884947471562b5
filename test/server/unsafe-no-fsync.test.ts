// --unsafe-no-fsync, against etcd 3.4 and 3.5: with it, writes no longer fsync the WAL
// (etcd_disk_wal_fsync_duration_seconds does not grow over 20 puts, where without it every put
// syncs), and what was written is still there after a clean restart.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { RawClient } from '../helpers/grpc.js';
import { http1 } from '../helpers/http.js';
import { startServer, type ServerKind, type ServerProcess } from '../helpers/process.js';

const KV = etcdserverpb.KVService;
const KINDS: ServerKind[] = ['etcd', 'etcd35', 'conclave'];
const servers: ServerProcess[] = [];
const b = (s: string): Buffer => Buffer.from(s);

after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function fsyncs(s: ServerProcess): Promise<number> {
  const m = (await http1(s.clientUrl, 'GET', '/metrics')).body;
  return Number(/^etcd_disk_wal_fsync_duration_seconds_count (\d+)$/m.exec(m)?.[1] ?? Number.NaN);
}

/** WAL fsyncs over 20 puts. */
async function fsyncsOverPuts(s: ServerProcess): Promise<number> {
  const c = new RawClient(s.endpoint);
  try {
    const before = await fsyncs(s);
    for (let i = 0; i < 20; i++) await c.unary(KV.Put, { key: b(`k${i}`), value: b('v') });
    return (await fsyncs(s)) - before;
  } finally {
    c.close();
  }
}

describe('--unsafe-no-fsync', () => {
  test('no WAL fsync per write (etcd 3.4, 3.5 and Conclave); every write syncs without it', async () => {
    const unsafe = await Promise.all(KINDS.map((k) => startServer(k, { args: ['--unsafe-no-fsync'] })));
    const safe = await Promise.all(KINDS.map((k) => startServer(k)));
    servers.push(...unsafe, ...safe);
    const without = await Promise.all(unsafe.map(fsyncsOverPuts));
    const withSync = await Promise.all(safe.map(fsyncsOverPuts));
    assert.deepEqual(without, [0, 0, 0], 'etcd 3.4, etcd 3.5, Conclave with --unsafe-no-fsync');
    for (const [i, n] of withSync.entries()) assert.ok(n >= 20, `${KINDS[i]} without the flag: ${n} fsyncs`);
  });

  test('a clean restart keeps what was written', async () => {
    const s = await startServer('conclave', { args: ['--unsafe-no-fsync'] });
    servers.push(s);
    const c = new RawClient(s.endpoint);
    for (let i = 0; i < 50; i++) await c.unary(KV.Put, { key: b(`r${i}`), value: b(String(i)) });
    c.close();
    await s.kill();
    const again = await startServer('conclave', { args: ['--unsafe-no-fsync'], dataDir: s.dataDir });
    servers.push(again);
    const c2 = new RawClient(again.endpoint);
    const r = await c2.unary(KV.Range, { key: b('r'), rangeEnd: b('s'), countOnly: true });
    c2.close();
    assert.equal(r.count, 50n);
  });
});
