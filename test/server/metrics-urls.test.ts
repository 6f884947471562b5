// --listen-metrics-urls: etcd 3.4 and Conclave serve /metrics and /health on the extra URL, and
// nothing else there (Go's "404 page not found"); an https metrics URL uses the client certificate.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { http1, http2Request } from '../helpers/http.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { startServer, type ServerKind, type ServerProcess } from '../helpers/process.js';
import { freePort, retryOnPortClash, tempDir } from '../helpers/tmp.js';

const dir = tempDir('conclave-metrics-urls');
const servers: ServerProcess[] = [];
let pki: TestPki;

before(() => {
  pki = makeTestPki(dir.path);
});
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  dir.cleanup();
});

async function withMetricsUrl(kind: ServerKind, scheme: 'http' | 'https', extra: string[] = []) {
  return retryOnPortClash(async () => {
    const url = `${scheme}://127.0.0.1:${await freePort()}`;
    const s = await startServer(kind, { args: ['--listen-metrics-urls', url, ...extra] });
    servers.push(s);
    return { s, url };
  });
}

describe('--listen-metrics-urls', () => {
  test('etcd and Conclave: /metrics and /health there, 404 for everything else', async () => {
    for (const kind of ['etcd', 'conclave'] as const) {
      const { s, url } = await withMetricsUrl(kind, 'http');
      assert.match(s.log(), new RegExp(`"msg":"serving metrics","address":"${url}"`), kind);
      const m = await http1(url, 'GET', '/metrics');
      assert.equal(m.status, 200, kind);
      assert.match(m.body, /^etcd_server_has_leader 1$/m, kind);
      const h = await http1(url, 'GET', '/health');
      assert.deepEqual([h.status, h.body], [200, '{"health":"true"}'], kind);
      for (const path of ['/version', '/v3/kv/range', '/']) {
        const r = await http1(url, 'POST', path, { body: '{}' });
        assert.deepEqual([r.status, r.body], [404, '404 page not found\n'], `${kind} ${path}`);
      }
    }
  });

  test('an https metrics URL serves with the client certificate (HTTP/1.1 and HTTP/2)', async () => {
    const { url } = await withMetricsUrl('conclave', 'https', [
      '--cert-file',
      pki.serverCert,
      '--key-file',
      pki.serverKey,
    ]);
    const tls = { ca: readFileSync(pki.ca) };
    for (const get of [http1, http2Request]) {
      const h = await get(url, 'GET', '/health', { tls });
      assert.deepEqual([h.status, h.body], [200, '{"health":"true"}']);
    }
  });
});
