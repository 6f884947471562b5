// The etcd 3.5 API surface clients call, at the gRPC level, against etcd 3.5.30 and Conclave (one
// member each, same flags): Maintenance.Downgrade (VALIDATE / ENABLE / CANCEL, version parsing,
// errors, who may call it), the Status fields (3.5 and the 3.6 additions Conclave fills),
// HashKV's compact_revision and hash_revision, MemberList with linearizable, and /version.
// Deliberate difference: etcd 3.5.30 applies ENABLE and CANCEL but answers "request timed out"
// (its apply returns no result, so the waiting call times out; fixed in 3.6); Conclave answers with
// the cluster version, as 3.6 does. The state afterwards (what VALIDATE then says) is the same.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { ETCD_CLUSTER_VERSION, ETCD_COMPAT_VERSION } from '../../packages/server/src/config/version.js';
import { CallError, RawClient } from '../helpers/grpc.js';
import { http1 } from '../helpers/http.js';
import { etcd35AndConclave } from '../helpers/side-by-side.js';

const M = etcdserverpb.MaintenanceService;
const A = etcdserverpb.DowngradeRequest_DowngradeAction;
const Auth = etcdserverpb.AuthService;

/** The outcome of a call: 'ok <version>' or "<code> <message>". */
async function outcome(p: Promise<{ version?: string }>): Promise<string> {
  try {
    return `ok ${(await p).version ?? ''}`.trim();
  } catch (e) {
    if (e instanceof CallError) return `${e.code} ${e.details}`;
    throw e;
  }
}

const ETCD_TIMEOUT = '14 etcdserver: request timed out';

