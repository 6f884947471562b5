// Bad input gets etcd's answer and the server keeps serving: the same raw gRPC requests go to the
// reference etcd 3.4 and to Conclave (both started with the same flags and driven to the same state),
// and must fail with the same gRPC status code and message; after each one a normal put/get works.
// Also the binary's answers to unknown and unsupported command-line flags.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { etcdserverpb, GrpcCode, type PartialMessage } from '@conclave/api';
import { callError, RawClient, type CallError } from '../helpers/grpc.js';
import { conclaveBin, startServer, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';

const KV = etcdserverpb.KVService;
const MAINT = etcdserverpb.MaintenanceService;
const b = (s: string): Buffer => Buffer.from(s);
const FLAGS = ['--max-request-bytes', '1024', '--max-txn-ops', '4'];
/** --max-request-bytes + 512 KiB: grpc's receive limit. */
const GRPC_LIMIT = 1024 + 512 * 1024;

let etcd: ServerProcess;
let conclave: ServerProcess;
let ec: RawClient;
let cc: RawClient;
let probes = 0;

before(async () => {
  [etcd, conclave] = await Promise.all([
    startServer('etcd', { args: FLAGS }),
    startServer('conclave', { args: FLAGS }),
  ]);
  ec = new RawClient(etcd.endpoint);
  cc = new RawClient(conclave.endpoint);
  // The same state on both: "a" at revisions 2, 3, 4; compacted at 3.
  for (const c of [ec, cc]) {
    for (const v of ['1', '2', '3']) await c.put('a', v);
    await c.unary(KV.Compact, { revision: 3 });
  }
});

after(async () => {
  ec?.close();
  cc?.close();
  await Promise.all([etcd?.stop(), conclave?.stop()]);
});

/** A normal put and get on Conclave still work. */
async function stillServes(): Promise<void> {
  const key = `probe/${++probes}`;
  const put = await cc.put(key, 'ok');
  const got = await cc.get(key);
  assert.ok(got, `${key} missing`);
  assert.equal(Buffer.from(got.value).toString(), 'ok');
  assert.equal(got.modRevision, put.header!.revision);
}

/** The request fails on both servers with the same status; returns Conclave's error. */
async function sameError(
  call: (c: RawClient) => Promise<unknown>,
  want: { code: number; message: string | RegExp },
): Promise<CallError> {
  const [e, c] = [await callError(() => call(ec)), await callError(() => call(cc))];
  assert.equal(c.code, e.code, `status code: etcd says ${e.message}, Conclave says ${c.message}`);
  assert.equal(c.details, e.details);
  assert.equal(c.code, want.code);
  if (typeof want.message === 'string') assert.equal(c.details, want.message);
  else assert.match(c.details, want.message);
  await stillServes();
  return c;
}

const err = (code: number, message: string | RegExp) => ({ code, message });
const EMPTY_KEY = err(GrpcCode.INVALID_ARGUMENT, 'etcdserver: key is not provided');
const TOO_LARGE = err(GrpcCode.INVALID_ARGUMENT, 'etcdserver: request is too large');
const TOO_MANY_OPS = err(GrpcCode.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request');
const DUPLICATE = err(GrpcCode.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request');
const FUTURE = err(GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision');
const COMPACTED = err(GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted');
const FAR = 1_000_000;

const puts = (n: number, value = ''): PartialMessage<etcdserverpb.RequestOp>[] =>
  Array.from({ length: n }, (_, i) => ({ requestPut: { key: b(`t${i}`), value: b(value) } }));

describe('bad requests: etcd 3.4 and Conclave answer alike', () => {
  test('empty key', async () => {
    await sameError((c) => c.unary(KV.Put, { key: b(''), value: b('v') }), EMPTY_KEY);
    await sameError((c) => c.unary(KV.Range, { key: b('') }), EMPTY_KEY);
    await sameError((c) => c.unary(KV.DeleteRange, { key: b('') }), EMPTY_KEY);
    await sameError(
      (c) => c.unary(KV.Txn, { compare: [{ key: b(''), target: etcdserverpb.Compare_CompareTarget.VERSION }] }),
      EMPTY_KEY,
    );
    await sameError((c) => c.unary(KV.Txn, { success: [{ requestPut: { key: b('') } }] }), EMPTY_KEY);
    await sameError((c) => c.unary(KV.Txn, { failure: [{ requestRange: { key: b('') } }] }), EMPTY_KEY);
  });

  test('request larger than --max-request-bytes', async () => {
    await sameError((c) => c.put('big', Buffer.alloc(2000)), TOO_LARGE);
    await sameError(
      (c) => c.unary(KV.Txn, { success: [{ requestPut: { key: b('big'), value: Buffer.alloc(2000) } }] }),
      TOO_LARGE,
    );
    await sameError((c) => c.unary(KV.DeleteRange, { key: Buffer.alloc(2000, 'k') }), TOO_LARGE);
    // Below the limit both accept it.
    for (const c of [ec, cc]) await c.put('medium', Buffer.alloc(900));
  });

  test('message beyond the gRPC receive limit (--max-request-bytes + 512 KiB)', async () => {
    const value = Buffer.alloc(600 * 1024);
    const size = 2 + 3 + 1 + 3 + value.length; // key field, value field with a 3-byte length
    await sameError(
      (c) => c.put('big', value),
      err(GrpcCode.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${size} vs. ${GRPC_LIMIT})`),
    );
    // One byte over the limit fails, the largest message under it gets to the size check.
    await sameError(
      (c) => c.put('big', Buffer.alloc(GRPC_LIMIT - 8)),
      err(GrpcCode.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${GRPC_LIMIT + 1} vs. ${GRPC_LIMIT})`),
    );
    await sameError((c) => c.put('big', Buffer.alloc(GRPC_LIMIT - 9)), TOO_LARGE);
  });

  test('too many operations in a txn (--max-txn-ops 4)', async () => {
    await sameError((c) => c.unary(KV.Txn, { success: puts(5) }), TOO_MANY_OPS);
    await sameError((c) => c.unary(KV.Txn, { failure: puts(5) }), TOO_MANY_OPS);
    await sameError((c) => c.unary(KV.Txn, { compare: puts(5).map((_, i) => ({ key: b(`t${i}`) })) }), TOO_MANY_OPS);
    await sameError((c) => c.unary(KV.Txn, { success: [{ requestTxn: { success: puts(5) } }] }), TOO_MANY_OPS);
    // A nested txn may use only what its parent leaves: 4 - 2 = 2 ops here.
    const nested = (n: number) => puts(n).map((op) => ({ requestPut: { key: b(`n/${op.requestPut!.key}`) } }));
    await sameError(
      (c) => c.unary(KV.Txn, { success: [...puts(1), { requestTxn: { success: nested(3) } }] }),
      TOO_MANY_OPS,
    );
    for (const c of [ec, cc]) await c.unary(KV.Txn, { success: [...puts(1), { requestTxn: { failure: nested(2) } }] });
    // Exactly the limit is fine on both.
    for (const c of [ec, cc]) await c.unary(KV.Txn, { success: puts(4, 'x') });
  });

  test('a txn op that carries no request (etcd: "key not found"; the JSON gateway case of TestV3CurlTxn)', async () => {
    const KEY_NOT_FOUND = err(GrpcCode.INVALID_ARGUMENT, 'etcdserver: key not found');
    await sameError((c) => c.unary(KV.Txn, { success: [{}] }), KEY_NOT_FOUND);
    await sameError((c) => c.unary(KV.Txn, { failure: [...puts(1), {}] }), KEY_NOT_FOUND);
    await sameError((c) => c.unary(KV.Txn, { success: [{ requestTxn: { failure: [{}] } }] }), KEY_NOT_FOUND);
    // etcd's e2e body: field names the gateway does not know leave the op empty. (etcd's own gateway
    // dials its listen address, 127.0.0.1:0 here, so its answer was taken from etcd 3.4.23 on a fixed port.)
    const body =
      '{"compare":[{"result":0,"target":1,"key":"Zm9v","TargetUnion":null}],"success":[{"Request":{"RequestPut":{"key":"Zm9v","value":"YmFy"}}}]}';
    const r = await fetch(`${conclave.clientUrl}/v3/kv/txn`, { method: 'POST', body });
    assert.deepEqual(
      [r.status, await r.text()],
      [400, '{"error":"etcdserver: key not found","message":"etcdserver: key not found","code":3}'],
    );
  });

  test('duplicate keys in a txn', async () => {
    await sameError(
      (c) => c.unary(KV.Txn, { success: [{ requestPut: { key: b('d') } }, { requestPut: { key: b('d') } }] }),
      DUPLICATE,
    );
    await sameError(
      (c) =>
        c.unary(KV.Txn, {
          success: [{ requestPut: { key: b('b') } }, { requestDeleteRange: { key: b('a'), rangeEnd: b('c') } }],
        }),
      DUPLICATE,
    );
  });

  test('future revisions', async () => {
    await sameError((c) => c.unary(KV.Range, { key: b('a'), revision: FAR }), FUTURE);
    await sameError((c) => c.unary(KV.Txn, { success: [{ requestRange: { key: b('a'), revision: FAR } }] }), FUTURE);
    await sameError((c) => c.unary(KV.Compact, { revision: FAR }), FUTURE);
    await sameError((c) => c.unary(MAINT.HashKV, { revision: FAR }), FUTURE);
  });

  test('compacted revisions', async () => {
    await sameError((c) => c.unary(KV.Range, { key: b('a'), revision: 2 }), COMPACTED);
    await sameError((c) => c.unary(KV.Txn, { success: [{ requestRange: { key: b('a'), revision: 2 } }] }), COMPACTED);
    await sameError((c) => c.unary(KV.Compact, { revision: 3 }), COMPACTED);
    await sameError((c) => c.unary(KV.Compact, { revision: 2 }), COMPACTED);
    await sameError((c) => c.unary(MAINT.HashKV, { revision: 2 }), COMPACTED);
    // Exactly at the compacted revision is still readable, on both.
    for (const c of [ec, cc]) {
      const at = await c.get('a', 3);
      assert.equal(at && Buffer.from(at.value).toString(), '2');
    }
  });

  test('ignore_value / ignore_lease / lease conflicts', async () => {
    await sameError(
      (c) => c.unary(KV.Put, { key: b('missing'), ignoreValue: true }),
      err(GrpcCode.INVALID_ARGUMENT, 'etcdserver: key not found'),
    );
    await sameError(
      (c) => c.unary(KV.Put, { key: b('a'), value: b('x'), ignoreValue: true }),
      err(GrpcCode.INVALID_ARGUMENT, 'etcdserver: value is provided'),
    );
    await sameError(
      (c) => c.unary(KV.Put, { key: b('a'), lease: 5, ignoreLease: true }),
      err(GrpcCode.INVALID_ARGUMENT, 'etcdserver: lease is provided'),
    );
    await sameError(
      (c) => c.unary(KV.Put, { key: b('a'), value: b('x'), lease: 5 }),
      err(GrpcCode.NOT_FOUND, 'etcdserver: requested lease not found'),
    );
  });

  test('unknown gRPC method and service', async () => {
    const call = (path: string) => (c: RawClient) =>
      c.call(path, etcdserverpb.RangeRequest, etcdserverpb.RangeResponse, { key: b('a') });
    await sameError(
      call('/etcdserverpb.KV/Bogus'),
      err(GrpcCode.UNIMPLEMENTED, 'unknown method Bogus for service etcdserverpb.KV'),
    );
    await sameError(
      call('/etcdserverpb.Bogus/Range'),
      err(GrpcCode.UNIMPLEMENTED, 'unknown service etcdserverpb.Bogus'),
    );
  });

  test('malformed protobuf', async () => {
    // Field 1 (key) claims 100 bytes, 2 follow.
    const body = Buffer.from([0x0a, 100, 0x61, 0x62]);
    const [e, c] = [
      await callError(() => ec.callBytes(KV.Range.path, body)),
      await callError(() => cc.callBytes(KV.Range.path, body)),
    ];
    // The decoder's own words differ (Go's "unexpected EOF"); the status and its prefix are grpc's.
    assert.equal(e.code, GrpcCode.INTERNAL);
    assert.equal(c.code, GrpcCode.INTERNAL);
    assert.match(e.details, /^grpc: error unmarshalling request: /);
    assert.match(c.details, /^grpc: error unmarshalling request: /);
    await stillServes();
  });
});

describe('bad requests where Conclave follows etcd 3.5', () => {
  // etcd 3.4 panics on an unknown sort target and ignores an unknown sort order; etcd 3.5 (and Conclave)
  // refuse both with "invalid sort option".
  const INVALID_SORT = { code: GrpcCode.INVALID_ARGUMENT, details: 'etcdserver: invalid sort option' };

  test('invalid sort target', async () => {
    const e = await callError(() =>
      cc.unary(KV.Range, { key: b('a'), sortTarget: 9 as etcdserverpb.RangeRequest_SortTarget }),
    );
    assert.deepEqual({ code: e.code, details: e.details }, INVALID_SORT);
    const t = await callError(() =>
      cc.unary(KV.Txn, {
        success: [{ requestRange: { key: b('a'), sortTarget: 7 as etcdserverpb.RangeRequest_SortTarget } }],
      }),
    );
    assert.deepEqual({ code: t.code, details: t.details }, INVALID_SORT);
    await stillServes();
  });

  test('invalid sort order', async () => {
    const e = await callError(() =>
      cc.unary(KV.Range, { key: b('a'), sortOrder: 3 as etcdserverpb.RangeRequest_SortOrder }),
    );
    assert.deepEqual({ code: e.code, details: e.details }, INVALID_SORT);
    await stillServes();
  });
});

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('command-line flags', () => {
  const dir = tempDir('conclave-flags');
  after(() => dir.cleanup());
  const conclaveRun = (args: string[]) => run(process.execPath, [conclaveBin, ...args], dir.path);

  for (const args of [['--bogus'], ['-bogus=1'], ['--max-txn-ops=abc'], ['--max-txn-ops']]) {
    test(`${args.join(' ')}: etcd's exit code and message`, async () => {
      const [e, c] = await Promise.all([run('etcd', args, dir.path), conclaveRun(args)]);
      assert.equal(e.code, 2);
      assert.equal(c.code, e.code);
      assert.equal(c.stderr.split('\n')[0], e.stderr.split('\n')[0]);
      assert.equal(c.stdout, '');
      assert.match(c.stderr, /\nUsage:\n/);
    });
  }

  test('the unknown flag is named as etcd names it', async () => {
    const c = await conclaveRun(['--bogus']);
    assert.equal(c.stderr.split('\n')[0], 'flag provided but not defined: -bogus');
  });

  test('an unknown --cipher-suites name stops the start with etcd exit code and error', async () => {
    const args = (d: string) => [
      '--logger=zap',
      `--data-dir=${dir.path}/${d}`,
      '--cipher-suites=TLS_RSA_WITH_AES_128_GCM_SHA256,TLS_FOO',
    ];
    const [e, c] = await Promise.all([run('etcd', args('e'), dir.path), conclaveRun(args('c'))]);
    assert.equal(e.code, 1);
    assert.equal(c.code, e.code);
    const failure = /"msg":"failed to start etcd","error":"unexpected TLS cipher suite \\"TLS_FOO\\""/;
    assert.match(e.stderr, failure);
    assert.match(c.stderr, failure);
    assert.match(
      c.stderr,
      /"level":"fatal",.*"msg":"discovery failed","error":"unexpected TLS cipher suite \\"TLS_FOO\\""/,
    );
  });

  test('a flag Conclave does not implement, with a non-default value, is refused', async () => {
    const c = await conclaveRun(['--discovery=http://x', `--data-dir=${dir.path}/d`]);
    assert.equal(c.code, 2);
    assert.equal(c.stderr, 'conclave: flag --discovery is not supported yet\n');
    assert.equal(c.stdout, '');
  });
});
