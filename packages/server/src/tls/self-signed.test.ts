import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { createLogger } from '../log/index.js';
import { readChildren, readTlv } from './asn1.js';
import { generateSelfSignedCertificate, ipBytes, sanHost, selfCert } from './self-signed.js';

const HOSTS = ['127.0.0.1:2379', 'localhost:2379', '[::1]:2379', 'node1.example.com:2379', '10.0.0.7:2380'];

test("the certificate parses, verifies with its own key, and has etcd's fields", () => {
  const now = new Date(Date.UTC(2026, 10, 23, 6, 44, 1, 999));
  const c = generateSelfSignedCertificate({ hosts: HOSTS, now, serial: 0xba277ec6e6bc0caa3554476e0b05555an });
  const x = new X509Certificate(c.certPem);
  assert.equal(x.verify(x.publicKey), true);
  assert.equal(x.verify(createPublicKey(c.privateKey)), true);
  assert.equal(x.subject, 'O=etcd');
  assert.equal(x.issuer, 'O=etcd');
  assert.equal(x.serialNumber, 'BA277EC6E6BC0CAA3554476E0B05555A');
  assert.equal(x.validFrom, 'Nov 23 06:44:01 2026 GMT');
  assert.equal(x.validTo, 'Nov 23 06:44:01 2027 GMT');
  assert.equal(x.ca, false);
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.equal(
    x.subjectAltName,
    'DNS:localhost, DNS:node1.example.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10.0.0.7',
  );
  assert.equal(x.checkHost('node1.example.com'), 'node1.example.com');
  assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'secp521r1');
  assert.match(c.keyPem, /^-----BEGIN EC PRIVATE KEY-----\n/);
  assert.deepEqual(c.dnsNames, ['localhost', 'node1.example.com']);
  assert.deepEqual(c.ipAddresses, ['127.0.0.1', '::1', '10.0.0.7']);
});

test("the DER layout matches etcd 3.4's auto-TLS certificates", () => {
  const c = generateSelfSignedCertificate({ hosts: ['127.0.0.1:2380'], includeLoopback: false });
  const [tbs, sigAlg, sig] = readChildren(readTlv(c.certDer).content);
  assert.equal(sigAlg?.content.toString('hex'), '06082a8648ce3d040304', 'ecdsa-with-SHA512');
  assert.equal(sig?.content[0], 0, 'no unused bits');
  const fields = readChildren(tbs?.content ?? Buffer.alloc(0));
  assert.equal(fields.length, 8);
  assert.equal(fields[0]?.content.toString('hex'), '020102', 'v3');
  const exts = readChildren(readTlv(fields[7]?.content ?? Buffer.alloc(0)).content);
  const hexes = exts.map((e) => e.content.toString('hex'));
  assert.deepEqual(hexes, [
    '0603551d0f0101ff0404030205a0', // KeyUsage critical: digitalSignature, keyEncipherment
    '0603551d25040c300a06082b06010505070301', // ExtKeyUsage: serverAuth
    '0603551d130101ff04023000', // BasicConstraints critical: CA:FALSE
    '0603551d1104083006870' + '47f000001', // SAN: IP 127.0.0.1
  ]);
});

test('P-256 and P-384 keys sign with SHA-256 and SHA-384; CN and clientAuth are optional extras', () => {
  for (const [curve, named, alg] of [
    ['P-256', 'prime256v1', '06082a8648ce3d040302'],
    ['P-384', 'secp384r1', '06082a8648ce3d040303'],
  ] as const) {
    const c = generateSelfSignedCertificate({
      hosts: [],
      curve,
      commonName: 'peer-a',
      extKeyUsage: ['serverAuth', 'clientAuth'],
    });
    const x = new X509Certificate(c.certPem);
    assert.equal(x.verify(x.publicKey), true);
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, named);
    assert.equal(x.subject, 'O=etcd\nCN=peer-a');
    assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const [, sigAlg] = readChildren(readTlv(c.certDer).content);
    assert.equal(sigAlg?.content.toString('hex'), alg);
  }
});