describe('etcd 3.5 gRPC surface against etcd 3.5.30 and Conclave', () => {
  const pair = etcd35AndConclave({ args: ['--bcrypt-cost', '4'], client: (s) => new RawClient(s.endpoint) });

  /** The same call on both sides; returns [etcd, conclave] outcomes. */
  const both = (fn: (c: RawClient) => Promise<{ version?: string }>) =>
    Promise.all(pair.clients.map((c) => outcome(fn(c)))) as Promise<[string, string]>;
  const downgrade = (action: number, version: string, metadata?: Record<string, string>) =>
    both((c) =>
      c.unary(
        M.Downgrade,
        { action: action as etcdserverpb.DowngradeRequest_DowngradeAction, version },
        { timeoutMs: 20_000, ...(metadata ? { metadata } : {}) },
      ),
    );

  test('Downgrade: target versions, errors, a job started and cancelled', async () => {
    const same = async (action: number, version: string, want?: string) => {
      const [e, c] = await downgrade(action, version);
      assert.equal(c, e, `${action} ${JSON.stringify(version)}`);
      if (want !== undefined) assert.equal(c, want);
    };
    await same(A.VALIDATE, '3.4', 'ok 3.5.0');
    await same(A.VALIDATE, '3.4.9', 'ok 3.5.0');
    await same(A.VALIDATE, '3.4.0-rc.1', 'ok 3.5.0');
    await same(A.VALIDATE, '3.5', '3 etcdserver: invalid downgrade target version');
    await same(A.VALIDATE, '3.3.0');
    await same(A.VALIDATE, '2.4');
    await same(A.VALIDATE, '3.4.0+', 'ok 3.5.0');
    for (const bad of ['', 'v3.4', '3', '3.4.0.1', '3.4-x', 'x.y', '3.4.0+meta!'])
      await same(A.VALIDATE, bad, '3 etcdserver: wrong downgrade target version format');
    await same(A.CANCEL, '', '9 etcdserver: no inflight downgrade job');
    await same(A.ENABLE, '3.3');
    await same(A.ENABLE, 'v3.4');
    await same(7, '3.4', '2 etcdserver: unknown method');
    // ENABLE: applied on both; etcd 3.5.30 then answers "request timed out" (see the top comment)
    assert.deepEqual(await downgrade(A.ENABLE, '3.4'), [ETCD_TIMEOUT, 'ok 3.5.0']);
    await same(A.VALIDATE, '3.4', '9 etcdserver: cluster has a downgrade job in progress');
    await same(A.ENABLE, '3.4', '9 etcdserver: cluster has a downgrade job in progress');
    await same(A.VALIDATE, '3.5', '3 etcdserver: invalid downgrade target version');
    const st = await pair.clients[1].unary(M.Status, {});
    assert.deepEqual(st.downgradeInfo, { enabled: true, targetVersion: '3.4.0' });
    assert.deepEqual(await downgrade(A.CANCEL, ''), [ETCD_TIMEOUT, 'ok 3.5.0']);
    await same(A.CANCEL, '', '9 etcdserver: no inflight downgrade job');
    await same(A.VALIDATE, '3.4', 'ok 3.5.0');
    assert.deepEqual((await pair.clients[1].unary(M.Status, {})).downgradeInfo, { enabled: false, targetVersion: '' });
  });

  test('Status: the same fields; Conclave adds 3.6 dbSizeQuota and downgradeInfo, leaves storageVersion empty', async () => {
    await Promise.all(pair.clients.map((c) => c.put('s', 'v')));
    const [e, c] = await Promise.all(pair.clients.map((x) => x.unary(M.Status, {})));
    const common = (s: etcdserverpb.StatusResponse) => ({
      header: s.header,
      leader: s.leader,
      raftIndex: s.raftIndex,
      raftTerm: s.raftTerm,
      raftAppliedIndex: s.raftAppliedIndex,
      errors: s.errors,
      isLearner: s.isLearner,
      storageVersion: s.storageVersion,
    });
    assert.deepEqual(common(c!), common(e!));
    assert.match(e!.version, /^3\.5\.\d+$/);
    assert.equal(c!.version, ETCD_COMPAT_VERSION);
    assert.equal(c!.storageVersion, '');
    assert.equal(c!.dbSizeQuota, 2n * 1024n ** 3n);
    assert.deepEqual(c!.downgradeInfo, { enabled: false, targetVersion: '' });
    assert.equal(e!.dbSizeQuota, 0n, 'etcd 3.5 does not send it');
  });

  test('HashKV: compact_revision -1 until a compaction, hash_revision the revision hashed', async () => {
    type Answer = etcdserverpb.HashKVResponse | string;
    const hash = (rev: bigint) =>
      Promise.all(
        pair.clients.map((c) =>
          c.unary(M.HashKV, { revision: rev }).catch((err: CallError) => `${err.code} ${err.details}`),
        ),
      ) as Promise<[Answer, Answer]>;
    const res = (x: Answer): etcdserverpb.HashKVResponse => {
      if (typeof x === 'string') assert.fail(x);
      return x;
    };
    const view = (h: etcdserverpb.HashKVResponse) => [h.hash, h.compactRevision, h.header?.revision];
    const [e0, c0] = (await hash(0n)).map(res) as [etcdserverpb.HashKVResponse, etcdserverpb.HashKVResponse];
    assert.deepEqual(view(c0), view(e0));
    assert.equal(c0.compactRevision, -1n);
    assert.equal(c0.hashRevision, c0.header!.revision);
    const rev = c0.header!.revision;
    await Promise.all(pair.clients.map((c) => c.put('s', 'w')));
    await Promise.all(
      pair.clients.map((c) => c.unary(etcdserverpb.KVService.Compact, { revision: rev, physical: true })),
    );
    const [e1, c1] = (await hash(rev + 1n)).map(res) as [etcdserverpb.HashKVResponse, etcdserverpb.HashKVResponse];
    assert.deepEqual(view(c1), view(e1));
    assert.deepEqual([c1.compactRevision, c1.hashRevision], [rev, rev + 1n]);
    assert.equal(e1.hashRevision, 0n, 'etcd 3.5 does not send it');
    // (HashKV at exactly the compaction revision differs: etcd answers the hash it took while
    // compacting, Conclave "compacted"; see docs/etcd-3.5.md. Below it, both refuse.)
    assert.deepEqual(await hash(rev - 1n), [
      '11 etcdserver: mvcc: required revision has been compacted',
      '11 etcdserver: mvcc: required revision has been compacted',
    ]);
    assert.deepEqual(await hash(rev + 100n), [
      '11 etcdserver: mvcc: required revision is a future revision',
      '11 etcdserver: mvcc: required revision is a future revision',
    ]);
  });

  test('MemberList with and without linearizable; /version', async () => {
    for (const linearizable of [false, true]) {
      const [e, c] = await Promise.all(
        pair.clients.map((x) => x.unary(etcdserverpb.ClusterService.MemberList, { linearizable })),
      );
      assert.deepEqual(c!.members, e!.members);
      assert.deepEqual(c!.header, e!.header);
    }
    const [ev, cv] = await Promise.all(pair.servers.map((s) => http1(s.clientUrl, 'GET', '/version')));
    const e = JSON.parse(ev!.body) as { etcdserver: string; etcdcluster: string };
    assert.match(e.etcdserver, /^3\.5\.\d+$/);
    assert.equal(cv!.body, JSON.stringify({ etcdserver: ETCD_COMPAT_VERSION, etcdcluster: e.etcdcluster }));
    assert.equal(e.etcdcluster, ETCD_CLUSTER_VERSION);
  });

  test('with auth on: Downgrade, Status and MemberList ask who calls', async () => {
    for (const c of pair.clients) {
      await c.unary(Auth.UserAdd, { name: 'root', password: 'rootpw' });
      await c.unary(Auth.UserGrantRole, { user: 'root', role: 'root' });
      await c.unary(Auth.UserAdd, { name: 'u', password: 'upw' });
      await c.unary(Auth.AuthEnable, {});
    }
    const tokens = await Promise.all(
      ['root', 'u'].map((name) =>
        Promise.all(
          pair.clients.map(async (c) => (await c.unary(Auth.Authenticate, { name, password: `${name}pw` })).token),
        ),
      ),
    );
    const as =
      (who: number | null) =>
      (i: number): Record<string, string> =>
        who === null ? {} : { token: tokens[who]![i]! };
    for (const who of [null, 1, 0]) {
      const md = as(who);
      const calls: Array<(c: RawClient, i: number) => Promise<{ version?: string }>> = [
        (c, i) => c.unary(M.Downgrade, { action: A.VALIDATE, version: '3.4' }, { metadata: md(i) }),
        (c, i) => c.unary(M.Status, {}, { metadata: md(i) }).then(() => ({})),
        (c, i) => c.unary(etcdserverpb.ClusterService.MemberList, {}, { metadata: md(i) }).then(() => ({})),
        (c, i) => c.unary(Auth.AuthStatus, {}, { metadata: md(i) }).then(() => ({})),
        (c, i) => c.unary(M.Alarm, {}, { metadata: md(i) }).then(() => ({})),
      ];
      for (const [n, call] of calls.entries()) {
        const [e, c] = await Promise.all(pair.clients.map((x, i) => outcome(call(x, i))));
        assert.equal(c, e, `call ${n} as ${who ?? 'nobody'}`);
      }
    }
    await Promise.all(
      pair.clients.map((c, i) => c.unary(Auth.AuthDisable, {}, { metadata: { token: tokens[0]![i]! } })),
    );
  });
});
