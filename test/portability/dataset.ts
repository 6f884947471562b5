// The key space the portability tests move between Conclave and etcd, built through the gRPC API
// (so it is the same on every server), and the fingerprint compared before and after a move:
// every key with its create/mod revisions, version, value and lease; the current and compacted
// revisions; the history at several old revisions; HashKV; leases with their keys; users, roles and
// permissions; whether auth is on.
//
// populate(): ≥ 10,000 keys written by transactions of 100 puts (many sub-revisions), then updates
// (history), single deletes and a range delete (tombstones), a physical compaction in the middle,
// more writes after it, leases with keys (one revoked, one without keys), users and roles, auth on.

import { authpb, etcdserverpb, type mvccpb } from '@conclave/api';
import { RawClient, callError } from '../helpers/grpc.js';
import { startServer, type ServerKind, type ServerProcess } from '../helpers/process.js';

export const ROOT_PASSWORD = 'root-pw';
const KEYS = 10_000;
const pad = (i: number) => String(i).padStart(5, '0');
const b = (s: string) => Buffer.from(s);

export interface DatasetInfo {
  /** Revision after everything was written. */
  revision: number;
  compactRevision: number;
  /** Revisions (≥ the compacted one) whose state the fingerprint records. */
  historyRevisions: number[];
}

async function txnPuts(c: RawClient, puts: Array<[string, string, bigint?]>): Promise<number> {
  const r = await c.unary(etcdserverpb.KVService.Txn, {
    success: puts.map(([key, value, lease]) => ({ requestPut: { key: b(key), value: b(value), lease: lease ?? 0n } })),
  });
  return Number(r.header?.revision ?? 0);
}

export async function populate(endpoint: string): Promise<DatasetInfo> {
  const c = new RawClient(endpoint);
  try {
    const history: number[] = [];
    for (let i = 0; i < KEYS; i += 100) {
      await txnPuts(
        c,
        Array.from({ length: 100 }, (_, j) => [`k/${pad(i + j)}`, `v${i + j}-0`] as [string, string]),
      );
    }
    // history: two rounds of updates of the first 2,000 keys, one key at a time for part of them
    for (let round = 1; round <= 2; round++) {
      for (let i = 0; i < 2000; i += 50) {
        await txnPuts(
          c,
          Array.from({ length: 50 }, (_, j) => [`k/${pad(i + j)}`, `v${i + j}-${round}`] as [string, string]),
        );
      }
      for (let i = 0; i < 10; i++) await c.put(`k/${pad(3000 + i)}`, `single-${round}-${i}`);
    }
    const beforeCompact = Number((await c.put('marker', 'before-compact')).header?.revision ?? 0);
    // tombstones: single deletes and one range delete
    for (let i = 0; i < 10; i++) await c.unary(etcdserverpb.KVService.DeleteRange, { key: b(`k/${pad(100 + i * 7)}`) });
    await c.unary(etcdserverpb.KVService.DeleteRange, { key: b('k/09500'), rangeEnd: b('k/09600') });
    const compactAt = Number((await c.put('marker', 'compact-here')).header?.revision ?? 0);
    history.push(compactAt);
    await c.unary(etcdserverpb.KVService.Compact, { revision: compactAt, physical: true });
    // after the compaction: more history, then leases
    for (let i = 0; i < 100; i += 10) {
      await txnPuts(
        c,
        Array.from({ length: 10 }, (_, j) => [`after/${pad(i + j)}`, `a${i + j}`] as [string, string]),
      );
    }
    history.push(Number((await c.put('marker', 'mid')).header?.revision ?? 0));
    await c.unary(etcdserverpb.KVService.DeleteRange, { key: b('after/00050'), rangeEnd: b('after/00060') });
    for (let i = 0; i < 10; i++) await c.put(`k/${pad(200 + i)}`, `again-${i}`);
    history.push(Number((await c.put('marker', 'pre-lease')).header?.revision ?? 0));
    const leases: bigint[] = [];
    for (let l = 0; l < 4; l++) {
      const g = await c.unary(etcdserverpb.LeaseService.LeaseGrant, { TTL: 3600n + BigInt(l), ID: 0n });
      leases.push(g.ID);
      if (l === 3) continue; // a lease without keys
      await txnPuts(
        c,
        Array.from({ length: 30 }, (_, j) => [`lease/${l}/${pad(j)}`, `l${l}-${j}`, g.ID] as [string, string, bigint]),
      );
    }
    const doomed = await c.unary(etcdserverpb.LeaseService.LeaseGrant, { TTL: 3600n, ID: 0n });
    await txnPuts(c, [['lease/doomed/1', 'x', doomed.ID]]);
    await c.unary(etcdserverpb.LeaseService.LeaseRevoke, { ID: doomed.ID });
    // auth: root, two roles with key-range permissions, two users; then auth on
    const A = etcdserverpb.AuthService;
    await c.unary(A.UserAdd, { name: 'root', password: ROOT_PASSWORD, options: { noPassword: false } });
    await c.unary(A.RoleAdd, { name: 'root' });
    await c.unary(A.UserGrantRole, { user: 'root', role: 'root' });
    await c.unary(A.RoleAdd, { name: 'reader' });
    await c.unary(A.RoleGrantPermission, {
      name: 'reader',
      perm: { permType: authpb.Permission_Type.READ, key: b('k/'), rangeEnd: b('k0') },
    });
    await c.unary(A.RoleAdd, { name: 'writer' });
    await c.unary(A.RoleGrantPermission, {
      name: 'writer',
      perm: { permType: authpb.Permission_Type.READWRITE, key: b('after/'), rangeEnd: b('after0') },
    });
    await c.unary(A.RoleGrantPermission, {
      name: 'writer',
      perm: { permType: authpb.Permission_Type.WRITE, key: b('marker') },
    });
    await c.unary(A.UserAdd, { name: 'alice', password: 'alice-pw', options: { noPassword: false } });
    await c.unary(A.UserGrantRole, { user: 'alice', role: 'reader' });
    await c.unary(A.UserGrantRole, { user: 'alice', role: 'writer' });
    await c.unary(A.UserAdd, { name: 'bob', password: 'bob-pw', options: { noPassword: false } });
    await c.unary(A.UserGrantRole, { user: 'bob', role: 'reader' });
    await c.unary(A.AuthEnable, {});
    const st = await rootClient(endpoint);
    try {
      const rev = Number(
        (await st.c.unary(etcdserverpb.KVService.Range, { key: b('marker') }, st.md)).header?.revision,
      );
      return { revision: rev, compactRevision: compactAt, historyRevisions: [...history, beforeCompact] };
    } finally {
      st.c.close();
    }
  } finally {
    c.close();
  }
}

