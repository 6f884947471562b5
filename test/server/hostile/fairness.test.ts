// Fairness of a member under watch catch-up (issue 13's measurement): 40 keys of 250 KB, then 4 or 10
// watches on one connection replay that history from revision 1 (40 or 100 MB to send). Unary calls
// on the same connection and a probe on another connection must keep being answered while the
// watches catch up: catch-up runs in bounded rounds (4 MiB of history, 8 MiB handed to streams) that
// yield the event loop, and the connection's output serves small answers before bulk streams and
// gives bulk streams turns of 64 KiB. Before, a Range on the same connection was answered after
// 101 s with 4 watches and not within 60 s with 10 (etcd 3.4: 0.1–0.2 s).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { decodeMessage, encodeMessage, etcdserverpb } from '@conclave/api';
import type { RawClient } from '../../helpers/grpc.js';
import { PROBE_BOUND_MS, probe, startTarget, type Target } from './harness.js';

const KEYS = 40;
const VALUE = Buffer.alloc(250_000, 0x61);
/**
 * Slowest Range on the catching-up connection. Its client process also decodes the 40–100 MB the
 * watches receive, and the machine is shared: measured 200–350 ms with two cores loaded ~6x, up to
 * 1.8 s with a benchmark running beside; the bound leaves room for that, far below the minutes it
 * took before.
 */
const SAME_CONNECTION_BOUND_MS = 3000;

let t: Target;
before(async () => {
  t = await startTarget('cleartext');
  const c = t.client();
  for (let i = 0; i < KEYS; i++) await c.put(`big/${String(i).padStart(2, '0')}`, VALUE);
  c.close();
});
after(() => t?.stop());

/** Opens `n` watches of big/ from revision 1 on `c`; resolves with each watch's revisions once all have every event. */
function catchUp(c: RawClient, n: number): Promise<number[][]> {
  return new Promise((resolve, reject) => {
    const revs: number[][] = [];
    let done = 0;
    for (let i = 0; i < n; i++) {
      const mine: number[] = [];
      revs.push(mine);
      const w = c.client.makeBidiStreamRequest(
        '/etcdserverpb.Watch/Watch',
        (b: Buffer) => b,
        (b: Buffer) => b,
        new grpc.Metadata(),
      );
      w.on('data', (b: Buffer) => {
        const r = decodeMessage(etcdserverpb.WatchResponse, b);
        for (const e of r.events) {
          assert.equal(e.kv!.value.length, VALUE.length);
          mine.push(Number(e.kv!.modRevision));
        }
        if (mine.length === KEYS) {
          w.cancel();
          if (++done === n) resolve(revs);
        }
      });
      w.on('error', (e: grpc.ServiceError) => {
        if (e.code !== grpc.status.CANCELLED) reject(e);
      });
      w.write(
        encodeMessage(etcdserverpb.WatchRequest, {
          createRequest: { key: Buffer.from('big/'), rangeEnd: Buffer.from('big0'), startRevision: 1n },
        }),
      );
    }
  });
}

for (const watches of [4, 10]) {
  test(`${watches} watches catching up on one connection: its Ranges and another connection's calls are answered`, async () => {
    const c = t.client();
    await c.get('x');
    const p = await probe(t, 20);
    let caughtUp = false;
    const catching = catchUp(c, watches).finally(() => (caughtUp = true));
    // Ranges on the catching-up connection, one after the other, until every watch has every event.
    let slowest = 0;
    let ranges = 0;
    while (!caughtUp) {
      const start = performance.now();
      const kv = await c.get('big/00', 0, { timeoutMs: 30_000 });
      if (caughtUp) break;
      assert.equal(kv?.value.length, VALUE.length);
      slowest = Math.max(slowest, performance.now() - start);
      ranges++;
      await new Promise((r) => setTimeout(r, 10));
    }
    const revs = await catching;
    const report = await p.stop();
    c.close();
    // Every watch got the 40 puts, in revision order (revisions 2..41).
    const want = Array.from({ length: KEYS }, (_, i) => i + 2);
    for (const r of revs) assert.deepEqual(r, want);
    assert.ok(ranges >= 1, 'at least one Range ran while the watches caught up');
    assert.ok(
      slowest < SAME_CONNECTION_BOUND_MS,
      `Ranges on the catching-up connection answered within ${SAME_CONNECTION_BOUND_MS} ms (slowest ${Math.round(slowest)} ms of ${ranges})`,
    );
    assert.deepEqual(report.failures, [], 'every probe call was answered');
    assert.ok(
      report.maxMs < PROBE_BOUND_MS,
      `probe on another connection answered within ${PROBE_BOUND_MS} ms (slowest ${Math.round(report.maxMs)} ms)`,
    );
    console.log(
      `${watches} watches: slowest same-connection Range ${Math.round(slowest)} ms of ${ranges}, probe slowest ${Math.round(report.maxMs)} ms of ${report.calls}`,
    );
  });
}
