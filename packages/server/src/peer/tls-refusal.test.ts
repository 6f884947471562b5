// A peer listener that refuses a member's certificate (--peer-cert-allowed-cn / -hostname) logs
// etcd's "rejected connection" and answers with a bad_certificate alert record; the refused member
// reports Go's text "remote error: tls: bad certificate" once (not at every reconnect), and a member
// with an allowed certificate streams as usual.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../log/index.js';
import {
  clientTlsOptions,
  generateSelfSignedCertificate,
  listenerChecks,
  serverTlsOptions,
  type TlsInfo,
} from '../tls/index.js';
import { listenUrl } from '../grpc/listener.js';
import { PeerSender } from './sender.js';
import { acceptUpgrade } from './upgrade.js';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pair(dir: string, name: string, cn: string) {
  const c = generateSelfSignedCertificate({
    curve: 'P-256',
    hosts: [],
    commonName: cn,
    extKeyUsage: ['serverAuth', 'clientAuth'],
  });
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  writeFileSync(cert, c.certPem);
  writeFileSync(key, c.keyPem);
  return { cert, key };
}

function captured() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    write: (d) => {
      for (const l of d.split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
    },
  });
  return { logger, lines };
}

test('a refused peer certificate: "rejected connection" on the listener, "remote error: tls: bad certificate" on the dialer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-peer-tls-'));
  const h1 = http.createServer();
  const upgraded = new Set<net.Socket>();
  h1.on('upgrade', (_req, sock: net.Socket) => {
    upgraded.add(sock);
    acceptUpgrade(sock);
  });
  const senders: PeerSender[] = [];
  let closing: (() => Promise<void>) | undefined;
  try {
    const server = pair(dir, 'server', 'peer');
    const other = pair(dir, 'other', 'intruder');
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, readFileSync(server.cert, 'utf8') + readFileSync(other.cert, 'utf8'));
    const info: TlsInfo = {
      certFile: server.cert,
      keyFile: server.key,
      trustedCaFile: ca,
      clientCertAuth: true,
      allowedCn: 'peer',
    };
    const listenerLog = captured();
    const bound = await listenUrl('https://127.0.0.1:0', {
      h1,
      h2: (s) => s.destroy(),
      tls: serverTlsOptions(info),
      ...listenerChecks(info, listenerLog.logger, { alert: true }),
    });
    closing = () => bound.close();
    const dial = (p: { cert: string; key: string }, log: ReturnType<typeof captured>) => {
      const s = new PeerSender(2n, [bound.url], {
        localId: 1n,
        clusterId: () => 7n,
        logger: log.logger,
        tls: clientTlsOptions({ certFile: p.cert, keyFile: p.key, trustedCaFile: ca, clientCertAuth: false }),
        reportUnreachable: () => {},
        reportSnapshot: () => {},
        openSnapshotDb: () => Promise.reject(new Error('no snapshots here')),
      });
      senders.push(s);
      return s;
    };
    const refusedLog = captured();
    dial(other, refusedLog);
    for (let i = 0; i < 100 && listenerLog.lines.filter((l) => l['msg'] === 'rejected connection').length < 3; i++) {
      await delay(50);
    }
    refusedLog.logger.flush();
    listenerLog.logger.flush();
    const rejected = listenerLog.lines.filter((l) => l['msg'] === 'rejected connection');
    assert.ok(rejected.length >= 3, 'the dialer kept retrying');
    assert.equal(rejected[0]!['error'], 'client certificate authentication failed');
    const dialErrors = refusedLog.lines.filter((l) => l['msg'] === 'failed to dial remote peer');
    assert.deepEqual(
      dialErrors.map((l) => [l['remote-peer-id'], l['error']]),
      [['2', 'remote error: tls: bad certificate']],
    );
    assert.equal(upgraded.size, 0);

    const okLog = captured();
    const ok = dial(server, okLog);
    for (let i = 0; i < 100 && !ok.isConnected; i++) await delay(50);
    assert.equal(ok.isConnected, true);
    okLog.logger.flush();
    assert.equal(okLog.lines.filter((l) => l['msg'] === 'failed to dial remote peer').length, 0);
  } finally {
    for (const s of senders) s.stop();
    for (const s of upgraded) s.destroy();
    await closing?.();
    rmSync(dir, { recursive: true, force: true });
  }
});
