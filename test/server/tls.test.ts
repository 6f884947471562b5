// TLS on the client URL: a server certificate from a test CA (--cert-file/--key-file), client-certificate
// authentication (--client-cert-auth --trusted-ca-file), and --auto-tls's self-signed certificate, with
// gRPC (etcdctl, grpc-js) and HTTP/1.1 + HTTP/2 (ALPN) on the same https URL.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { GrpcCode } from '@conclave/api';
import { generateSelfSignedCertificate } from '../../packages/server/src/tls/index.js';
import { etcdctl } from '../helpers/etcdctl.js';
import { callError, RawClient } from '../helpers/grpc.js';
import { http1, http2Request } from '../helpers/http.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { startServer, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('conclave-tls');
let pki: TestPki;
const servers: ServerProcess[] = [];

before(() => {
  pki = makeTestPki(dir.path);
});

after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  dir.cleanup();
});

async function startTls(name: string, flags: string[]): Promise<{ srv: ServerProcess; url: string }> {
  const srv = await startServer('conclave', {
    dataDir: join(dir.path, `${name}.etcd`),
    args: ['--listen-client-urls', 'https://127.0.0.1:0', '--advertise-client-urls', 'https://127.0.0.1:0', ...flags],
  });
  servers.push(srv);
  assert.match(srv.log(), /"msg":"serving client traffic securely"/);
  return { srv, url: `https://${srv.endpoint}` };
}

const read = (f: string): Buffer => readFileSync(f);
/** grpc-js over TLS, verifying the certificate for "localhost" (also in its SANs): a TLS server name may not be an IP. */
const tlsClient = (endpoint: string, credentials: grpc.ChannelCredentials): RawClient =>
  new RawClient(endpoint, { credentials, channel: { 'grpc.ssl_target_name_override': 'localhost' } });

describe('server certificate (--cert-file, --key-file)', () => {
  let url: string;
  let endpoint: string;
  before(async () => {
    const s = await startTls('cert', ['--cert-file', pki.serverCert, '--key-file', pki.serverKey]);
    url = s.url;
    endpoint = s.srv.endpoint;
  });

  test('etcdctl --cacert puts and gets', async () => {
    const put = await etcdctl(url, ['--cacert', pki.ca, 'put', 'tls-key', 'tls-value']);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stdout, 'OK\n');
    const get = await etcdctl(url, ['--cacert', pki.ca, 'get', 'tls-key']);
    assert.equal(get.stdout, 'tls-key\ntls-value\n');
  });

  test('grpc-js with the CA; an untrusting client is refused', async () => {
    const c = tlsClient(endpoint, grpc.credentials.createSsl(read(pki.ca)));
    try {
      assert.equal((await c.put('g', 'v')).header!.revision > 0n, true);
    } finally {
      c.close();
    }
    const untrusting = tlsClient(endpoint, grpc.credentials.createSsl());
    try {
      const e = await callError(() => untrusting.put('g', 'v', { timeoutMs: 1500 }));
      assert.ok(e.code === GrpcCode.UNAVAILABLE || e.code === GrpcCode.DEADLINE_EXCEEDED, e.message);
    } finally {
      untrusting.close();
    }
  });

  test('HTTPS /health and /version over HTTP/1.1 and HTTP/2 (ALPN)', async () => {
    for (const get of [http1, http2Request]) {
      const h = await get(url, 'GET', '/health', { tls: { ca: read(pki.ca) } });
      assert.deepEqual([h.status, h.body], [200, '{"health":"true"}']);
      const v = await get(url, 'GET', '/version', { tls: { ca: read(pki.ca) } });
      assert.deepEqual([v.status, v.body], [200, '{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}']);
    }
    await assert.rejects(http1(url, 'GET', '/health'), /certificate/);
  });

  test('the JSON gateway over HTTPS', async () => {
    const body = JSON.stringify({ key: Buffer.from('tls-key').toString('base64') });
    const r = await http1(url, 'POST', '/v3/kv/range', { body, tls: { ca: read(pki.ca) } });
    assert.equal(r.status, 200);
    const kv = (JSON.parse(r.body) as { kvs: Array<{ value: string }> }).kvs[0];
    assert.equal(Buffer.from(kv!.value, 'base64').toString(), 'tls-value');
  });
});

