// --cipher-suites: etcd takes Go's cipher suite names (crypto/tls CipherSuites() and
// InsecureCipherSuites(), plus two legacy ChaCha20 aliases) and refuses any other name at start-up
// with `unexpected TLS cipher suite "<name>"`. Node takes OpenSSL names in one colon-separated
// list. Go keeps TLS 1.3 on whatever the list says (its TLS 1.3 suites are not configurable); Node
// turns TLS 1.3 off when the list names no TLS 1.3 suite, so the three TLS 1.3 suites Go offers are
// always added. Suites OpenSSL no longer builds (RC4) are accepted and never negotiated, as a Go
// server never negotiates a suite its client lacks; when no TLS 1.2 suite is left, only TLS 1.3 is
// served.

import { getCiphers } from 'node:tls';
import { goQuote } from '../log/index.js';

/** Go name → OpenSSL name (TLS 1.3 suites keep their names). */
const GO_TO_OPENSSL: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_RC4_128_SHA: 'RC4-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: 'ECDHE-ECDSA-RC4-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: 'ECDHE-RSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
};

/** The TLS 1.3 suites a Go server offers whatever its CipherSuites say. */
const TLS13 = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

export class CipherSuiteError extends Error {
  override readonly name = 'CipherSuiteError';
}

export interface CipherOptions {
  /** OpenSSL cipher list for `ciphers` (TLS 1.2 suites in the given order, then the TLS 1.3 ones). */
  ciphers: string;
  /** Set when no TLS 1.2 suite of the list is available: serve TLS 1.3 only. */
  minVersion?: 'TLSv1.3';
}

/** Checks etcd's --cipher-suites names (throws etcd's error) and returns Node's options; undefined for an empty list. */
export function cipherOptions(names: readonly string[]): CipherOptions | undefined {
  if (names.length === 0) return undefined;
  const available = new Set(getCiphers().map((c) => c.toUpperCase()));
  const tls12: string[] = [];
  for (const name of names) {
    const openssl = GO_TO_OPENSSL[name];
    if (openssl === undefined) throw new CipherSuiteError(`unexpected TLS cipher suite ${goQuote(name)}`);
    if (TLS13.includes(openssl)) continue;
    if (available.has(openssl) && !tls12.includes(openssl)) tls12.push(openssl);
  }
  const ciphers = [...tls12, ...TLS13].join(':');
  return tls12.length === 0 ? { ciphers, minVersion: 'TLSv1.3' } : { ciphers };
}
