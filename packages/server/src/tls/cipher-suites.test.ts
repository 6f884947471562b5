// --cipher-suites: Go's names map to OpenSSL's in the given order, TLS 1.3 stays available, names
// OpenSSL lacks (RC4) are accepted and skipped, and any other name is etcd's start-up error.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CipherSuiteError, cipherOptions } from './cipher-suites.js';

const TLS13 = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

test("Go names become OpenSSL's, in order, with Go's TLS 1.3 suites", () => {
  assert.equal(cipherOptions([]), undefined);
  assert.deepEqual(
    cipherOptions([
      'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
      'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
      'TLS_RSA_WITH_AES_256_CBC_SHA',
    ]),
    { ciphers: `ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:AES256-SHA:${TLS13}` },
  );
});

test('suites OpenSSL does not build are skipped; with no TLS 1.2 suite left only TLS 1.3 is served', () => {
  assert.deepEqual(cipherOptions(['TLS_RSA_WITH_RC4_128_SHA', 'TLS_AES_128_GCM_SHA256']), {
    ciphers: TLS13,
    minVersion: 'TLSv1.3',
  });
});

test('an unknown name is refused with etcd text', () => {
  assert.throws(
    () => cipherOptions(['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'ECDHE-RSA-AES128-GCM-SHA256']),
    (e: unknown) =>
      e instanceof CipherSuiteError && e.message === 'unexpected TLS cipher suite "ECDHE-RSA-AES128-GCM-SHA256"',
  );
});
