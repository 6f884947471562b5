// Argument checks at the API edge, without a server: every wrong type throws (or rejects with) a
// TypeError naming the argument before anything is sent.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '../client.js';
import { cmp } from '../txn/compare.js';
import { op } from '../txn/txn.js';
import { endpointList, parseEndpoint } from '../endpoint/endpoint.js';

/** A client on a port nothing listens on: a check that fails lets no call through. */
const client = (): Client => new Client({ endpoints: ['127.0.0.1:1'], timeoutMs: 200 });

const typeError = (re: RegExp) => (e: unknown) => e instanceof TypeError && re.test(e.message);

test('keys and values must be strings or Uint8Arrays; the error names the argument', async () => {
  const c = client();
  try {
    await assert.rejects(
      c.put('k', 42 as never),
      typeError(/^put: value must be a string or Uint8Array, got number 42$/),
    );
    await assert.rejects(c.put('k', { a: 1 } as never), typeError(/^put: value .* got an object$/));
    await assert.rejects(c.put(123 as never, 'v'), typeError(/^put: key .* got number 123$/));
    await assert.rejects(c.put('k', null as never), typeError(/^put: value .* got null$/));
    await assert.rejects(c.get(undefined as never), typeError(/^get: key .* got undefined$/));
    await assert.rejects(c.range({ key: 5 } as never), typeError(/^range: key\.key /));
    await assert.rejects(c.range('a', { end: 7 } as never), typeError(/^range: options\.end /));
    await assert.rejects(c.delete(['a'] as never), typeError(/^delete: key .* got an array$/));
    await assert.rejects(c.put('k', 'v', { lease: 1.5 }), typeError(/^put: options\.lease must be an integer/));
    await assert.rejects(c.range('a', { limit: -1 }), typeError(/^range: options\.limit /));
    await assert.rejects(
      c.range('a', { sort: { target: 'size' as never } }),
      typeError(/options\.sort\.target must be one of/),
    );
    await assert.rejects(c.put('k', 'v', 'fast' as never), typeError(/^put: options must be an options object/));
    await assert.rejects(c.put('k', 'v', { timeoutMs: -1 }), typeError(/^put: options\.timeoutMs /));
    await assert.rejects(
      c.put('k', 'v', { signal: {} as never }),
      typeError(/^put: options\.signal must be an AbortSignal/),
    );
    assert.throws(() => c.watch(1 as never), typeError(/^watch: key /));
    assert.throws(() => c.watch('k', { filters: ['noPost' as never] }), typeError(/^watch: options\.filters\[\] /));
    assert.throws(() => c.paginate('a', { pageSize: 0 }), typeError(/^paginate: options\.pageSize /));
    assert.throws(() => c.namespace(7 as never), typeError(/^namespace: prefix /));
    await assert.rejects(c.compact(0), typeError(/^compact: revision must be an integer ≥ 1/));
    // Buffers and Uint8Arrays are fine (the check passes; the call then fails to connect)
    await assert.rejects(
      c.put(Buffer.from('k'), new Uint8Array([1]), { timeoutMs: 50 }),
      (e: unknown) => !(e instanceof TypeError),
    );
  } finally {
    await c.close();
  }
});

test('transaction builders check their arguments where they are called', async () => {
  assert.throws(() => op.put('k', 5 as never), typeError(/^op\.put: value /));
  assert.throws(() => op.get(null as never), typeError(/^op\.get: key /));
  assert.throws(() => op.delete('a', { end: 1 } as never), typeError(/^op\.delete: options\.end /));
  assert.throws(() => cmp.value('k', '=', 3 as never), typeError(/^cmp\.value: value /));
  assert.throws(() => cmp.version('k', '=', 'one' as never), typeError(/^cmp\.version: version /));
  assert.throws(() => cmp.createRevision('k', '=>' as never, 1), typeError(/unknown compare operator "=>"/));
  assert.throws(() => op.txn([{}] as never, []), typeError(/^op\.txn: compare\[\] must be made by cmp\.\*/));
  const c = client();
  try {
    assert.throws(() => c.txn().if({ key: 'k' } as never), typeError(/^txn\.if: condition must be made by cmp\.\*/));
    assert.throws(() => c.txn().then('put' as never), typeError(/^txn\.then: op /));
    await assert.rejects(
      c.txn().commit({ timeoutMs: 'soon' } as never),
      typeError(/^txn\.commit: options\.timeoutMs /),
    );
  } finally {
    await c.close();
  }
});

