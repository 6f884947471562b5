// HTTP on the client URL, next to gRPC on the same port: /health, /version and /metrics over HTTP/1.1
// and HTTP/2 (cleartext, prior knowledge), and the JSON gateway (POST /v3/...), each answer compared
// with the reference etcd 3.4's answer to the same request (status, content type, body).
//
// etcd 3.4's cleartext listener hands every HTTP/2 connection to gRPC, so it answers HTTP/2 requests
// without a gRPC content type with a protocol error; Conclave serves them (the issue asks for both
// protocols), and its HTTP/2 answers are compared with its own HTTP/1.1 answers.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { RawClient } from '../helpers/grpc.js';
import { http1, http2Request, type HttpAnswer } from '../helpers/http.js';
import { startServer, type ServerProcess } from '../helpers/process.js';
import { freePort } from '../helpers/tmp.js';

let etcd: ServerProcess;
let conclave: ServerProcess;

before(async () => {
  // etcd 3.4's gateway dials its own listen address, so it needs a real port rather than 0.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const flags = ['--max-txn-ops', '2'];
  [etcd, conclave] = await Promise.all([
    startServer('etcd', { args: [...flags, '--listen-client-urls', url, '--advertise-client-urls', url] }),
    startServer('conclave', { args: flags }),
  ]);
});

after(async () => {
  await Promise.all([etcd?.stop(), conclave?.stop()]);
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** What must match: status, content type, allow, body. */
function view(a: HttpAnswer): { status: number; type: unknown; allow: unknown; body: string } {
  return { status: a.status, type: a.headers['content-type'], allow: a.headers['allow'], body: a.body };
}

/** Sends the same HTTP/1.1 request to both servers and asserts the answers match; returns Conclave's. */
async function same(method: string, path: string, body?: string): Promise<HttpAnswer> {
  const opts = body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } };
  const e = await http1(etcd.clientUrl, method, path, opts);
  const c = await http1(conclave.clientUrl, method, path, opts);
  assert.deepEqual(view(c), view(e), `${method} ${path} ${body ?? ''}`);
  return c;
}

