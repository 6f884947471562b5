// Operator commands of etcdctl 3.5 against etcd 3.5.30 and Conclave (one member each, started with
// the same flags): each command must give the same exit code, the same output (bound addresses,
// lease IDs, sizes and timings masked; revisions, raft terms and indexes, hashes and versions as
// they are) and the same error lines. Covers endpoint status/health/hashkv, member list, alarms,
// defrag, leases, auth status with auth off and on, users and roles, who may run each maintenance
// command once auth is on, and snapshot save. Member and cluster IDs are equal on both sides: they
// derive from the same peer URLs and cluster token.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ETCD_COMPAT_VERSION } from '../../packages/server/src/config/version.js';
import type { EtcdctlResult } from '../helpers/etcdctl.js';
import { errorLines, etcdctl35, maskOutput } from '../helpers/etcd35.js';
import { startServer, type ServerProcess } from '../helpers/process.js';

const FLAGS = ['--bcrypt-cost', '4'];
const ROOT = ['--user', 'root:rootpw'];
const U1 = ['--user', 'u1:u1pw'];

type Args = string[] | ((side: number) => string[]);

describe('etcdctl 3.5 operator commands against etcd 3.5.30 and Conclave', () => {
  let servers: [ServerProcess, ServerProcess];
  /** Per side: IDs (hex and decimal) to mask, e.g. lease IDs, by label. */
  const ids: [Map<string, string>, Map<string, string>] = [new Map(), new Map()];
  const dir = mkdtempSync(join(tmpdir(), 'etcd35-etcdctl-'));

  before(async () => {
    servers = await Promise.all([startServer('etcd35', { args: FLAGS }), startServer('conclave', { args: FLAGS })]);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s?.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Runs one command on both sides (in parallel); asserts the same outcome; returns both results.
   * `lease`: the command grants a lease; its IDs are masked under this label from now on.
   */
  async function same(
    args: Args,
    opts: { input?: string; lease?: string; mask?: (s: string) => string } = {},
  ): Promise<[EtcdctlResult, EtcdctlResult]> {
    const argsOf = (i: number) => (typeof args === 'function' ? args(i) : args);
    const [a, b] = await Promise.all(
      servers.map((s, i) => etcdctl35(s.endpoint, argsOf(i), opts.input === undefined ? {} : { input: opts.input })),
    );
    if (opts.lease !== undefined)
      [a!, b!].forEach((r, i) => {
        const hex = /lease ([0-9a-f]+) granted/.exec(r.stdout)?.[1];
        if (hex === undefined) return;
        ids[i]!.set(hex, opts.lease!);
        ids[i]!.set(BigInt(`0x${hex}`).toString(), opts.lease!);
      });
    const what = `etcdctl ${argsOf(1).join(' ')}`;
    assert.equal(
      b!.code,
      a!.code,
      `${what}: exit code (etcd: ${a!.stdout}${a!.stderr}; conclave: ${b!.stdout}${b!.stderr})`,
    );
    const more = opts.mask ?? ((x: string) => x);
    assert.equal(more(maskOutput(b!.stdout, ids[1])), more(maskOutput(a!.stdout, ids[0])), `${what}: stdout`);
    assert.equal(maskOutput(errorLines(b!), ids[1]), maskOutput(errorLines(a!), ids[0]), `${what}: errors`);
    return [a!, b!];
  }
  const ok = (...args: string[]) => same(args);

  /** `lease grant` on both sides; the two lease IDs (hex), masked as `label` from now on. */
  async function grant(label: string, ...args: string[]): Promise<[string, string]> {
    const res = await same([...args, 'lease', 'grant', '100'], { lease: label });
    return res.map((r) => /lease ([0-9a-f]+) granted/.exec(r.stdout)![1]!) as [string, string];
  }

  test('endpoint status, health and hashkv, member list, alarms, defrag (auth off)', async () => {
    const [, c] = await ok('endpoint', 'status');
    assert.match(c.stdout, new RegExp(`, ${ETCD_COMPAT_VERSION.replace(/\./g, '\\.')}, `));
    await ok('-w', 'json', 'endpoint', 'status');
    await ok('-w', 'table', 'endpoint', 'status');
    await ok('put', 'k1', 'v1');
    await ok('put', 'k2', 'v2');
    await ok('put', 'k1', 'v3');
    await ok('-w', 'json', 'endpoint', 'status');
    await ok('member', 'list');
    await ok('-w', 'json', 'member', 'list');
    await ok('-w', 'table', 'member', 'list');
    await ok('alarm', 'list');
    await ok('-w', 'json', 'alarm', 'list');
    await ok('alarm', 'disarm');
    await ok('defrag');
    await ok('-w', 'json', 'endpoint', 'hashkv');
    await ok('endpoint', 'hashkv', '--rev', '3');
    await ok('endpoint', 'hashkv', '--rev', '100');
    await ok('compaction', '3');
    await ok('-w', 'json', 'endpoint', 'hashkv');
    await ok('endpoint', 'hashkv', '--rev', '2');
    await ok('endpoint', 'hashkv', '--rev', '4');
    await ok('endpoint', 'health');
    await ok('-w', 'json', 'endpoint', 'status');
    await ok('move-leader', '1');
  });

  test('leases: grant, list, timetolive, keep-alive --once, revoke', async () => {
    await ok('lease', 'list');
    const l1 = await grant('L1');
    await grant('L2');
    await same((i) => ['put', 'lk', 'v', '--lease', l1[i]!]);
    await ok('lease', 'list');
    await ok('-w', 'json', 'lease', 'list');
    await same((i) => ['lease', 'timetolive', l1[i]!]);
    await same((i) => ['lease', 'timetolive', l1[i]!, '--keys']);
    await same((i) => ['-w', 'json', 'lease', 'timetolive', l1[i]!, '--keys']);
    await same((i) => ['lease', 'keep-alive', '--once', l1[i]!]);
    await same((i) => ['lease', 'revoke', l1[i]!]);
    await same((i) => ['lease', 'timetolive', l1[i]!]);
    await same((i) => ['lease', 'revoke', l1[i]!]);
    await same((i) => ['lease', 'keep-alive', '--once', l1[i]!]);
    await ok('get', 'lk');
    await ok('lease', 'revoke', 'abc');
    await ok('lease', 'grant', 'x');
    await ok('lease', 'grant', '-1');
    await ok('lease', 'list');
  });

  test('auth status and users and roles with auth off, then on: who may run each command', async () => {
    await ok('auth', 'status');
    await ok('-w', 'json', 'auth', 'status');
    await ok('user', 'add', 'root', '--new-user-password=rootpw');
    await ok('user', 'add', 'u1', '--new-user-password=u1pw');
    await ok('role', 'add', 'r1');
    await ok('role', 'grant-permission', 'r1', 'readwrite', 'a/', '--prefix');
    await ok('role', 'grant-permission', 'r1', 'read', 'k1');
    await ok('user', 'grant-role', 'root', 'root');
    await ok('user', 'grant-role', 'u1', 'r1');
    await ok('user', 'list');
    await ok('role', 'list');
    await ok('user', 'get', 'u1');
    await ok('-w', 'json', 'user', 'get', 'u1');
    await ok('role', 'get', 'r1');
    await ok('auth', 'status');
    await ok('auth', 'enable');
    // auth status: root only
    await ok('auth', 'status');
    await ok(...U1, 'auth', 'status');
    await ok(...ROOT, 'auth', 'status');
    await ok(...ROOT, '-w', 'json', 'auth', 'status');
    await ok('--user', 'root:wrong', 'auth', 'status');
    // maintenance and membership: root, any user, or nobody
    for (const who of [[], U1, ROOT]) {
      await ok(...who, 'endpoint', 'status');
      await ok(...who, 'member', 'list');
      await ok(...who, 'alarm', 'list');
      await ok(...who, 'alarm', 'disarm');
      await ok(...who, 'defrag');
      // the history now holds lease IDs, which differ: the hash too
      await same([...who, 'endpoint', 'hashkv'], { mask: (x) => x.replace(/ADDR, \d+/, 'ADDR, HASH') });
      await ok(...who, 'endpoint', 'health');
      await ok(...who, 'move-leader', '1');
      await ok(...who, 'compaction', '4');
      await ok(...who, 'lease', 'list');
    }
    // leases with auth on: a user is needed; keys attached to a lease need the user's permissions
    await ok('lease', 'grant', '100');
    const l3 = await grant('L3', ...U1);
    await same((i) => [...U1, 'put', 'a/1', 'x', '--lease', l3[i]!]);
    await ok(...U1, 'lease', 'list');
    await same((i) => ['lease', 'timetolive', l3[i]!]);
    await same((i) => [...U1, 'lease', 'timetolive', l3[i]!, '--keys']);
    await same((i) => [...U1, 'lease', 'keep-alive', '--once', l3[i]!]);
    const l4 = await grant('L4', ...ROOT);
    await same((i) => [...ROOT, 'put', 'secret', 'x', '--lease', l4[i]!]);
    await ok(...U1, 'lease', 'list');
    await same((i) => [...U1, 'lease', 'timetolive', l4[i]!, '--keys']);
    await same((i) => [...U1, 'lease', 'timetolive', l4[i]!]);
    await same((i) => [...U1, 'lease', 'keep-alive', '--once', l4[i]!]);
    await same((i) => [...U1, 'lease', 'revoke', l4[i]!]);
    await same((i) => [...ROOT, 'lease', 'keep-alive', '--once', l4[i]!]);
    await same((i) => [...ROOT, 'lease', 'revoke', l4[i]!]);
    await same((i) => [...U1, 'lease', 'revoke', l3[i]!]);
    // user and role management
    await ok(...U1, 'user', 'list');
    await ok(...U1, 'user', 'get', 'u1');
    await ok(...U1, 'role', 'get', 'r1');
    await ok(...U1, 'role', 'add', 'r2');
    await ok(...ROOT, 'role', 'add', 'r2');
    await ok(...ROOT, 'role', 'grant-permission', 'r2', 'write', 'b', 'c');
    await ok(...ROOT, 'user', 'grant-role', 'u1', 'r2');
    await ok(...ROOT, 'user', 'get', 'u1', '--detail');
    await ok(...ROOT, 'role', 'revoke-permission', 'r2', 'b', 'c');
    await ok(...ROOT, 'user', 'revoke-role', 'u1', 'r2');
    await ok(...ROOT, 'role', 'delete', 'r2');
    await same([...ROOT, 'user', 'passwd', 'u1', '--interactive=false'], { input: 'u1new\n' });
    await ok(...U1, 'get', 'a/1');
    await ok('--user', 'u1:u1new', 'get', 'a/1');
    await ok(...ROOT, 'user', 'delete', 'u1');
    await ok(...ROOT, 'user', 'list');
    await ok(...ROOT, 'role', 'list');
    await ok(...ROOT, 'auth', 'disable');
    await ok('auth', 'status');
    await ok('-w', 'json', 'auth', 'status');
  });

  test('snapshot save', async () => {
    const paths = servers.map((_, i) => join(dir, `snap-${i}.db`));
    const [a, b] = await Promise.all(servers.map((s, i) => etcdctl35(s.endpoint, ['snapshot', 'save', paths[i]!])));
    assert.equal(b!.code, a!.code, `${b!.stdout}${b!.stderr}`);
    const saved = (r: EtcdctlResult) => `${r.stdout}${r.stderr}`.replace(/snap-\d\.db/g, 'snap.db');
    assert.match(saved(a!), /Snapshot saved at .*snap\.db/);
    assert.match(saved(b!), /Snapshot saved at .*snap\.db/);
    assert.equal(maskOutput(b!.stdout.replace(/snap-\d/, 'snap')), maskOutput(a!.stdout.replace(/snap-\d/, 'snap')));
    for (const p of paths) assert.ok(statSync(p).size > 0);
  });
});