/** A client authenticated as root (auth is on after populate). */
export async function rootClient(
  endpoint: string,
): Promise<{ c: RawClient; md: { metadata: Record<string, string> } }> {
  const c = new RawClient(endpoint);
  const r = await c.unary(etcdserverpb.AuthService.Authenticate, { name: 'root', password: ROOT_PASSWORD });
  return { c, md: { metadata: { token: r.token } } };
}

const kvLine = (kv: mvccpb.KeyValue): string =>
  `${Buffer.from(kv.key).toString()} c=${kv.createRevision} m=${kv.modRevision} v=${kv.version} l=${kv.lease} ${Buffer.from(kv.value).toString()}`;

export interface Fingerprint {
  revision: number;
  compactRevision: number;
  hash: number;
  kvs: string[];
  /** State at each history revision (or the error reading it). */
  history: Record<string, string[] | string>;
  leases: string[];
  users: string[];
  roles: string[];
  /** What an unauthenticated read gets (auth on: an error). */
  anonymous: string;
}

/** Everything comparable about `endpoint`'s state, read at `info.revision`. */
export async function fingerprint(endpoint: string, info: DatasetInfo): Promise<Fingerprint> {
  const { c, md } = await rootClient(endpoint);
  try {
    const KV = etcdserverpb.KVService;
    const all = (revision: number) =>
      c.unary(KV.Range, { key: b('\0'), rangeEnd: b('\0'), revision }, { ...md, timeoutMs: 30_000 });
    const now = await all(0);
    const history: Record<string, string[] | string> = {};
    for (const r of [...info.historyRevisions, info.compactRevision - 1]) {
      try {
        history[r] = (await all(r)).kvs.map(kvLine);
      } catch (e) {
        history[r] = String((e as Error).message);
      }
    }
    const hk = await c.unary(etcdserverpb.MaintenanceService.HashKV, { revision: info.revision }, md);
    const L = etcdserverpb.LeaseService;
    const leases: string[] = [];
    for (const l of (await c.unary(L.LeaseLeases, {}, md)).leases.map((x) => x.ID).sort((x, y) => (x < y ? -1 : 1))) {
      const t = await c.unary(L.LeaseTimeToLive, { ID: l, keys: true }, md);
      // etcd lists a lease's keys in map order: compare them sorted
      leases.push(
        `${l} ttl=${t.grantedTTL} keys=${t.keys
          .map((k) => Buffer.from(k).toString())
          .sort()
          .join(',')}`,
      );
    }
    const A = etcdserverpb.AuthService;
    const users: string[] = [];
    for (const u of (await c.unary(A.UserList, {}, md)).users) {
      users.push(`${u}: ${(await c.unary(A.UserGet, { name: u }, md)).roles.join(',')}`);
    }
    const roles: string[] = [];
    for (const r of (await c.unary(A.RoleList, {}, md)).roles) {
      const perms = (await c.unary(A.RoleGet, { role: r }, md)).perm.map(
        (p) => `${p.permType}:${Buffer.from(p.key).toString()}-${Buffer.from(p.rangeEnd).toString()}`,
      );
      roles.push(`${r}: ${perms.join(' ')}`);
    }
    const anon = new RawClient(endpoint);
    let anonymous: string;
    try {
      anonymous = (await callError(() => anon.get('k/00001'))).details;
    } finally {
      anon.close();
    }
    return {
      revision: Number(now.header?.revision),
      compactRevision: Number(hk.compactRevision),
      hash: hk.hash,
      kvs: now.kvs.map(kvLine),
      history,
      leases,
      users,
      roles,
      anonymous,
    };
  } finally {
    c.close();
  }
}

/** HashKV of every endpoint at `revision` (the same on every member of a healthy cluster). */
export async function hashes(endpoints: string[], revision: number): Promise<number[]> {
  const out: number[] = [];
  for (const e of endpoints) {
    const { c, md } = await rootClient(e);
    try {
      out.push((await c.unary(etcdserverpb.MaintenanceService.HashKV, { revision }, md)).hash);
    } finally {
      c.close();
    }
  }
  return out;
}

/** A `kind` member started and populated: the server (the caller stops it), populate()'s report and the fingerprint. */
export async function populatedMember(
  kind: ServerKind,
): Promise<{ server: ServerProcess; info: DatasetInfo; want: Fingerprint }> {
  const server = await startServer(kind);
  try {
    const info = await populate(server.endpoint);
    return { server, info, want: await fingerprint(server.endpoint, info) };
  } catch (e) {
    await server.stop();
    throw e;
  }
}