test('openssl x509 -text reads the certificate and openssl verify accepts it as its own CA', () => {
  const which = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  assert.equal(which.status, 0, 'openssl is installed on Debian');
  const dir = mkdtempSync(join(tmpdir(), 'conclave-tls-'));
  try {
    const c = generateSelfSignedCertificate({ hosts: HOSTS });
    const file = join(dir, 'cert.pem');
    writeFileSync(file, c.certPem);
    writeFileSync(join(dir, 'key.pem'), c.keyPem);
    const text = spawnSync('openssl', ['x509', '-in', file, '-text', '-noout'], { encoding: 'utf8' });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /Version: 3 \(0x2\)/);
    assert.match(text.stdout, /Signature Algorithm: ecdsa-with-SHA512/);
    assert.match(text.stdout, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment/);
    assert.match(text.stdout, /X509v3 Basic Constraints: critical\n\s+CA:FALSE/);
    assert.match(
      text.stdout,
      /DNS:localhost, DNS:node1\.example\.com, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10\.0\.0\.7/,
    );
    const verify = spawnSync('openssl', ['verify', '-CAfile', file, file], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    const key = spawnSync('openssl', ['ec', '-in', join(dir, 'key.pem'), '-check', '-noout'], { encoding: 'utf8' });
    assert.equal(key.status, 0, key.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a TLS handshake succeeds against the certificate, by name and by IP', async () => {
  const c = generateSelfSignedCertificate({ hosts: ['127.0.0.1:0'] });
  const server = createServer({ cert: c.certPem, key: c.keyPem }, (s) => s.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    for (const servername of ['localhost', undefined]) {
      const reply = await new Promise<{ data: string; authorized: boolean }>((resolve, reject) => {
        let authorized = false;
        const sock: TLSSocket = connect(
          { host: '127.0.0.1', port, ca: c.certPem, ...(servername === undefined ? {} : { servername }) },
          () => {
            authorized = sock.authorized;
          },
        );
        let data = '';
        sock.on('data', (d: Buffer) => (data += d.toString()));
        sock.on('end', () => resolve({ data, authorized }));
        sock.on('error', reject);
      });
      assert.deepEqual(reply, { data: 'ok', authorized: true });
    }
    await assert.rejects(
      new Promise((resolve, reject) => {
        const sock = connect({ host: '127.0.0.1', port, ca: c.certPem, servername: 'other.example.com' }, () =>
          resolve(sock),
        );
        sock.on('error', reject);
      }),
      /does not match certificate's altnames/,
    );
  } finally {
    server.close();
  }
});

test('selfCert writes cert.pem (0644) and key.pem (0600) once and reuses them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-tls-'));
  try {
    let log = '';
    const logger = createLogger({ write: (d) => (log += d) });
    const fixtures = join(dir, 'member.etcd', 'fixtures', 'client');
    const first = selfCert({ dir: fixtures, hosts: ['127.0.0.1:2379'], logger });
    assert.equal(first.created, true);
    assert.equal(first.certFile, join(fixtures, 'cert.pem'));
    assert.equal(statSync(first.keyFile).mode & 0o777, 0o600);
    const certMode = statSync(first.certFile).mode & 0o777;
    assert.equal(certMode & ~0o644, 0, 'cert.pem is at most rw-r--r--');
    assert.equal(certMode & 0o600, 0o600);
    assert.equal(statSync(fixtures).mode & 0o077, 0);
    const pem = readFileSync(first.certFile, 'utf8');
    const second = selfCert({ dir: fixtures, hosts: ['10.0.0.1:2379'], logger });
    assert.equal(second.created, false);
    assert.equal(readFileSync(second.certFile, 'utf8'), pem);
    logger.flush();
    const msgs = log
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; path: string });
    assert.deepEqual(
      msgs.map((m) => [m.msg, m.path]),
      [
        ['created cert file', first.certFile],
        ['created key file', first.keyFile],
      ],
    );
    rmSync(first.keyFile);
    assert.equal(selfCert({ dir: fixtures, hosts: [] }).created, true, 'regenerated when a file is missing');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('host helpers: SAN host of listen addresses, IP bytes', () => {
  const hosts: Record<string, string> = {
    '127.0.0.1:2379': '127.0.0.1',
    '[::1]:2379': '::1',
    '[fe80::1]': 'fe80::1',
    localhost: 'localhost',
    '::1': '::1',
  };
  for (const [addr, host] of Object.entries(hosts)) assert.equal(sanHost(addr), host, addr);
  const bytes: Record<string, string> = {
    '10.0.0.7': '0a000007',
    '::1': '00000000000000000000000000000001',
    '2001:db8::8a2e:370:7334': '20010db80000000000008a2e03707334',
    '::ffff:10.0.0.1': '00000000000000000000ffff0a000001',
    'fe80::': 'fe800000000000000000000000000000',
  };
  for (const [ip, hex] of Object.entries(bytes)) assert.equal(ipBytes(ip).toString('hex'), hex, ip);
});
