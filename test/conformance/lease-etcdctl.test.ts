// Conformance: etcdctl lease grant / revoke / timetolive / list / keep-alive (and puts with
// --lease) against the reference etcd 3.4 and Conclave, started with the same flags, must print the
// same output. Lease IDs are generated from the clock, so each server's IDs are replaced by L1, L2,
// … in order of appearance; etcd lists attached keys in random order, so key lists are sorted.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { etcdctl, type EtcdctlResult } from '../helpers/etcdctl.js';
import { startServer, type ServerProcess } from '../helpers/process.js';

interface Side {
  server: ServerProcess;
  /** Lease ID (as a bigint) → placeholder, in order of appearance. */
  names: Map<bigint, string>;
}

let etcd: Side;
let conclave: Side;

before(async () => {
  const [e, c] = await Promise.all([startServer('etcd'), startServer('conclave')]);
  etcd = { server: e, names: new Map() };
  conclave = { server: c, names: new Map() };
});

after(async () => {
  await Promise.all([etcd?.server.stop(), conclave?.server.stop()]);
});

const errorLine = (r: EtcdctlResult): string => r.stderr.split('\n').find((l) => l.startsWith('Error:')) ?? '';

/** Learns the lease IDs a grant printed (hex in simple output, decimal in JSON). */
function learn(side: Side, out: string): void {
  for (const m of out.matchAll(/lease ([0-9a-f]+) granted/g)) name(side, BigInt(`0x${m[1]}`));
  for (const m of out.matchAll(/"ID":(\d+)/g)) name(side, BigInt(m[1]!));
}

function name(side: Side, id: bigint): string {
  let n = side.names.get(id);
  if (!n) side.names.set(id, (n = `L${side.names.size + 1}`));
  return n;
}

/** The hex ID (as etcdctl takes it) of placeholder `n` on this side. */
function idOf(side: Side, n: string): string {
  for (const [id, nm] of side.names) if (nm === n) return id.toString(16);
  throw new Error(`no lease ${n}`);
}

function normalize(side: Side, s: string): string {
  let out = s;
  for (const [id, n] of side.names) {
    out = out
      .replaceAll(id.toString(16).padStart(16, '0'), n)
      .replaceAll(id.toString(16), n)
      .replaceAll(id.toString(10), n);
  }
  // etcd prints attached keys in map order: sort them.
  out = out.replace(
    /attached keys\(\[([^\]]*)\]\)/g,
    (_m, ks: string) => `attached keys([${ks.split(' ').sort().join(' ')}])`,
  );
  out = out.replace(/"keys":\[([^\]]*)\]/g, (_m, ks: string) => `"keys":[${ks.split(',').sort().join(',')}]`);
  return out;
}

/** Runs the same etcdctl command (placeholders L1… resolved per server) against both; compares. */
async function same(
  args: string[],
  opts: { input?: string; remaining?: boolean } = {},
): Promise<[EtcdctlResult, EtcdctlResult]> {
  const run = async (side: Side): Promise<EtcdctlResult> => {
    const resolved = args.map((a) => a.replace(/\bL\d+\b/g, (n) => idOf(side, n)));
    const r = await etcdctl(side.server.endpoint, resolved, opts.input === undefined ? {} : { input: opts.input });
    learn(side, r.stdout);
    return r;
  };
  const a = await run(etcd);
  const b = await run(conclave);
  const what = `etcdctl ${args.join(' ')}`;
  let sa = normalize(etcd, a.stdout);
  let sb = normalize(conclave, b.stdout);
  if (opts.remaining) {
    // Remaining TTLs are truncated seconds measured at slightly different moments: allow 1 s.
    const rem = (s: string) => [...s.matchAll(/remaining\((\d+)s\)|"ttl":(\d+)/g)].map((m) => Number(m[1] ?? m[2]));
    const [ra, rb] = [rem(sa), rem(sb)];
    assert.equal(rb.length, ra.length, `${what}: remaining TTLs`);
    ra.forEach((x, i) => assert.ok(Math.abs(x - rb[i]!) <= 1, `${what}: remaining ${rb[i]} vs ${x}`));
    const strip = (s: string) => s.replace(/remaining\(\d+s\)/g, 'remaining(Ns)').replace(/"ttl":\d+/g, '"ttl":N');
    sa = strip(sa);
    sb = strip(sb);
  }
  assert.equal(b.code, a.code, `${what}: exit code (etcd: ${a.stderr}; conclave: ${b.stderr})`);
  assert.equal(sb, sa, `${what}: stdout`);
  assert.equal(normalize(conclave, errorLine(b)), normalize(etcd, errorLine(a)), `${what}: error`);
  return [a, b];
}

