import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { withDir, writePair } from '../../testing/tls-fixture.js';
import { createLogger } from '../log/index.js';
import {
  checkListenerUrls,
  clientTlsOptions,
  describeTlsInfo,
  resolveListenerTls,
  serverTlsOptions,
  type TlsInfo,
} from './tls-options.js';

test("describeTlsInfo prints etcd's TLSInfo.String()", () => {
  const info: TlsInfo = {
    certFile: 'd3/fixtures/client/cert.pem',
    keyFile: 'd3/fixtures/client/key.pem',
    trustedCaFile: '',
    clientCertAuth: false,
  };
  assert.equal(
    describeTlsInfo(info),
    'cert = d3/fixtures/client/cert.pem, key = d3/fixtures/client/key.pem, trusted-ca = , client-cert-auth = false, crl-file = ',
  );
});

test('server options: cert and key required, client-cert-auth requests and verifies, TLS 1.2 minimum', async () => {
  await withDir('conclave-tls-', (dir) => {
    const server = writePair(dir, 'server', { hosts: ['127.0.0.1:0'] });
    assert.throws(
      () => serverTlsOptions({ certFile: server.cert, keyFile: '', trustedCaFile: '', clientCertAuth: false }),
      {
        message: `KeyFile and CertFile must both be present[key: , cert: ${server.cert}]`,
      },
    );
    const files = { certFile: server.cert, keyFile: server.key };
    const plain = serverTlsOptions({ ...files, trustedCaFile: '', clientCertAuth: false });
    assert.equal(plain.requestCert, false);
    assert.equal(plain.rejectUnauthorized, false);
    assert.equal(plain.minVersion, 'TLSv1.2');
    assert.equal('ca' in plain, false);
    const mtls = serverTlsOptions({ ...files, trustedCaFile: server.cert, clientCertAuth: true });
    assert.equal(mtls.requestCert, true);
    assert.equal(mtls.rejectUnauthorized, true);
    assert.ok(Buffer.isBuffer(mtls.ca));
    const auto = serverTlsOptions({ ...files, trustedCaFile: '', clientCertAuth: true, selfSigned: true });
    assert.equal(auto.requestCert, false, 'auto-TLS does not verify clients');
    const dial = clientTlsOptions({ ...files, trustedCaFile: server.cert, clientCertAuth: false });
    assert.equal(dial.rejectUnauthorized, true);
    assert.ok(Buffer.isBuffer(dial.cert) && Buffer.isBuffer(dial.key) && Buffer.isBuffer(dial.ca));
    assert.equal(
      clientTlsOptions({ certFile: '', keyFile: '', trustedCaFile: '', clientCertAuth: false, selfSigned: true })
        .rejectUnauthorized,
      false,
    );
  });
});

test('auto-TLS generates <data-dir>/fixtures/<side> certificates for the listen hosts, or defers to given files', async () => {
  await withDir('conclave-tls-', (dir) => {
    let out = '';
    const logger = createLogger({ write: (d) => (out += d) });
    const listenUrls = [{ scheme: 'https', host: '127.0.0.1:23791', href: 'https://127.0.0.1:23791' }];
    const none = { certFile: '', keyFile: '', trustedCaFile: '', clientCertAuth: false, autoTls: false };
    assert.equal(resolveListenerTls({ side: 'client', tls: none, dataDir: dir, listenUrls }), undefined);
    const auto = resolveListenerTls({
      side: 'peer',
      tls: { ...none, autoTls: true, clientCertAuth: true },
      dataDir: dir,
      listenUrls,
      logger,
    });
    assert.deepEqual(auto, {
      certFile: join(dir, 'fixtures', 'peer', 'cert.pem'),
      keyFile: join(dir, 'fixtures', 'peer', 'key.pem'),
      trustedCaFile: '',
      clientCertAuth: false,
      selfSigned: true,
    });
    const given = { ...none, certFile: '/c.pem', keyFile: '/k.pem', autoTls: true };
    assert.equal(
      resolveListenerTls({ side: 'client', tls: given, dataDir: dir, listenUrls, logger })?.certFile,
      '/c.pem',
    );
    logger.flush();
    const msgs = out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.deepEqual(msgs, ['created cert file', 'created key file', 'ignoring client auto TLS since certs given']);
  });
});

test("per-URL checks: https needs TLS, http ignores TLS files with etcd's warnings", () => {
  const https = [{ scheme: 'https', host: '127.0.0.1:23791', href: 'https://127.0.0.1:23791' }];
  const http = [{ scheme: 'http', host: '127.0.0.1:23791', href: 'http://127.0.0.1:23791' }];
  assert.throws(() => checkListenerUrls('client', https, undefined), {
    message:
      'TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:23791 with HTTPS scheme',
  });
  assert.throws(
    () =>
      checkListenerUrls(
        'peer',
        [{ scheme: 'https', host: '127.0.0.1:23801', href: 'https://127.0.0.1:23801' }],
        undefined,
      ),
    {
      message: 'cannot listen on TLS for 127.0.0.1:23801: KeyFile and CertFile are not presented',
    },
  );
  const tls: TlsInfo = { certFile: '/c', keyFile: '/k', trustedCaFile: '', clientCertAuth: true };
  assert.deepEqual(checkListenerUrls('client', http, tls), [
    {
      msg: 'scheme is HTTP while key and cert files are present; ignoring key and cert files',
      fields: { 'client-url': 'http://127.0.0.1:23791' },
    },
    {
      msg: 'scheme is HTTP while --client-cert-auth is enabled; ignoring client cert auth for this URL',
      fields: { 'client-url': 'http://127.0.0.1:23791' },
    },
  ]);
  assert.deepEqual(checkListenerUrls('client', https, tls), []);
  assert.deepEqual(checkListenerUrls('client', http, undefined), []);
});
