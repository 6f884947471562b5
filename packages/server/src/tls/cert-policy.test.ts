// Certificate checks after the TLS handshake, as etcd makes them: --peer-cert-allowed-cn,
// --*-cert-allowed-hostname (Go's VerifyHostname: SANs only), CRL files (revoked serials in the
// presented chain; an unreadable file refuses every connection with Go's error text), etcd's
// "rejected connection" log fields, the bad_certificate alert record a peer listener answers a
// refused certificate with, and the checks' mutual exclusivity.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { withDir, writePair } from '../../testing/tls-fixture.js';
import { connect, createServer, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { integer, oid, sequence, TAG, time, tlv } from './asn1.js';
import { checkCertPolicy, goIp, listenerChecks, remoteAlertError } from './cert-policy.js';
import { parseCrlSerials } from './crl.js';
import { clientTlsOptions, serverTlsOptions, type TlsInfo } from './tls-options.js';

/** A CRL listing `serials` (unsigned: etcd, like this check, does not verify the CRL's signature). */
function crlDer(serials: bigint[]): Buffer {
  const alg = sequence(oid('1.2.840.10045.4.3.2'));
  const name = sequence();
  const now = new Date('2021-02-28T10:52:43Z');
  const revoked = sequence(...serials.map((s) => sequence(integer(s), time(now))));
  const tbs = sequence(integer(1), alg, name, time(now), time(now), revoked);
  return sequence(tbs, alg, tlv(TAG.BIT_STRING, Buffer.from([0, 1, 2])));
}

/** Connects; resolves with everything the server sent before closing. */
function exchange(port: number, opts: ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts });
    const chunks: Buffer[] = [];
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('close', () => resolve(Buffer.concat(chunks)));
    sock.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'ECONNRESET' ? resolve(Buffer.concat(chunks)) : reject(e),
    );
  });
}

async function serve(
  info: TlsInfo,
  alert: boolean,
  fn: (port: number, log: Array<Record<string, unknown>>) => Promise<void>,
) {
  const log: Array<Record<string, unknown>> = [];
  const checks = listenerChecks(info, { warn: (msg, fields) => log.push({ msg, ...fields }) }, { alert });
  const srv = createServer(serverTlsOptions(info), (s: TLSSocket) => {
    const refused = checks.verify?.(s);
    if (refused) return checks.reject?.(s, refused);
    s.end('welcome');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    await fn((srv.address() as { port: number }).port, log);
  } finally {
    srv.close();
  }
}

test('allowed CN: the right CN is served; another is refused with the alert record and logged as etcd does', async () => {
  await withDir('conclave-certpolicy-', async (dir) => {
    const server = writePair(dir, 'server', { hosts: ['127.0.0.1:0'], extKeyUsage: ['serverAuth', 'clientAuth'] });
    const good = writePair(dir, 'good', {
      hosts: ['10.0.0.1'],
      commonName: 'etcd-peer',
      includeLoopback: false,
      extKeyUsage: ['clientAuth'],
    });
    const bad = writePair(dir, 'bad', {
      hosts: ['bad.example'],
      commonName: 'intruder',
      includeLoopback: false,
      extKeyUsage: ['clientAuth'],
    });
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, [good.cert, bad.cert, server.cert].map((f) => readFileSync(f, 'utf8')).join(''));
    const info: TlsInfo = {
      certFile: server.cert,
      keyFile: server.key,
      trustedCaFile: caFile,
      clientCertAuth: true,
      allowedCn: 'etcd-peer',
    };
    const as = (p: { cert: string; key: string }) =>
      clientTlsOptions({ certFile: p.cert, keyFile: p.key, trustedCaFile: server.cert, clientCertAuth: false });
    await serve(info, true, async (port, log) => {
      assert.equal((await exchange(port, as(good))).toString(), 'welcome');
      const answer = await exchange(port, as(bad));
      assert.equal(remoteAlertError(answer), 'remote error: tls: bad certificate');
      assert.equal(log.length, 1);
      assert.equal(log[0]!['msg'], 'rejected connection');
      assert.match(String(log[0]!['remote-addr']), /^127\.0\.0\.1:\d+$/);
      assert.equal(log[0]!['server-name'], 'localhost');
      assert.deepEqual(log[0]!['dns-names'], ['bad.example']);
      assert.deepEqual(log[0]!['ip-addresses'], []);
      assert.equal(log[0]!['error'], 'client certificate authentication failed');
    });
    // a client listener (no alert): the refused connection is just closed
    await serve(info, false, async (port) => {
      assert.equal((await exchange(port, as(bad))).length, 0);
    });
  });
});

