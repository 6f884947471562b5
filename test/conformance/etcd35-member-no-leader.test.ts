// Membership calls where etcd 3.5.30's answer depends on more than the request, against a 2-member
// etcd 3.5 cluster and a 2-member Conclave cluster (same election timing).
// - MemberUpdate of an existing member with a peer URL that is no URL: etcd takes it (v3rpc does not
//   parse update URLs), and every member that applies it panics ("failed NewURLs", exit 2, again at
//   each restart: etcd-io/etcd#9173). Conclave refuses it with etcd's MemberAdd error for the same URL.
// - MemberPromote once the cluster has lost its leader: etcd waits for a leader until its request
//   timeout (5 s + 2 × 500 ms here), then answers "etcdserver: no leader"; so does Conclave.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { CallError, RawClient } from '../helpers/grpc.js';
import { etcd35AndConclaveClusters } from '../helpers/side-by-side-clusters.js';

const C = etcdserverpb.ClusterService;
const M = etcdserverpb.MaintenanceService;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** etcd's request timeout with --election-timeout 500: 5 s + 2 × 500 ms. */
const REQUEST_TIMEOUT_MS = 6000;

async function answer(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (!(e instanceof CallError)) throw e;
    return `error ${e.code} ${e.details}`;
  }
}

describe('membership answers that depend on the cluster: etcd 3.5.30 and Conclave', () => {
  const clusters = etcd35AndConclaveClusters(2);
  /** A client of member 0 on each side (of member 1 once member 0 is gone). */
  let clients: [RawClient, RawClient];

  before(() => {
    const { etcd, conclave } = clusters;
    clients = [new RawClient(etcd.members[0]!.endpoint), new RawClient(conclave.members[0]!.endpoint)];
  });
  after(() => {
    for (const c of clients ?? []) c.close();
  });

  test('MemberUpdate of a member with a peer URL that is no URL', async () => {
    const { etcd, conclave } = clusters;
    const [e, c] = clients;
    const before = await Promise.all(clients.map(async (x) => (await x.unary(C.MemberList, {})).members));
    const m1 = (i: number) => before[i]!.find((m) => m.name === 'm1')!;
    const [etcdAnswer, conclaveAnswer] = await Promise.all([
      answer(e.unary(C.MemberUpdate, { ID: m1(0).ID, peerURLs: ['notaurl'] })),
      answer(c.unary(C.MemberUpdate, { ID: m1(1).ID, peerURLs: ['notaurl'] })),
    ]);
    // etcd: the member that applied the update (and passed it to its peer transport) is gone
    assert.match(etcdAnswer, /^error 14 /);
    for (let i = 0; i < 50 && etcd.members[0]!.running; i++) await sleep(100);
    assert.equal(etcd.members[0]!.running, false, 'etcd m0 exited');
    assert.match(etcd.members[0]!.log, /"level":"panic".*"msg":"failed NewURLs","urls":\["notaurl"\]/);
    // Conclave: etcd's error for such a URL in MemberAdd, nothing proposed, every member serving
    assert.equal(conclaveAnswer, 'error 3 etcdserver: given member URLs are invalid');
    const after = (await c.unary(C.MemberList, {})).members.find((m) => m.name === 'm1')!;
    assert.deepEqual(after.peerURLs, m1(1).peerURLs);
    for (const m of conclave.members) assert.ok(m.child, `${m.name} runs`);
  });

  test('MemberPromote without a leader: "etcdserver: no leader" after the request timeout', async () => {
    const { etcd, conclave } = clusters;
    // etcd's m0 is gone (the test above); member 1 is left alone on both sides
    await Promise.all([etcd.kill(0), conclave.kill(0)]);
    for (const c of clients) c.close();
    clients = [new RawClient(etcd.members[1]!.endpoint), new RawClient(conclave.members[1]!.endpoint)];
    // the survivor loses its leader once the election timeout passes (check-quorum or pre-vote)
    for (const c of clients) {
      for (let i = 0; i < 100 && (await c.unary(M.Status, {})).leader !== 0n; i++) await sleep(100);
      assert.equal((await c.unary(M.Status, {})).leader, 0n, 'no leader');
    }
    const timed = await Promise.all(
      clients.map(async (c) => {
        const t0 = performance.now();
        const a = await answer(c.unary(C.MemberPromote, { ID: 1234n }, { timeoutMs: 20_000 }));
        return { a, ms: performance.now() - t0 };
      }),
    );
    assert.equal(timed[1]!.a, timed[0]!.a);
    assert.equal(timed[0]!.a, 'error 14 etcdserver: no leader');
    for (const [i, t] of timed.entries()) {
      assert.ok(
        t.ms >= REQUEST_TIMEOUT_MS - 300 && t.ms < REQUEST_TIMEOUT_MS + 1500,
        `${i === 0 ? 'etcd' : 'conclave'} answered after ${Math.round(t.ms)} ms`,
      );
    }
  });
});
