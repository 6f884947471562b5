// TLS on the client URL: a server certificate from a test CA (--cert-file/--key-file), client-certificate
// authentication (--client-cert-auth --trusted-ca-file), and --auto-tls's self-signed certificate, with
// gRPC (etcdctl, grpc-js) and HTTP/1.1 + HTTP/2 (ALPN) on the same https URL.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { GrpcCode } from '@conclave/api';
import { integer, oid, sequence, TAG, time, tlv } from '../../packages/server/src/tls/asn1.js';
import { generateSelfSignedCertificate } from '../../packages/server/src/tls/index.js';
import { clientTlsFlags, HTTPS_CLIENT_URLS } from '../helpers/certs.js';
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
    args: [...HTTPS_CLIENT_URLS, ...flags],
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
      assert.deepEqual([v.status, v.body], [200, '{"etcdserver":"3.5.30","etcdcluster":"3.5.0"}']);
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
    const s = await startTls(
      'mtls',
      clientTlsFlags({ certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.ca }),
    );
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

describe('--cipher-suites (Go names)', () => {
  let url: string;
  before(async () => {
    const s = await startTls('ciphers', [
      '--cert-file',
      pki.serverCert,
      '--key-file',
      pki.serverKey,
      '--cipher-suites',
      'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
    ]);
    url = s.url;
  });

  test('TLS 1.2 serves only the listed suites; TLS 1.3 stays on, as with Go', async () => {
    const tls12 = (ciphers: string) => ({ ca: read(pki.ca), ciphers, maxVersion: 'TLSv1.2' as const });
    const ok = await http1(url, 'GET', '/health', { tls: tls12('ECDHE-ECDSA-AES128-GCM-SHA256') });
    assert.equal(ok.status, 200);
    const chacha = await http1(url, 'GET', '/health', { tls: tls12('ECDHE-ECDSA-CHACHA20-POLY1305') });
    assert.equal(chacha.status, 200);
    await assert.rejects(
      http1(url, 'GET', '/health', { tls: tls12('ECDHE-ECDSA-AES256-GCM-SHA384') }),
      /handshake failure/,
    );
    const tls13 = await http1(url, 'GET', '/health', { tls: { ca: read(pki.ca), minVersion: 'TLSv1.3' } });
    assert.equal(tls13.status, 200);
  });
});

describe('--client-crl-file', () => {
  /** A CRL revoking `serials` (its signature is not checked, by etcd either). */
  const crl = (serials: bigint[]): Buffer => {
    const alg = sequence(oid('1.2.840.10045.4.3.2'));
    const at = time(new Date());
    const tbs = sequence(
      integer(1),
      alg,
      sequence(),
      at,
      at,
      sequence(...serials.map((s) => sequence(integer(s), at))),
    );
    return sequence(tbs, alg, tlv(TAG.BIT_STRING, Buffer.from([0, 0])));
  };
  const clientSerial = (): bigint => BigInt(`0x${new X509Certificate(read(pki.clientCert)).serialNumber}`);
  const withClient = ['--cacert', pki.ca, '--cert', pki.clientCert, '--key', pki.clientKey] as const;
  /** A member requiring client certificates, checked against the CRL in `crlFile`. */
  const startWithCrl = (name: string, crlFile: string) =>
    startTls(name, [
      ...clientTlsFlags({ certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.ca }),
      '--client-crl-file',
      crlFile,
    ]);
  /** A put with the client certificate, which the member must refuse. */
  const refusedPut = async (url: string) => {
    const refused = await etcdctl(url, [...withClient, '--dial-timeout', '2s', 'put', 'k', 'v']);
    assert.notEqual(refused.code, 0);
    return refused;
  };

  test("a revoked client certificate is refused after the handshake, logged as etcd's rejected connection", async () => {
    const crlFile = join(dir.path, 'clients.crl');
    writeFileSync(crlFile, crl([clientSerial(), 12345n]));
    const { srv, url } = await startWithCrl('crl', crlFile);
    const refused = await refusedPut(url);
    assert.match(refused.stderr, /Error:/);
    assert.match(
      srv.log(),
      new RegExp(
        `"msg":"rejected connection","remote-addr":"127\\.0\\.0\\.1:\\d+","server-name":"","ip-addresses":\\[\\],"dns-names":\\[\\],"error":"transport: certificate serial ${clientSerial().toString(16)} revoked"`,
      ),
    );
    // etcd reads the file at every connection: once the certificate is no longer listed it is served
    writeFileSync(crlFile, crl([12345n]));
    const served = await etcdctl(url, [...withClient, 'put', 'k', 'v']);
    assert.equal(served.code, 0, served.stderr);
  });

  test('an unreadable CRL: the member starts, as etcd, and refuses every TLS connection with the read error', async () => {
    const missing = join(dir.path, 'missing.crl');
    const { srv, url } = await startWithCrl('crl-missing', missing);
    await refusedPut(url);
    assert.ok(srv.log().includes(`"error":"open ${missing}: no such file or directory"`));
  });
});
