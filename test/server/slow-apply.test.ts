// --experimental-warning-apply-duration, against etcd 3.4: a request slower than the limit is
// logged as "apply request took too long" with etcd's fields — the request as etcd prints it
// (values redacted to sizes), the answer's size, the prefix "read-only range " for ranges — and
// counted in etcd_server_slow_apply_total. With a limit of 1ns every request is slow, so the same
// requests must give the same warnings (request IDs and lease IDs masked) and the same count.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { RawClient } from '../helpers/grpc.js';
import { http1 } from '../helpers/http.js';
import { startServer, type ServerKind, type ServerProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/tmp.js';

const KV = etcdserverpb.KVService;
const LEASE = etcdserverpb.LeaseService;
const Cmp = etcdserverpb.Compare_CompareResult;
const Target = etcdserverpb.Compare_CompareTarget;
const servers: ServerProcess[] = [];
const b = (s: string): Buffer => Buffer.from(s);

after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

type Warning = { expected: string; prefix: string; request: string; response: string; error?: string };

/** The warnings logged after `mark`, IDs masked; the member's own publish requests left out. */
function warnings(s: ServerProcess, mark: number): Warning[] {
  return s
    .log()
    .slice(mark)
    .split('\n')
    .filter((l) => l.includes('"msg":"apply request took too long"'))
    .map((l) => JSON.parse(l) as Record<string, string>)
    .filter((w) => !w['request']!.startsWith('ID:'))
    .map((w) => ({
      expected: w['expected-duration']!,
      prefix: w['prefix']!,
      request: w['request']!.replace(/ID:\d+/g, 'ID:N').replace(/id:[0-9a-f]{16}/g, 'id:X'),
      response: w['response']!,
      ...(w['error'] === undefined ? {} : { error: w['error'] }),
    }));
}

async function slowApplies(s: ServerProcess): Promise<number> {
  const m = (await http1(s.clientUrl, 'GET', '/metrics')).body;
  return Number(/^etcd_server_slow_apply_total (\d+)$/m.exec(m)?.[1]);
}

async function run(s: ServerProcess): Promise<{ warnings: Warning[]; counted: number }> {
  const c = new RawClient(s.endpoint);
  const mark = s.log().length;
  const before = await slowApplies(s);
  await c.unary(KV.Put, { key: b('foo'), value: b('bar') });
  await c.unary(KV.Put, { key: b('k\n"\x01'), value: b('12345'), prevKv: true });
  await c.unary(KV.Range, { key: b('foo') });
  await c.unary(KV.Range, { key: b('a'), rangeEnd: b('z'), serializable: true, limit: 2n, sortOrder: 1 });
  await c.unary(KV.Txn, {
    compare: [
      { key: b('foo'), result: Cmp.EQUAL, target: Target.VALUE, value: b('bar') },
      { key: b('foo'), result: Cmp.GREATER, target: Target.VERSION, version: 0n },
    ],
    success: [{ requestPut: { key: b('t'), value: b('v') } }, { requestRange: { key: b('foo') } }],
    failure: [{ requestDeleteRange: { key: b('foo') } }],
  });
  await c.unary(KV.DeleteRange, { key: b('a'), rangeEnd: b('b') });
  const lease = await c.unary(LEASE.LeaseGrant, { TTL: 100n });
  await c.unary(LEASE.LeaseRevoke, { ID: lease.ID });
  await c.unary(KV.Compact, { revision: 2n });
  const counted = (await slowApplies(s)) - before;
  c.close();
  // the last warning is logged after its answer went out
  await waitFor('the compaction warning', () =>
    warnings(s, mark).some((w) => w.request.includes('compaction')) ? true : undefined,
  );
  return { warnings: warnings(s, mark), counted };
}

describe('--experimental-warning-apply-duration', () => {
  test("a limit of 1ns: etcd's warning for every request, and the same count", async () => {
    const started: ServerProcess[] = [];
    for (const kind of ['etcd', 'conclave'] as ServerKind[]) {
      started.push(await startServer(kind, { args: ['--experimental-warning-apply-duration=1ns'] }));
    }
    servers.push(...started);
    const [e, c] = [await run(started[0]!), await run(started[1]!)];
    assert.equal(c.warnings.length, 9);
    assert.deepEqual(c.warnings, e.warnings);
    assert.equal(c.counted, e.counted);
  });

  test('the default (100ms): no warning for quick requests', async () => {
    const s = await startServer('conclave');
    servers.push(s);
    const c = new RawClient(s.endpoint);
    for (let i = 0; i < 10; i++) await c.unary(KV.Put, { key: b(`q${i}`), value: b('v') });
    c.close();
    assert.equal(warnings(s, 0).length, 0);
  });
});