test('lease TTLs are positive integers; lease IDs are integers', async () => {
  const c = client();
  try {
    await assert.rejects(
      c.lease.grant(1.5),
      typeError(/^lease\.grant: ttl must be a positive integer number of seconds, got number 1\.5$/),
    );
    await assert.rejects(c.lease.grant(0), typeError(/got number 0$/));
    await assert.rejects(c.lease.grant(-5), typeError(/got number -5$/));
    await assert.rejects(c.lease.grant('10' as never), typeError(/got string "10"$/));
    await assert.rejects(c.lease.grant(10, { id: -1 }), typeError(/^lease\.grant: options\.id /));
    await assert.rejects(c.lease.revoke(0), typeError(/^lease\.revoke: id must be an integer ≥ 1/));
    await assert.rejects(c.lease.timeToLive('x' as never), typeError(/^lease\.timeToLive: id /));
    assert.throws(() => c.lease.keepAlive({ id: 1n } as never), typeError(/^lease\.keepAlive: lease must be a Lease/));
    assert.throws(() => c.lease.keepAlive(2.5), typeError(/^lease\.keepAlive: lease must be an integer/));
  } finally {
    await c.close();
  }
});

test('client options and endpoints are checked; comma-joined endpoints are split', async () => {
  assert.throws(() => new Client(undefined as never), typeError(/^Client: options must be an object/));
  assert.throws(() => new Client({} as never), typeError(/^Client: options\.endpoints must be an array/));
  assert.throws(() => new Client({ endpoints: [] }), typeError(/must list at least one endpoint/));
  assert.throws(
    () => new Client({ endpoints: [2379 as never] }),
    typeError(/^Client: options\.endpoints\[\] must be a string/),
  );
  assert.throws(() => new Client({ endpoints: ['localhost'] }), typeError(/"localhost": no port/));
  assert.throws(() => new Client({ endpoints: ['127.0.0.1:99999'] }), typeError(/port "99999" is not 1\.\.65535/));
  assert.throws(
    () => new Client({ endpoints: ['unix:///tmp/etcd.sock'] }),
    typeError(/scheme unix:\/\/ is not supported/),
  );
  assert.throws(() => new Client({ endpoints: ['a b:1'] }), typeError(/contains spaces/));
  assert.throws(() => new Client({ endpoints: ['127.0.0.1:1'], timeoutMs: 0 }), typeError(/options\.timeoutMs/));
  assert.throws(
    () => new Client({ endpoints: ['127.0.0.1:1'], retry: { reads: {} } as never }),
    typeError(/options\.retry/),
  );
  assert.throws(
    () => new Client({ endpoints: ['127.0.0.1:1'], tls: { ca: 5 } as never }),
    typeError(/options\.tls\.ca must be a PEM string or Buffer/),
  );
  assert.throws(() => parseEndpoint('a:1,b:2', false), typeError(/one endpoint per entry/));
  assert.deepEqual(endpointList('127.0.0.1:1, 127.0.0.1:2', 'e'), ['127.0.0.1:1', '127.0.0.1:2']);
  assert.deepEqual(endpointList(['127.0.0.1:1,127.0.0.1:2', 'http://h:3'], 'e'), [
    '127.0.0.1:1',
    '127.0.0.1:2',
    'http://h:3',
  ]);
  assert.deepEqual(parseEndpoint('[::1]:2379', false), { address: '[::1]:2379', secure: false });
  const c = new Client({ endpoints: '127.0.0.1:1,127.0.0.1:2' });
  try {
    assert.deepEqual(c.endpoints, ['127.0.0.1:1', '127.0.0.1:2']);
    assert.throws(() => c.setEndpoints(['nope']), typeError(/"nope": no port/));
    assert.deepEqual(c.endpoints, ['127.0.0.1:1', '127.0.0.1:2'], 'a bad list changes nothing');
  } finally {
    await c.close();
  }
});
