// Whole gRPC answers of etcd 3.5.30 and Conclave (one member each, same flags, so cluster and member
// IDs agree) to the same unary calls of every service, in one session: each response as decoded
// (header fields, which responses carry a header at all, every other field) or the error's gRPC code
// and text, and after each call the raft index Status reports, which must move alike (etcd puts
// failed writes, failed membership changes and auth reads through Raft; each takes an index).
// Lease IDs the servers chose are masked. Differences kept on purpose (docs/etcd-3.5.md): HashKV's
// hash_revision and Status's dbSizeQuota/downgradeInfo, fields of etcd 3.6 that Conclave fills.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { authpb, etcdserverpb, v3electionpb, v3lockpb } from '@conclave/api';
import { CallError, RawClient } from '../helpers/grpc.js';
import { etcd35AndConclave } from '../helpers/side-by-side.js';

const KV = etcdserverpb.KVService;
const M = etcdserverpb.MaintenanceService;
const C = etcdserverpb.ClusterService;
const L = etcdserverpb.LeaseService;
const A = etcdserverpb.AuthService;
const b = (s: string): Buffer => Buffer.from(s);

/** A response as comparable text: bigints as strings, byte fields as UTF-8. */
function text(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return x.toString();
    if (x instanceof Uint8Array) return Buffer.from(x).toString('utf8');
    const buf = x as { type?: string; data?: number[] } | null;
    if (buf?.type === 'Buffer' && Array.isArray(buf.data)) return Buffer.from(buf.data).toString('utf8');
    return x;
  });
}