test('allowed hostname: SAN DNS names and IPs count, the CommonName does not (Go 1.15+)', async () => {
  await withDir('conclave-certpolicy-', async (dir) => {
    const server = writePair(dir, 'server', { hosts: ['127.0.0.1:0'], extKeyUsage: ['serverAuth', 'clientAuth'] });
    const dns = writePair(dir, 'dns', {
      hosts: ['node1.example'],
      includeLoopback: false,
      commonName: 'x',
      extKeyUsage: ['clientAuth'],
    });
    const ip = writePair(dir, 'ip', {
      hosts: ['10.1.2.3'],
      includeLoopback: false,
      commonName: 'node1.example',
      extKeyUsage: ['clientAuth'],
    });
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, [dns.cert, ip.cert].map((f) => readFileSync(f, 'utf8')).join(''));
    const as = (p: { cert: string; key: string }) =>
      clientTlsOptions({ certFile: p.cert, keyFile: p.key, trustedCaFile: server.cert, clientCertAuth: false });
    const base = { certFile: server.cert, keyFile: server.key, trustedCaFile: caFile, clientCertAuth: true };
    await serve({ ...base, allowedHostname: 'node1.example' }, true, async (port) => {
      assert.equal((await exchange(port, as(dns))).toString(), 'welcome');
      assert.equal(remoteAlertError(await exchange(port, as(ip))), 'remote error: tls: bad certificate');
    });
    await serve({ ...base, allowedHostname: '10.1.2.3' }, true, async (port) => {
      assert.equal((await exchange(port, as(ip))).toString(), 'welcome');
      assert.ok(remoteAlertError(await exchange(port, as(dns))));
    });
  });
  assert.equal(
    checkCertPolicy({ allowedCn: 'a', allowedHostname: 'b' }),
    'AllowedCN and AllowedHostname are mutually exclusive (cn="a", hostname="b")',
  );
  assert.equal(checkCertPolicy({ allowedCn: 'a', allowedHostname: '' }), undefined);
});

test('CRL: a revoked serial in the presented chain is refused without an alert; an unreadable CRL refuses everyone', async () => {
  await withDir('conclave-certpolicy-', async (dir) => {
    const server = writePair(dir, 'server', { hosts: ['127.0.0.1:0'], extKeyUsage: ['serverAuth', 'clientAuth'] });
    const ok = writePair(dir, 'ok', { hosts: [], commonName: 'ok', serial: 0x1234n, extKeyUsage: ['clientAuth'] });
    const revoked = writePair(dir, 'revoked', {
      hosts: [],
      commonName: 'revoked',
      serial: 0xa3cf9n, // '0a3cf9' as bytes: Go prints it as a3cf9
      extKeyUsage: ['clientAuth'],
    });
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, [ok.cert, revoked.cert].map((f) => readFileSync(f, 'utf8')).join(''));
    const crlFile = join(dir, 'revoke.crl');
    writeFileSync(crlFile, crlDer([0xa3cf9n, 0x77n]));
    assert.deepEqual([...parseCrlSerials(readFileSync(crlFile))], ['0a3cf9', '77']);
    const pem = `-----BEGIN X509 CRL-----\n${readFileSync(crlFile).toString('base64')}\n-----END X509 CRL-----\n`;
    assert.deepEqual([...parseCrlSerials(Buffer.from(pem))], ['0a3cf9', '77']);
    const as = (p: { cert: string; key: string }) =>
      clientTlsOptions({ certFile: p.cert, keyFile: p.key, trustedCaFile: server.cert, clientCertAuth: false });
    const info = { certFile: server.cert, keyFile: server.key, trustedCaFile: caFile, clientCertAuth: true, crlFile };
    await serve(info, true, async (port, log) => {
      assert.equal((await exchange(port, as(ok))).toString(), 'welcome');
      assert.equal((await exchange(port, as(revoked))).length, 0, 'closed without an alert (etcd closes too)');
      assert.equal(log.at(-1)!['error'], 'transport: certificate serial a3cf9 revoked');
    });
    await serve({ ...info, crlFile: join(dir, 'missing.crl') }, true, async (port, log) => {
      assert.equal((await exchange(port, as(ok))).length, 0);
      assert.equal(log.at(-1)!['error'], `open ${join(dir, 'missing.crl')}: no such file or directory`);
    });
  });
  assert.throws(() => parseCrlSerials(Buffer.from('not a crl')));
});

test('alert records: only a TLS alert at the start of the data is one', () => {
  assert.equal(remoteAlertError(Buffer.from([0x15, 3, 3, 0, 2, 2, 44])), 'remote error: tls: revoked certificate');
  assert.equal(remoteAlertError(Buffer.from('HTTP/1.1 101 Switching Protocols\r\n')), undefined);
  assert.equal(remoteAlertError(Buffer.from([0x15, 3])), undefined);
});

test("IP addresses are logged in Go's form", () => {
  assert.equal(goIp('0:0:0:0:0:0:0:1'), '::1');
  assert.equal(goIp('FE80:0:0:0:0:0:0:1'), 'fe80::1');
  assert.equal(goIp('2001:DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(goIp('1:0:2:0:3:0:4:0'), '1:0:2:0:3:0:4:0');
  assert.equal(goIp('10.0.0.1'), '10.0.0.1');
});