describe('/health, /version, /metrics', () => {
  test('/health and /version over HTTP/1.1, as etcd answers them', async () => {
    const h = await same('GET', '/health');
    assert.equal(h.status, 200);
    assert.deepEqual(JSON.parse(h.body), { health: 'true' });
    // /version: Conclave reports etcd 3.5.30, not this 3.4 reference's version (compared with etcd
    // 3.5 in test/conformance/etcd35-grpc.test.ts)
    const v = await http1(conclave.clientUrl, 'GET', '/version');
    assert.equal(v.status, 200);
    assert.deepEqual(JSON.parse(v.body), { etcdserver: '3.5.30', etcdcluster: '3.5.0' });
    await same('GET', '/health?verbose=1');
    await same('GET', '/health/');
    await same('GET', '/nope');
  });

  test('only GET on /health and /version (405 with Allow: GET)', async () => {
    for (const path of ['/health', '/version']) {
      const r = await same('POST', path);
      assert.equal(r.status, 405);
      assert.equal(r.headers['allow'], 'GET');
      await same('PUT', path);
      await same('HEAD', path);
    }
  });

  test('/health with an alarm raised: 503, as etcd answers it', async () => {
    const M = etcdserverpb.MaintenanceService;
    const clients = [new RawClient(etcd.endpoint), new RawClient(conclave.endpoint)];
    const alarm = async (action: etcdserverpb.AlarmRequest_AlarmAction): Promise<void> => {
      for (const c of clients) {
        const memberID = (await c.unary(M.Status, {})).header!.memberId;
        await c.unary(M.Alarm, { action, memberID, alarm: etcdserverpb.AlarmType.NOSPACE });
      }
    };
    try {
      await alarm(etcdserverpb.AlarmRequest_AlarmAction.ACTIVATE);
      const h = await same('GET', '/health');
      assert.equal(h.status, 503);
      assert.equal(h.body, '{"health":"false"}\n');
      const h2 = await http2Request(conclave.clientUrl, 'GET', '/health');
      assert.deepEqual(view(h2), view(h));
    } finally {
      await alarm(etcdserverpb.AlarmRequest_AlarmAction.DEACTIVATE);
      for (const c of clients) c.close();
    }
    assert.equal((await same('GET', '/health')).status, 200);
  });

  test('/health and /version over HTTP/2 cleartext (prior knowledge)', async () => {
    for (const path of ['/health', '/version', '/nope']) {
      const h1 = await http1(conclave.clientUrl, 'GET', path);
      const h2 = await http2Request(conclave.clientUrl, 'GET', path);
      assert.deepEqual(view(h2), view(h1), path);
    }
    const h = await http2Request(conclave.clientUrl, 'GET', '/health');
    assert.deepEqual([h.status, h.body], [200, '{"health":"true"}']);
    const v = await http2Request(conclave.clientUrl, 'GET', '/version');
    assert.deepEqual([v.status, v.body], [200, '{"etcdserver":"3.5.30","etcdcluster":"3.5.0"}']);
  });

  test('/metrics in Prometheus text format with etcd_server_has_leader 1', async () => {
    for (const get of [http1, http2Request]) {
      const m = await get(conclave.clientUrl, 'GET', '/metrics');
      assert.equal(m.status, 200);
      assert.equal(m.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      assert.match(m.body, /^etcd_server_has_leader 1$/m);
      assert.match(m.body, /^# TYPE etcd_server_has_leader gauge$/m);
    }
    const e = await http1(etcd.clientUrl, 'GET', '/metrics');
    assert.equal(e.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(e.body, /^etcd_server_has_leader 1$/m);
  });

  test('gRPC on the same port as HTTP', async () => {
    const c = new RawClient(conclave.endpoint);
    try {
      const s = await c.unary(etcdserverpb.MaintenanceService.Status, {});
      assert.equal(s.version, '3.5.30');
      const h = await http1(conclave.clientUrl, 'GET', '/health');
      assert.equal(h.status, 200);
    } finally {
      c.close();
    }
  });
});

describe('JSON gateway', () => {
  const json = (o: unknown): string => JSON.stringify(o);

  test('KV calls, answered as etcd answers them', async () => {
    await same('POST', '/v3/kv/put', json({ key: b64('foo'), value: b64('bar') }));
    const r = await same('POST', '/v3/kv/range', json({ key: b64('foo') }));
    const got = JSON.parse(r.body) as { kvs: Array<{ key: string; value: string; version: string }>; count: string };
    assert.deepEqual([got.kvs[0]?.key, got.kvs[0]?.value, got.count], [b64('foo'), b64('bar'), '1']);
    await same('POST', '/v3/kv/range', json({ key: b64('missing') }));
    await same('POST', '/v3/kv/put', json({ key: b64('foo'), value: b64('baz'), prev_kv: true, unknown_field: 1 }));
    await same('POST', '/v3/kv/range', json({ key: b64('a'), range_end: b64('z'), keys_only: true }));
    await same('POST', '/v3/kv/range', json({ key: b64('foo'), revision: '2' }));
    await same(
      'POST',
      '/v3/kv/txn',
      json({
        compare: [{ key: b64('foo'), target: 'VALUE', result: 'EQUAL', value: b64('baz') }],
        success: [{ request_put: { key: b64('foo'), value: b64('qux') } }, { request_range: { key: b64('foo') } }],
      }),
    );
    await same('POST', '/v3/kv/deleterange', json({ key: b64('foo'), prev_kv: true }));
    await same('POST', '/v3beta/kv/range', json({ key: b64('foo'), revision: '3' }));
    await same('POST', '/v3/kv/compaction', json({ revision: '3' }));
    // Status: sizes and Raft indexes are the implementation's own; the shape and header are etcd's.
    const opts = { body: '{}' };
    const [e, c] = [
      await http1(etcd.clientUrl, 'POST', '/v3/maintenance/status', opts),
      await http1(conclave.clientUrl, 'POST', '/v3/maintenance/status', opts),
    ];
    const [es, cs] = [JSON.parse(e.body) as Record<string, unknown>, JSON.parse(c.body) as Record<string, unknown>];
    // Conclave also fills the fields etcd 3.6 added (dbSizeQuota, downgradeInfo) and reports 3.5.30
    const only35 = (k: string) => k !== 'dbSizeQuota' && k !== 'downgradeInfo';
    assert.deepEqual(Object.keys(cs).filter(only35), Object.keys(es));
    assert.deepEqual([cs.header, cs.version, cs.leader], [es.header, '3.5.30', es.leader]);
  });

  test('errors in grpc-gateway shape with the mapped HTTP status', async () => {
    const cases: Array<[string, unknown, number, number, string]> = [
      ['/v3/kv/range', { key: '' }, 400, 3, 'etcdserver: key is not provided'],
      ['/v3/kv/put', {}, 400, 3, 'etcdserver: key is not provided'],
      [
        '/v3/kv/range',
        { key: b64('foo'), revision: '999' },
        400,
        11,
        'etcdserver: mvcc: required revision is a future revision',
      ],
      [
        '/v3/kv/range',
        { key: b64('foo'), revision: '2' },
        400,
        11,
        'etcdserver: mvcc: required revision has been compacted',
      ],
      ['/v3/kv/compaction', { revision: '999' }, 400, 11, 'etcdserver: mvcc: required revision is a future revision'],
      [
        '/v3/kv/txn',
        { success: [1, 2, 3].map((i) => ({ request_put: { key: b64(`k${i}`) } })) },
        400,
        3,
        'etcdserver: too many operations in txn request',
      ],
    ];
    for (const [path, body, status, code, message] of cases) {
      const r = await same('POST', path, json(body));
      assert.equal(r.status, status, path);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(r.body), { error: message, message, code });
    }
  });

  test("bodies that are not valid for the request: the same 400 answer as etcd, Go's own wording", async () => {
    // etcd's gateway reads the first JSON value with Go's encoding/json and maps it with jsonpb
    const cases: Array<[string, string]> = [
      // syntax
      ['/v3/kv/put', '{bad'],
      ['/v3/kv/put', '{"key": "a"'],
      ['/v3/kv/put', 'nul'],
      ['/v3/kv/put', '{"key":"YQ==",}'],
      ['/v3/kv/put', '{"key":"YQ==" "x"}'],
      ['/v3/kv/put', '{"key" "x"}'],
      ['/v3/kv/put', '{"key":tru}'],
      ['/v3/kv/put', '{"key":-}'],
      ['/v3/kv/put', '{"key":1.}'],
      ['/v3/kv/put', '{"key":1e}'],
      ['/v3/kv/put', '{"key":01}'],
      ['/v3/kv/put', '{"key":"\\q"}'],
      ['/v3/kv/put', '{"key":"\\u12"}'],
      ['/v3/kv/put', "{'key':1}"],
      ['/v3/kv/put', '{"key":[1,2}'],
      ['/v3/kv/put', '{\u0001}'],
      ['/v3/kv/put', '{\u00e9}'],
      ['/v3/kv/put', '{\u007f}'],
      ['/v3/kv/put', '{"key":"a\tb"}'],
      // only the first value counts; whitespace alone is an empty request
      ['/v3/kv/put', '{"key":"YQ=="} trailing'],
      ['/v3/kv/put', '   '],
      ['/v3/kv/put', '5x'],
      // types
      ['/v3/kv/put', '[1]'],
      ['/v3/kv/put', '"x"'],
      ['/v3/kv/put', 'null'],
      ['/v3/kv/put', '{"key": 5}'],
      ['/v3/kv/put', '{"key":[300]}'],
      ['/v3/kv/put', '{"key":["a"]}'],
      ['/v3/kv/put', '{"key":"YQ==","value":"!!"}'],
      ['/v3/kv/put', '{"key":"YQ==","lease":"x"}'],
      ['/v3/kv/put', '{"key":"YQ==","lease":""}'],
      ['/v3/kv/put', '{"key":"YQ==","lease":1.5}'],
      ['/v3/kv/put', '{"key":"YQ==","lease":"1.5"}'],
      ['/v3/kv/put', '{"key":"YQ==","lease":true}'],
      ['/v3/kv/put', '{"key":"YQ==","lease":{}}'],
      ['/v3/kv/put', '{"key":"YQ==","lease":1e3}'],
      ['/v3/kv/put', '{"key":"YQ==","lease":99999999999999999999}'],
      ['/v3/kv/put', '{"key":"YQ==","prev_kv":"true"}'],
      ['/v3/kv/put', '{"key":"YQ==","prev_kv":1}'],
      ['/v3/kv/range', '{"key":"YQ==","sort_order":"BOGUS"}'],
      ['/v3/kv/range', '{"key":"YQ==","sort_order":"1"}'],
      ['/v3/kv/range', '{"key":"YQ==","sort_order":1.5}'],
      ['/v3/kv/range', '{"key":"YQ==","sort_order":true}'],
      ['/v3/kv/range', '{"key":"YQ==","limit":"0x10"}'],
      ['/v3/kv/range', '{"key":"YQ==","limit":"3 4"}'],
      ['/v3/kv/txn', '{"compare":5}'],
      ['/v3/kv/txn', '{"compare":[5]}'],
      ['/v3/kv/txn', '{"success":[{"request_put":"x"}]}'],
      ['/v3/kv/txn', '{"compare":[{"key":"YQ==","target":"NOPE"}]}'],
      ['/v3/lease/grant', '{"TTL":"abc"}'],
      ['/v3/lease/grant', '{"TTL":"5","ID":"x"}'],
      ['/v3/auth/user/add', '{"name":5}'],
      ['/v3/cluster/member/add', '{"peerURLs":"x"}'],
      ['/v3/cluster/member/add', '{"peerURLs":[1]}'],
      ['/v3/maintenance/alarm', '{"action":"BOGUS"}'],
    ];
    for (const [path, body] of cases) {
      const r = await same('POST', path, body);
      assert.equal(r.status, body.endsWith('trailing') ? 200 : 400, `${path} ${body}`);
    }
    // the error names the offending byte as Go does, also outside ASCII (not as the decoded text)
    const raw = Buffer.from([0x7b, 0xc3, 0xa9, 0x7d]);
    const opts = { body: raw, headers: { 'content-type': 'application/json' } };
    const [e, c] = [
      await http1(etcd.clientUrl, 'POST', '/v3/kv/put', opts),
      await http1(conclave.clientUrl, 'POST', '/v3/kv/put', opts),
    ];
    assert.deepEqual(view(c), view(e));
    assert.match(c.body, /invalid character 'Ã' looking for beginning of object key string/);
  });

  test('wrong method, unknown paths', async () => {
    const get = await same('GET', '/v3/kv/range');
    assert.equal(get.status, 405);
    await same('PUT', '/v3/kv/put', '{}');
    assert.equal((await same('POST', '/v3/kv/bogus', '{}')).status, 404);
    assert.equal((await same('POST', '/v3/bogus', '{}')).status, 404);
    assert.equal((await same('POST', '/v3/kv/range/', '{}')).status, 404);
    assert.equal((await same('POST', '/v4/kv/range', '{}')).status, 404);
  });

  test('the gateway over HTTP/2 cleartext answers as over HTTP/1.1', async () => {
    const body = json({ key: b64('h2'), value: b64('yes') });
    const put = await http2Request(conclave.clientUrl, 'POST', '/v3/kv/put', { body });
    assert.equal(put.status, 200);
    const range = json({ key: b64('h2') });
    const h1 = await http1(conclave.clientUrl, 'POST', '/v3/kv/range', { body: range });
    const h2 = await http2Request(conclave.clientUrl, 'POST', '/v3/kv/range', { body: range });
    assert.deepEqual(view(h2), view(h1));
    assert.equal((JSON.parse(h2.body) as { kvs: Array<{ value: string }> }).kvs[0]?.value, b64('yes'));
    const bad = await http2Request(conclave.clientUrl, 'POST', '/v3/kv/range', { body: json({ key: '' }) });
    assert.deepEqual(
      [bad.status, JSON.parse(bad.body)],
      [400, { error: 'etcdserver: key is not provided', message: 'etcdserver: key is not provided', code: 3 }],
    );
    const wrong = await http2Request(conclave.clientUrl, 'GET', '/v3/kv/range');
    assert.equal(wrong.status, 405);
  });
});