describe('etcdctl lease against etcd 3.4 and Conclave', () => {
  test('grant (simple and JSON), minimum TTL, keys attached with --lease, timetolive, list', async () => {
    await same(['lease', 'grant', '100']);
    await same(['-w', 'json', 'lease', 'grant', '200']);
    await same(['put', 'foo', 'bar', '--lease', 'L1']);
    await same(['put', 'zoo', 'z', '--lease', 'L1']);
    await same(['put', 'moved', 'm', '--lease', 'L1']);
    await same(['put', 'moved', 'm2', '--lease', 'L2']);
    await same(['put', 'kept', 'k', '--lease', 'L2']);
    await same(['put', 'kept', 'k2', '--ignore-lease']);
    await same(['-w', 'json', 'get', 'kept']);
    await same(['lease', 'timetolive', 'L1'], { remaining: true });
    await same(['lease', 'timetolive', 'L1', '--keys'], { remaining: true });
    await same(['-w', 'json', 'lease', 'timetolive', 'L2', '--keys'], { remaining: true });
    await same(['lease', 'list']);
    await same(['-w', 'json', 'lease', 'list']);
    await same(['lease', 'grant', '1']);
    await same(['lease', 'revoke', 'L3']);
  });

  test('keep-alive --once, revoke deletes the attached keys in one revision', async () => {
    await same(['lease', 'keep-alive', '--once', 'L1']);
    await same(['-w', 'json', 'lease', 'keep-alive', '--once', 'L2']);
    await same(['lease', 'revoke', 'L1']);
    await same(['-w', 'json', 'get', '', '--from-key']);
    await same(['lease', 'timetolive', 'L1']);
    await same(['-w', 'json', 'lease', 'timetolive', 'L1']);
    await same(['-w', 'json', 'lease', 'revoke', 'L2']);
    await same(['-w', 'json', 'get', '', '--from-key']);
  });

  test('errors: unknown leases, puts with an unknown lease, TTL too large', async () => {
    await same(['lease', 'revoke', '1234']);
    await same(['lease', 'timetolive', '1234']);
    await same(['lease', 'keep-alive', '--once', '1234']);
    await same(['lease', 'keep-alive', '--once', 'L1']);
    await same(['put', 'x', 'y', '--lease', '1234']);
    await same(['lease', 'grant', '9000000001']);
    await same(['lease', 'list']);
  });

  test('keep-alive stream: renewals until the lease is revoked', async () => {
    await same(['lease', 'grant', '9']);
    const runKeepAlive = async (side: Side): Promise<string> => {
      const child = spawn('etcdctl', ['--endpoints', side.server.endpoint, 'lease', 'keep-alive', idOf(side, 'L4')], {
        env: { ...process.env, ETCDCTL_API: '3' },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number>((res) => child.on('exit', (code) => res(code ?? -1)));
      const deadline = Date.now() + 10_000;
      while (!out.includes('keepalived') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const r = await etcdctl(side.server.endpoint, ['lease', 'revoke', idOf(side, 'L4')]);
      assert.equal(r.code, 0, r.stderr);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return `${normalize(side, out)}exit ${code}`;
    };
    const [a, b] = await Promise.all([runKeepAlive(etcd), runKeepAlive(conclave)]);
    assert.match(a, /lease L4 keepalived with TTL\(9\)\n/);
    assert.equal(b, a);
  });

  test('expiry: a lease that is not kept alive is revoked with its keys', async () => {
    await same(['lease', 'grant', '2']);
    await same(['put', 'short', 'lived', '--lease', 'L5']);
    await new Promise((r) => setTimeout(r, 3800));
    await same(['-w', 'json', 'get', 'short']);
    await same(['lease', 'timetolive', 'L5']);
    await same(['lease', 'list']);
  });
});