describe('gRPC responses of every service against etcd 3.5.30 and Conclave', () => {
  const pair = etcd35AndConclave({ args: ['--bcrypt-cost', '4'], client: (s) => new RawClient(s.endpoint) });
  /** Per side: lease IDs (decimal and hex) → label. */
  const leases: [Map<string, string>, Map<string, string>] = [new Map(), new Map()];

  const raftIndex = async (c: RawClient): Promise<bigint> => (await c.unary(M.Status, {})).raftIndex;

  /** The same call on both sides: the same answer (or error), and the raft index moved alike. */
  async function same(label: string, call: (c: RawClient, side: number) => Promise<unknown>): Promise<void> {
    const out: string[] = [];
    const moved: bigint[] = [];
    for (const [i, c] of pair.clients.entries()) {
      const before = await raftIndex(c);
      let answer: string;
      try {
        answer = text(await call(c, i));
      } catch (e) {
        if (!(e instanceof CallError)) throw e;
        answer = `error ${e.code} ${e.details}`;
      }
      for (const [id, name] of leases[i]!) answer = answer.replaceAll(id, name);
      out.push(answer);
      moved.push((await raftIndex(c)) - before);
    }
    assert.equal(out[1], out[0], `${label}: answer`);
    assert.equal(moved[1], moved[0], `${label}: raft index moved by`);
  }

  /** Grants a lease on both sides (TTL 100 s); its ID is masked as `label` from now on. */
  async function lease(label: string): Promise<[bigint, bigint]> {
    const ids = await Promise.all(pair.clients.map((c) => c.unary(L.LeaseGrant, { TTL: 100 })));
    ids.forEach((r, i) => {
      leases[i]!.set(r.ID.toString(), label);
      leases[i]!.set(r.ID.toString(16), `${label}-hex`);
    });
    return ids.map((r) => r.ID) as [bigint, bigint];
  }

  test('KV: answers, errors and compactions', async () => {
    await same('Put', (c) => c.unary(KV.Put, { key: b('a'), value: b('1') }));
    await same('Put prev_kv', (c) => c.unary(KV.Put, { key: b('a'), value: b('2'), prevKv: true }));
    await same('Range', (c) => c.unary(KV.Range, { key: b('a') }));
    await same('Range of a missing key', (c) => c.unary(KV.Range, { key: b('zz') }));
    await same('Range serializable', (c) => c.unary(KV.Range, { key: b('a'), serializable: true }));
    await same('Range count_only', (c) => c.unary(KV.Range, { key: b('a'), rangeEnd: b('z'), countOnly: true }));
    await same('DeleteRange of nothing', (c) => c.unary(KV.DeleteRange, { key: b('zz') }));
    await same('empty Txn', (c) => c.unary(KV.Txn, {}));
    await same('Txn', (c) =>
      c.unary(KV.Txn, {
        compare: [{ key: b('a'), target: etcdserverpb.Compare_CompareTarget.VALUE, value: b('2') }],
        success: [{ requestRange: { key: b('a') } }, { requestPut: { key: b('b'), value: b('x') } }],
      }),
    );
    await same('Compact', (c) => c.unary(KV.Compact, { revision: 2 }));
    await same('Compact physical', (c) => c.unary(KV.Compact, { revision: 3, physical: true }));
    await same('Compact again', (c) => c.unary(KV.Compact, { revision: 3 }));
    await same('Compact of a future revision', (c) => c.unary(KV.Compact, { revision: 300 }));
    await same('Range at a compacted revision', (c) => c.unary(KV.Range, { key: b('a'), revision: 1 }));
    await same('Range at a future revision', (c) => c.unary(KV.Range, { key: b('a'), revision: 100 }));
  });

  test('Lease: answers and errors', async () => {
    await lease('L1');
    await same('LeaseGrant with an ID', (c) => c.unary(L.LeaseGrant, { TTL: 100, ID: 42n }));
    await same('LeaseGrant of an existing ID', (c) => c.unary(L.LeaseGrant, { TTL: 100, ID: 42n }));
    await same('LeaseGrant of a too large TTL', (c) => c.unary(L.LeaseGrant, { TTL: 9_000_000_001n }));
    await same('LeaseTimeToLive keys', (c) => c.unary(L.LeaseTimeToLive, { ID: 42n, keys: true }));
    await same('LeaseTimeToLive of a missing lease', (c) => c.unary(L.LeaseTimeToLive, { ID: 43n }));
    await same('LeaseLeases', (c) => c.unary(L.LeaseLeases, {}));
    await same('LeaseRevoke', (c) => c.unary(L.LeaseRevoke, { ID: 42n }));
    await same('LeaseRevoke of a missing lease', (c) => c.unary(L.LeaseRevoke, { ID: 42n }));
  });

  test('Cluster: membership changes refused, through Raft as etcd proposes them', async () => {
    await same('MemberList', (c) => c.unary(C.MemberList, {}));
    await same('MemberRemove of an unknown ID', (c) => c.unary(C.MemberRemove, { ID: 1234n }));
    await same('MemberUpdate of an unknown ID', (c) =>
      c.unary(C.MemberUpdate, { ID: 1234n, peerURLs: ['http://127.0.0.1:9'] }),
    );
    await same('MemberUpdate of an unknown ID with a bad URL', (c) =>
      c.unary(C.MemberUpdate, { ID: 1234n, peerURLs: ['notaurl'] }),
    );
    await same('MemberPromote of an unknown ID', (c) => c.unary(C.MemberPromote, { ID: 1234n }));
    await same('MemberAdd without URLs', (c) => c.unary(C.MemberAdd, { peerURLs: [] }));
    await same('MemberAdd with a bad URL', (c) => c.unary(C.MemberAdd, { peerURLs: ['notaurl'] }));
  });

  test('Maintenance: which answers carry a header', async () => {
    await same('Alarm GET', (c) => c.unary(M.Alarm, { action: etcdserverpb.AlarmRequest_AlarmAction.GET }));
    await same('Alarm DEACTIVATE', (c) =>
      c.unary(M.Alarm, {
        action: etcdserverpb.AlarmRequest_AlarmAction.DEACTIVATE,
        alarm: etcdserverpb.AlarmType.NOSPACE,
      }),
    );
    // the hash of the whole backend file differs (LMDB is not bbolt); its header does not
    await same('Hash', async (c) => ({ header: (await c.unary(M.Hash, {})).header }));
    // hash_revision: a 3.6 field Conclave fills and 3.5 leaves out
    await same('HashKV', async (c) => ({ ...(await c.unary(M.HashKV, { revision: 0n })), hashRevision: 0n }));
    await same('HashKV at a revision', async (c) => ({
      ...(await c.unary(M.HashKV, { revision: 4n })),
      hashRevision: 0n,
    }));
    await same('Defragment', (c) => c.unary(M.Defragment, {}));
    await same('MoveLeader to no one', (c) => c.unary(M.MoveLeader, { targetID: 0n }));
    await same('Status', async (c) => {
      const { dbSize: _a, dbSizeInUse: _b, dbSizeQuota: _c, downgradeInfo: _d, ...rest } = await c.unary(M.Status, {});
      return rest;
    });
  });

  test('Auth: users and roles, errors, auth reads through Raft', async () => {
    await same('AuthStatus', (c) => c.unary(A.AuthStatus, {}));
    await same('UserAdd', (c) => c.unary(A.UserAdd, { name: 'u', password: 'p' }));
    await same('UserAdd of an existing user', (c) => c.unary(A.UserAdd, { name: 'u', password: 'p' }));
    await same('UserAdd without a name', (c) => c.unary(A.UserAdd, { name: '', password: 'p' }));
    await same('UserGet', (c) => c.unary(A.UserGet, { name: 'u' }));
    await same('UserGet of a missing user', (c) => c.unary(A.UserGet, { name: 'nobody' }));
    await same('UserList', (c) => c.unary(A.UserList, {}));
    await same('RoleAdd', (c) => c.unary(A.RoleAdd, { name: 'r' }));
    await same('RoleAdd without a name', (c) => c.unary(A.RoleAdd, { name: '' }));
    await same('RoleGrantPermission', (c) =>
      c.unary(A.RoleGrantPermission, {
        name: 'r',
        perm: { permType: authpb.Permission_Type.READWRITE, key: b('k'), rangeEnd: b('l') },
      }),
    );
    await same('RoleGet', (c) => c.unary(A.RoleGet, { role: 'r' }));
    await same('RoleList', (c) => c.unary(A.RoleList, {}));
    await same('UserGrantRole', (c) => c.unary(A.UserGrantRole, { user: 'u', role: 'r' }));
    await same('UserGrantRole of a missing role', (c) => c.unary(A.UserGrantRole, { user: 'u', role: 'nor' }));
    await same('UserRevokeRole', (c) => c.unary(A.UserRevokeRole, { name: 'u', role: 'r' }));
    await same('UserRevokeRole again', (c) => c.unary(A.UserRevokeRole, { name: 'u', role: 'r' }));
    await same('RoleRevokePermission of a missing key', (c) =>
      c.unary(A.RoleRevokePermission, { role: 'r', key: b('zz') }),
    );
    await same('UserChangePassword', (c) => c.unary(A.UserChangePassword, { name: 'u', password: 'q' }));
    await same('Authenticate with auth off', (c) => c.unary(A.Authenticate, { name: 'u', password: 'q' }));
    await same('AuthEnable without root', (c) => c.unary(A.AuthEnable, {}));
    await same('AuthDisable', (c) => c.unary(A.AuthDisable, {}));
    await same('UserDelete', (c) => c.unary(A.UserDelete, { name: 'u' }));
    await same('RoleDelete', (c) => c.unary(A.RoleDelete, { role: 'r' }));
    await same('RoleDelete of a missing role', (c) => c.unary(A.RoleDelete, { role: 'r' }));
  });

  test('Lock and Election: answers and errors', async () => {
    const ids = await lease('L2');
    await same('Lock', (c, i) => c.unary(v3lockpb.LockService.Lock, { name: b('lk'), lease: ids[i]! }));
    await same('Lock with a missing lease', (c) => c.unary(v3lockpb.LockService.Lock, { name: b('lk'), lease: 999n }));
    await same('Unlock of a missing key', (c) => c.unary(v3lockpb.LockService.Unlock, { key: b('nokey') }));
    const E = v3electionpb.ElectionService;
    await same('Campaign with a missing lease', (c) =>
      c.unary(E.Campaign, { name: b('el'), lease: 999n, value: b('v') }),
    );
    await same('Leader of an election nobody won', (c) => c.unary(E.Leader, { name: b('el') }));
    const stranger = { name: b('el'), key: b('el/1'), rev: 1n, lease: 1n };
    await same('Resign of a stranger', (c) => c.unary(E.Resign, { leader: stranger }));
    await same('Proclaim of a stranger', (c) => c.unary(E.Proclaim, { leader: stranger, value: b('x') }));
  });
});

