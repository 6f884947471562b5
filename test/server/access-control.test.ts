// etcd's access controller on the client URLs' HTTP endpoints, against etcd 3.4 and 3.5:
// --cors (the CORS headers on every answer, OPTIONS answered alone), --host-whitelist (a plain-HTTP
// request naming another host gets 421 with etcd's DNS-rebinding text), /v3beta/ served as /v3/,
// and --enable-grpc-gateway=false (no /v3/ paths: Go's 404). Each answer is compared with etcd's.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { http1, type HttpAnswer } from '../helpers/http.js';
import { startServer, type ServerKind, type ServerProcess } from '../helpers/process.js';
import { freePort, retryOnPortClash, waitFor } from '../helpers/tmp.js';

const KINDS: ServerKind[] = ['etcd', 'etcd35', 'conclave'];
const servers: ServerProcess[] = [];
const RANGE = JSON.stringify({ key: Buffer.from('a').toString('base64') });

after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** Starts the three; etcd's gateway dials its own listen address, so each gets a real port, not 0. */
async function startAll(args: string[]): Promise<ServerProcess[]> {
  const started = await Promise.all(
    KINDS.map((k) =>
      retryOnPortClash(async () => {
        const url = `http://127.0.0.1:${await freePort()}`;
        return startServer(k, { args: [...args, '--listen-client-urls', url, '--advertise-client-urls', url] });
      }),
    ),
  );
  servers.push(...started);
  return started;
}

const CORS = ['access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers'];

/** What must match etcd: status, body (JSON bodies only by shape) and the CORS headers. */
function shape(a: HttpAnswer, jsonBody = false): unknown {
  const headers = Object.fromEntries(CORS.map((h) => [h, a.headers[h]]));
  const body = jsonBody && a.status === 200 ? Object.keys(JSON.parse(a.body)).sort() : a.body;
  return { status: a.status, body, headers, type: a.status === 421 ? a.headers['content-type'] : undefined };
}

async function sameAsEtcd(
  all: ServerProcess[],
  what: string,
  ask: (s: ServerProcess) => Promise<HttpAnswer>,
  jsonBody = false,
): Promise<HttpAnswer> {
  const answers = await Promise.all(all.map(ask));
  const [e34, e35, c] = answers.map((a) => shape(a, jsonBody));
  assert.deepEqual(c, e34, `${what}: etcd 3.4 vs Conclave`);
  assert.deepEqual(c, e35, `${what}: etcd 3.5 vs Conclave`);
  return answers[2]!;
}

describe('client HTTP access control', () => {
  test('defaults: every origin gets CORS headers, OPTIONS is answered alone, /v3beta/ is /v3/', async () => {
    const all = await startAll([]);
    const v = await sameAsEtcd(
      all,
      'GET /version',
      (s) => http1(s.clientUrl, 'GET', '/version', { headers: { origin: 'http://x.example' } }),
      true,
    );
    assert.equal(v.headers['access-control-allow-origin'], '*');
    const o = await sameAsEtcd(all, 'OPTIONS /v3/kv/range', (s) => http1(s.clientUrl, 'OPTIONS', '/v3/kv/range'));
    assert.deepEqual([o.status, o.body], [200, '']);
    const beta = await sameAsEtcd(all, 'POST /v3beta/kv/range', async (s) => {
      const a = await http1(s.clientUrl, 'POST', '/v3beta/kv/range', { body: RANGE });
      return { ...a, body: String(a.status === 200 && 'header' in JSON.parse(a.body)) };
    });
    assert.equal(beta.body, 'true');
  });

  test('--cors lists origins; --host-whitelist refuses other hosts over plain HTTP with 421', async () => {
    const all = await startAll(['--cors', 'http://ok.example:8080', '--host-whitelist', 'localhost,good.example']);
    /** GET /version from `origin` to `host`: the same answer from all three. */
    const version = (what: string, origin: string, host: string) =>
      sameAsEtcd(all, what, (s) => http1(s.clientUrl, 'GET', '/version', { headers: { origin, host } }), true);
    const allowed = await version('listed origin', 'http://ok.example:8080', 'localhost');
    assert.equal(allowed.headers['access-control-allow-origin'], 'http://ok.example:8080');
    const other = await version('other origin', 'http://no.example', 'good.example:2379');
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    const refused = await sameAsEtcd(all, 'unlisted host', (s) =>
      http1(s.clientUrl, 'POST', '/v3/kv/range', { body: RANGE, headers: { host: 'evil.example:2379' } }),
    );
    assert.equal(refused.status, 421);
    assert.match(refused.body, /etcd --host-whitelist "evil\.example"/);
    const c = all[2]!;
    const warned = /"msg":"rejecting HTTP request to prevent DNS rebinding attacks","host":"evil.example"/;
    await waitFor('the DNS rebinding warning', () => (warned.test(c.log()) ? true : undefined));
  });

  test('--enable-grpc-gateway=false: /v3/ is not served, /version still is', async () => {
    const all = await startAll(['--enable-grpc-gateway=false']);
    const r = await sameAsEtcd(all, 'POST /v3/kv/range', (s) =>
      http1(s.clientUrl, 'POST', '/v3/kv/range', { body: RANGE }),
    );
    assert.deepEqual([r.status, r.body], [404, '404 page not found\n']);
    await sameAsEtcd(all, 'GET /version', (s) => http1(s.clientUrl, 'GET', '/version'), true);
  });
});
