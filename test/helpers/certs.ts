// Throwaway TLS material for tests, made with the openssl CLI: a CA, a server certificate for
// 127.0.0.1 / localhost, and a client certificate (CN "client"), all signed by the CA.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  ca: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  remove(): void;
}

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'certs-'));
  const f = (n: string): string => join(dir, n);
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=conclave-test-ca',
  );
  const sign = (name: string, cn: string, ext: string): void => {
    ssl('req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    writeFileSync(f(`${name}.ext`), ext);
    ssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`${name}.crt`),
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
    );
  };
  sign('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  sign('client', 'client', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caFile: f('ca.crt'),
    serverCertFile: f('server.crt'),
    serverKeyFile: f('server.key'),
    clientCertFile: f('client.crt'),
    clientKeyFile: f('client.key'),
    ca: readFileSync(f('ca.crt')),
    clientCert: readFileSync(f('client.crt')),
    clientKey: readFileSync(f('client.key')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A member serving clients over TLS: its certificate and key, and the CA client certificates must be signed by. */
export interface ClientTls {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** Client URLs https://127.0.0.1:0 (the member picks the port; read it back from its log or handle). */
export const HTTPS_CLIENT_URLS: readonly string[] = [
  '--listen-client-urls',
  'https://127.0.0.1:0',
  '--advertise-client-urls',
  'https://127.0.0.1:0',
];

/**
 * The flags (etcd's names) that serve clients over TLS with `tls`'s certificate and key, and with a
 * `caFile` require client certificates signed by it; none without `tls`.
 */
export function clientTlsFlags(
  tls: (Omit<ClientTls, 'caFile'> & { caFile?: string | undefined }) | undefined,
): string[] {
  if (!tls) return [];
  const flags = ['--cert-file', tls.certFile, '--key-file', tls.keyFile];
  return tls.caFile === undefined ? flags : [...flags, '--trusted-ca-file', tls.caFile, '--client-cert-auth'];
}
