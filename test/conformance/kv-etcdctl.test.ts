// Conformance: the same etcdctl sessions (Debian's etcdctl 3.4, an older client) against the reference
// etcd 3.5 and against Conclave, started with the same flags (so even cluster and member IDs agree),
// must print the same output.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { etcdctl, type EtcdctlResult } from '../helpers/etcdctl.js';
import { startServer, type ServerProcess } from '../helpers/process.js';

interface Step {
  args: string[];
  input?: string;
  /** Rewrites output before comparing (e.g. drops fields that legitimately differ). */
  normalize?: (s: string) => string;
}

let etcd: ServerProcess;
let conclave: ServerProcess;

before(async () => {
  [etcd, conclave] = await Promise.all([
    startServer('etcd35', { args: ['--max-txn-ops', '8'] }),
    startServer('conclave', { args: ['--max-txn-ops', '8'] }),
  ]);
});

after(async () => {
  await Promise.all([etcd?.stop(), conclave?.stop()]);
});

/** etcdctl's stderr carries timestamps and retry chatter; compare only the "Error: ..." line. */
function errorLine(r: EtcdctlResult): string {
  return r.stderr.split('\n').find((l) => l.startsWith('Error:')) ?? '';
}

async function both(step: Step): Promise<[EtcdctlResult, EtcdctlResult]> {
  const a = await etcdctl(etcd.endpoint, step.args, step.input === undefined ? {} : { input: step.input });
  const b = await etcdctl(conclave.endpoint, step.args, step.input === undefined ? {} : { input: step.input });
  return [a, b];
}

async function same(step: Step): Promise<EtcdctlResult> {
  const [a, b] = await both(step);
  const norm = step.normalize ?? ((s: string) => s);
  const what = `etcdctl ${step.args.join(' ')}`;
  assert.equal(b.code, a.code, `${what}: exit code (etcd stderr: ${a.stderr}; conclave stderr: ${b.stderr})`);
  assert.equal(norm(b.stdout), norm(a.stdout), `${what}: stdout`);
  assert.equal(errorLine(b), errorLine(a), `${what}: error`);
  return b;
}

const json = (...args: string[]): Step => ({ args: ['-w', 'json', ...args] });

describe('etcdctl KV against etcd 3.5 and Conclave', () => {
  test('put, get, revisions and prev-kv', async () => {
    await same(json('put', 'foo', 'bar'));
    await same(json('put', 'foo', 'baz', '--prev-kv'));
    await same(json('get', 'foo'));
    await same(json('get', 'foo', '--rev', '2'));
    await same({ args: ['get', 'foo'] });
    await same({ args: ['get', 'missing'] });
    await same(json('get', 'missing'));
    await same({ args: ['put', 'foo', 'qux', '--prev-kv'] });
  });

  test('ranges: prefix, from-key, limit, sort, keys-only, count-only', async () => {
    for (const k of ['a', 'b', 'c', 'd', 'e']) await same({ args: ['put', `p/${k}`, `v-${k}`] });
    await same({ args: ['put', 'p/c', 'v-c2'] });
    await same(json('get', 'p/', '--prefix'));
    await same(json('get', 'p/', '--prefix', '--limit', '2'));
    await same(json('get', 'p/b', 'p/d'));
    await same(json('get', 'p/c', '--from-key'));
    await same(json('get', '', '--from-key', '--keys-only'));
    await same(json('get', 'p/', '--prefix', '--sort-by', 'MODIFY', '--order', 'DESCEND'));
    await same(json('get', 'p/', '--prefix', '--sort-by', 'VERSION', '--order', 'ASCEND', '--limit', '3'));
    await same(json('get', 'p/', '--prefix', '--sort-by', 'VALUE', '--order', 'DESCEND'));
    await same(json('get', 'p/', '--prefix', '--sort-by', 'CREATE'));
    await same(json('get', 'p/', '--prefix', '--count-only'));
    await same(json('get', 'p/', '--prefix', '--keys-only', '--limit', '1'));
    await same({ args: ['get', 'p/', '--prefix', '--print-value-only'] });
    await same(json('get', 'p/', '--prefix', '--consistency', 's'));
    await same(json('get', 'p/', '--prefix', '--rev', '5'));
  });

  test('delete: single, range, prefix, prev-kv, missing key', async () => {
    await same(json('del', 'p/a', '--prev-kv'));
    await same(json('del', 'p/b', 'p/d'));
    await same(json('del', 'nothing-here'));
    await same({ args: ['del', 'p/', '--prefix'] });
    await same(json('get', 'p/', '--prefix'));
  });

  test('txn: compares on value, version, create, mod, with success and failure branches', async () => {
    await same({ args: ['put', 'k1', 'v1'] });
    await same({
      args: ['-w', 'json', 'txn'],
      input: 'value("k1") = "v1"\n\nput k1 v2\nget k1\ndel nothing\n\nget k1\n\n',
    });
    await same({ args: ['-w', 'json', 'txn'], input: 'value("k1") = "v1"\n\nput k1 v3\n\nget k1\nput k2 x\n\n' });
    await same({
      args: ['txn'],
      input: 'version("k1") > "1"\nmod("k1") < "1000"\ncreate("k2") = "0"\n\nput k3 a\n\nput k4 b\n\n',
    });
    await same({ args: ['-w', 'json', 'txn'], input: 'value("missing") = ""\n\nput y 1\n\nput n 1\n\n' });
    await same({ args: ['-w', 'json', 'txn'], input: 'version("missing") = "0"\n\nput z 1\n\n' });
    await same(json('get', '', '--from-key'));
  });

  test('txn limits: too many ops and duplicate keys', async () => {
    const many = Array.from({ length: 9 }, (_, i) => `put t${i} v`).join('\n');
    await same({ args: ['txn'], input: `\n${many}\n\n\n` });
    await same({ args: ['txn'], input: '\nput dup 1\nput dup 2\n\n\n' });
    await same({ args: ['txn'], input: '\nput r/a 1\ndel r/ r0\n\n\n' });
  });

  test('ignore-value and ignore-lease', async () => {
    await same({ args: ['put', 'iv', '--ignore-value'] });
    await same({ args: ['put', 'k1', '--ignore-value'] });
    await same(json('get', 'k1'));
    await same({ args: ['put', 'k1', 'x', '--ignore-lease'] });
    await same({ args: ['put', 'k1', 'x', '--lease', '1234'] });
  });

  test('compaction: future, compacted, physical, reads at old revisions', async () => {
    await same({ args: ['compaction', '100000'] });
    await same({ args: ['compaction', '4'] });
    await same({ args: ['compaction', '3'] });
    await same(json('get', 'foo', '--rev', '3'));
    await same(json('get', 'foo', '--rev', '4'));
    await same({ args: ['compaction', '--physical', '6'] });
    await same(json('get', 'foo', '--rev', '100000'));
  });

  test('member list and endpoint health/status', async () => {
    await same(json('member', 'list'));
    await same({ args: ['member', 'list'] });
    const [a, b] = await both({ args: ['endpoint', 'health'] });
    assert.equal(a.code, 0);
    assert.equal(b.code, 0);
    assert.match(b.stderr + b.stdout, /is healthy/);
    const [sa, sb] = await both(json('endpoint', 'status'));
    const pick = (s: string) => {
      const st = (JSON.parse(s) as Array<{ Status: Record<string, unknown> }>)[0]!.Status;
      return { header: st['header'], version: st['version'], leader: st['leader'], raftTerm: st['raftTerm'] };
    };
    assert.deepEqual(pick(sb.stdout), pick(sa.stdout));
  });
});
