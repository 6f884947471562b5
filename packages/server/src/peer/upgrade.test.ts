import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { test } from 'node:test';
import { acceptUpgrade, connectPeer, refuseUpgrade, upgradeToRaftStream, UpgradeRefusedError } from './upgrade.js';

async function withServer(
  onUpgrade: (req: http.IncomingMessage, sock: net.Socket, head: Buffer) => void,
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const server = http.createServer((_req, res) => res.end());
  const socks = new Set<net.Socket>();
  server.on('upgrade', (req: http.IncomingMessage, sock: net.Socket, head: Buffer) => {
    socks.add(sock);
    onUpgrade(req, sock, head);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  } finally {
    for (const s of socks) s.destroy();
    await new Promise((r) => server.close(r));
  }
}

test('an accepted upgrade carries the request headers, then bytes both ways on the bare socket', async () => {
  let seen: http.IncomingHttpHeaders = {};
  await withServer(
    (req, sock, head) => {
      seen = req.headers;
      acceptUpgrade(sock);
      // bytes sent right behind the 101 answer reach the client as stream data
      sock.write('hello');
      const got: Buffer[] = head.length ? [head] : [];
      sock.on('data', (c: Buffer) => {
        got.push(c);
        if (Buffer.concat(got).toString() === 'frames') sock.write(' back');
      });
    },
    async (url) => {
      const sock = connectPeer(url, undefined, 'http/1.1');
      try {
        await upgradeToRaftStream(sock, { 'x-conclave-from': 'a1' });
        assert.equal(seen['x-conclave-from'], 'a1');
        assert.equal(seen.upgrade, 'conclave-raft/1');
        const chunks: Buffer[] = [];
        const done = new Promise<void>((resolve) =>
          sock.on('data', (c: Buffer) => {
            chunks.push(c);
            if (Buffer.concat(chunks).toString() === 'hello back') resolve();
          }),
        );
        sock.resume();
        sock.write('frames');
        await done;
      } finally {
        sock.destroy();
      }
    },
  );
});

test('a refused upgrade rejects with the status and the reason the peer gave', async () => {
  await withServer(
    (_req, sock) => refuseUpgrade(sock, 412, 'Precondition Failed', 'cluster ID mismatch: local 1, remote 2'),
    async (url) => {
      const sock = connectPeer(url, undefined, 'http/1.1');
      try {
        const err = await upgradeToRaftStream(sock, {}).then(
          () => assert.fail('upgrade should be refused'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof UpgradeRefusedError);
        assert.equal(err.status, 412);
        assert.equal(err.body, 'cluster ID mismatch: local 1, remote 2');
      } finally {
        sock.destroy();
      }
    },
  );
});

test('a connection closed before any answer rejects', async () => {
  await withServer(
    (_req, sock) => sock.destroy(),
    async (url) => {
      const sock = connectPeer(url, undefined, 'http/1.1');
      try {
        await assert.rejects(upgradeToRaftStream(sock, {}), /closed the connection while upgrading|ECONNRESET/);
      } finally {
        sock.destroy();
      }
    },
  );
});
