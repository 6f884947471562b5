// Conformance at the gRPC level: the same Watch and Lease requests — bad input included (an empty
// key, negative and compacted start revisions, duplicate watch IDs, an empty range, cancels of unknown
// IDs, keep-alives for unknown and revoked leases) — sent to the reference etcd 3.5 and to Conclave
// must get the same responses. Responses of different watchers on one stream may interleave
// differently (etcd catches up unsynced watchers every 100 ms), so each watch ID's responses are
// compared in order, and lease IDs (clock-based) are compared by order of appearance.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { streamClient, type RpcError, type StreamClient } from '../helpers/etcd-streams.js';
import type { ServerProcess } from '../helpers/process.js';
import { etcd35AndConclave } from '../helpers/side-by-side.js';

const pair = etcd35AndConclave();

const buf = (s: string) => Buffer.from(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** JSON with bigints and bytes made readable, lease IDs replaced by L1, L2… */
function show(v: unknown, leases: Map<bigint, string>): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return leases.get(x) ?? x.toString();
    if (x instanceof Uint8Array) return Buffer.from(x).toString('latin1');
    return x;
  });
}

async function settle<T>(p: Promise<T>): Promise<T | { error: string }> {
  try {
    return await p;
  } catch (e) {
    return { error: `${(e as RpcError).code} ${(e as RpcError).details}` };
  }
}

/** Runs the scenario against one server; returns named observations. */
async function scenario(server: ServerProcess): Promise<Record<string, string>> {
  const c: StreamClient = streamClient(server.endpoint);
  const leases = new Map<bigint, string>();
  const out: Record<string, string> = {};
  const note = (name: string, v: unknown) => (out[name] = show(v, leases));
  try {
    await c.put({ key: buf('a'), value: buf('1') });
    await c.put({ key: buf('a'), value: buf('2') });
    await c.put({ key: buf('b'), value: buf('1') });
    await c.compact({ revision: 3 });
    const w = c.watch();
    w.write({ createRequest: { key: buf('a'), startRevision: 2 } }); // compacted
    w.write({ createRequest: { key: buf('a'), startRevision: -5 } }); // negative: refused (3.5.24+)
    w.write({ createRequest: { key: buf('') } }); // the empty key
    w.write({ createRequest: { key: buf('a'), watchId: 7 } });
    w.write({ createRequest: { key: buf('a'), watchId: 7 } }); // duplicate ID
    w.write({ createRequest: { key: buf('z'), rangeEnd: buf('a') } }); // empty range
    w.write({ cancelRequest: { watchId: 99 } }); // unknown: no answer
    w.write({ createRequest: { key: buf('a'), startRevision: 3, prevKv: true } }); // replays revision 3 (prev compacted)
    w.write({ createRequest: { key: buf('a'), startRevision: 100 } }); // future
    w.write({ createRequest: { key: buf('a'), rangeEnd: buf('\0'), filters: [1], prevKv: true } }); // from key, NODELETE
    await w.until((rs) => rs.filter((r) => r.created).length === 9);
    await sleep(300); // etcd catches unsynced watchers up every 100 ms
    // The future watcher has not reached its start revision: the progress request is dropped.
    w.write({ progressRequest: {} });
    await sleep(200);
    await c.put({ key: buf('a'), value: buf('3') });
    await c.deleteRange({ key: buf('a') });
    await c.put({ key: buf('\0'), value: buf('nul') });
    await w.until((rs) => rs.filter((r) => r.events.length > 0).length >= 7);
    w.write({ cancelRequest: { watchId: 7 } });
    w.write({ cancelRequest: { watchId: 7 } }); // again: no answer
    w.write({ cancelRequest: { watchId: 0 } }); // a compacted watcher can still be canceled
    await w.until((rs) => rs.filter((r) => r.canceled && r.compactRevision === 0n && !r.created).length === 2);
    await sleep(200);
    const ids = [...new Set(w.responses.map((r) => r.watchId))].sort((x, y) => Number(x - y));
    for (const id of ids)
      note(
        `watch ${id}`,
        w.responses.filter((r) => r.watchId === id),
      );
    w.cancel();

    const g = await c.leaseGrant({ TTL: 1 });
    leases.set(g.ID, 'L1');
    note('grant ttl 1', g);
    note('grant duplicate', await settle(c.leaseGrant({ TTL: 5, ID: g.ID })));
    note('grant too large', await settle(c.leaseGrant({ TTL: 9_000_000_001 })));
    const neg = await c.leaseGrant({ TTL: -5 });
    leases.set(neg.ID, 'L2');
    note('grant negative ttl', neg);
    note('ttl unknown', await c.leaseTimeToLive({ ID: 12345, keys: true }));
    note('revoke unknown', await settle(c.leaseRevoke({ ID: 12345 })));
    note('put unknown lease', await settle(c.put({ key: buf('x'), value: buf('1'), lease: 12345 })));
    const ka = c.keepAlive();
    ka.write({ ID: 12345 });
    ka.write({ ID: g.ID });
    await ka.count(2);
    await c.put({ key: buf('k1'), value: buf('1'), lease: g.ID });
    const ttl = await c.leaseTimeToLive({ ID: g.ID, keys: true });
    ttl.keys.sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    note('ttl with keys', ttl);
    note('revoke', await c.leaseRevoke({ ID: g.ID }));
    ka.write({ ID: g.ID });
    await ka.count(3);
    note('keep-alive', ka.responses);
    ka.end();
    note('keep-alive end', await ka.closed());
    note('leases', await c.leaseLeases());
  } finally {
    c.close();
  }
  return out;
}

test('Watch and Lease requests, bad input included, get the same responses from etcd 3.5 and Conclave', async () => {
  const want = await scenario(pair.etcd);
  const got = await scenario(pair.conclave);
  assert.deepEqual(Object.keys(got), Object.keys(want));
  for (const k of Object.keys(want)) assert.equal(got[k], want[k], k);
});