describe('client-certificate authentication (--client-cert-auth --trusted-ca-file)', () => {
  let url: string;
  let endpoint: string;
  before(async () => {
    const s = await startTls('mtls', [
      '--cert-file',
      pki.serverCert,
      '--key-file',
      pki.serverKey,
      '--client-cert-auth',
      '--trusted-ca-file',
      pki.ca,
    ]);
    url = s.url;
    endpoint = s.srv.endpoint;
  });

  test('with a client certificate from the CA: etcdctl, grpc-js and HTTPS work', async () => {
    const put = await etcdctl(url, [
      '--cacert',
      pki.ca,
      '--cert',
      pki.clientCert,
      '--key',
      pki.clientKey,
      'put',
      'm',
      'v',
    ]);
    assert.equal(put.code, 0, put.stderr);
    const c = tlsClient(endpoint, grpc.credentials.createSsl(read(pki.ca), read(pki.clientKey), read(pki.clientCert)));
    try {
      const kv = await c.get('m');
      assert.equal(kv && Buffer.from(kv.value).toString(), 'v');
    } finally {
      c.close();
    }
    const tls = { ca: read(pki.ca), cert: read(pki.clientCert), key: read(pki.clientKey) };
    for (const get of [http1, http2Request]) {
      const h = await get(url, 'GET', '/health', { tls });
      assert.deepEqual([h.status, h.body], [200, '{"health":"true"}']);
    }
  });

  test('without a client certificate, or with one from another issuer, the handshake fails', async () => {
    const noCert = tlsClient(endpoint, grpc.credentials.createSsl(read(pki.ca)));
    try {
      const e = await callError(() => noCert.put('x', 'y', { timeoutMs: 1500 }));
      assert.ok(e.code === GrpcCode.UNAVAILABLE || e.code === GrpcCode.DEADLINE_EXCEEDED, e.message);
    } finally {
      noCert.close();
    }
    await assert.rejects(http1(url, 'GET', '/health', { tls: { ca: read(pki.ca) } }));
    await assert.rejects(http2Request(url, 'GET', '/health', { tls: { ca: read(pki.ca) } }));
    // A self-signed client certificate (the project's own generator) is not from the trusted CA.
    const rogue = generateSelfSignedCertificate({
      hosts: [],
      curve: 'P-256',
      commonName: 'client',
      extKeyUsage: ['clientAuth'],
    });
    await assert.rejects(
      http1(url, 'GET', '/health', { tls: { ca: read(pki.ca), cert: rogue.certPem, key: rogue.keyPem } }),
    );
    // The server is still fine.
    const h = await http1(url, 'GET', '/health', {
      tls: { ca: read(pki.ca), cert: read(pki.clientCert), key: read(pki.clientKey) },
    });
    assert.equal(h.status, 200);
  });
});

describe('--auto-tls', () => {
  test('a self-signed certificate in <data-dir>/fixtures/client, reused on restart', async () => {
    const { srv, url } = await startTls('auto', ['--auto-tls']);
    const put = await etcdctl(url, ['--insecure-transport=false', '--insecure-skip-tls-verify', 'put', 'auto', 'tls']);
    assert.equal(put.code, 0, put.stderr);
    const fixtures = join(srv.dataDir, 'fixtures', 'client');
    const cert = readFileSync(join(fixtures, 'cert.pem'), 'utf8');
    assert.equal(statSync(join(fixtures, 'key.pem')).mode & 0o777, 0o600);
    const x509 = new X509Certificate(cert);
    assert.equal(x509.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(x509.subject, 'O=etcd');
    // The served certificate is that one.
    const h = await http1(url, 'GET', '/health', { tls: { ca: cert } });
    assert.equal(h.status, 200);

    await srv.kill('SIGTERM');
    const again = await startTls('auto', ['--auto-tls']);
    assert.equal(readFileSync(join(fixtures, 'cert.pem'), 'utf8'), cert);
    const get = await etcdctl(again.url, [
      '--insecure-transport=false',
      '--insecure-skip-tls-verify',
      'get',
      'auto',
      '--print-value-only',
    ]);
    assert.equal(get.stdout, 'tls\n');
  });
});
