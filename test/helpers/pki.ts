// A throwaway PKI for TLS tests, made with the openssl CLI: a CA, a server certificate for 127.0.0.1 /
// localhost, and a client certificate (CN=client), as PEM files in a directory.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** For member-to-member TLS: serverAuth + clientAuth, CN=peer, SAN 127.0.0.1. */
  peerCert: string;
  peerKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function key(dir: string, name: string): string {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', name]);
  return join(dir, name);
}

function issue(dir: string, name: string, keyFile: string, subject: string, ext: string): string {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, ['req', '-new', '-key', keyFile, '-subj', subject, '-out', `${name}.csr`]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca-key.pem',
    '-CAcreateserial',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  ]);
  return join(dir, `${name}.pem`);
}

export function makeTestPki(dir: string): TestPki {
  const caKey = key(dir, 'ca-key.pem');
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    caKey,
    '-sha256',
    '-days',
    '2',
    '-subj',
    '/CN=Conclave Test CA',
    '-out',
    'ca.pem',
  ]);
  const serverKey = key(dir, 'server-key.pem');
  const serverCert = issue(
    dir,
    'server',
    serverKey,
    '/CN=server',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  const clientKey = key(dir, 'client-key.pem');
  const clientCert = issue(dir, 'client', clientKey, '/CN=client', 'extendedKeyUsage=clientAuth\n');
  const peerKey = key(dir, 'peer-key.pem');
  const peerCert = issue(
    dir,
    'peer',
    peerKey,
    '/CN=peer',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  return { ca: join(dir, 'ca.pem'), serverCert, serverKey, clientCert, clientKey, peerCert, peerKey };
}