describe('membership changes without quorum (a voter added, never started) against etcd 3.5.30 and Conclave', () => {
  const pair = etcd35AndConclave({ client: (s) => new RawClient(s.endpoint) });

  const outcome = async (p: Promise<unknown>): Promise<string> =>
    p.then(
      () => 'ok',
      (e: unknown) => {
        if (e instanceof CallError) return `error ${e.code} ${e.details}`;
        throw e;
      },
    );

  test('--strict-reconfig-check answers before the member is looked for', async () => {
    // one started voter of one may add a second (etcd's exception for restoring a cluster); then
    // one of two voters is started and the cluster has no quorum
    for (const c of pair.clients) await c.unary(C.MemberAdd, { peerURLs: ['http://127.0.0.1:1'] });
    const both = (call: (c: RawClient) => Promise<unknown>) => Promise.all(pair.clients.map((c) => outcome(call(c))));
    // etcd sends this one as a plain error: gRPC code UNKNOWN
    const refused = 'error 2 etcdserver: re-configuration failed due to not enough started members';
    assert.deepEqual(await both((c) => c.unary(C.MemberRemove, { ID: 1234n })), [refused, refused]);
    assert.deepEqual(await both((c) => c.unary(C.MemberAdd, { peerURLs: ['http://127.0.0.1:2'] })), [refused, refused]);
  });
});
