// Hostile input on the peer port (--listen-peer-urls, the Raft transport between members). The
// cluster ID a Raft stream must name is in every client response header, so anyone who reaches the
// port can open one. Garbage and oversized frames end that connection; a large frame trickling in is
// assembled in linear time (it used to be copied whole per read: ~8 GB of copying for 16 MiB in
// 16 KiB writes). Meanwhile the member lives, a probe client keeps being answered and RSS stays bounded.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { knownSender, type PeerSide, peerSide, startTarget, type Target, underAttack } from './harness.js';

let t: Target;
let peer: PeerSide;
/** A member the target knows (streams from others are refused). */
let sender: string;

before(async () => {
  t = await startTarget('cleartext');
  peer = await peerSide(t);
  sender = await knownSender(t);
});
after(() => t?.stop());

/** An upgraded Raft stream to the member (claiming to be a member it knows): resolves with the socket after "101". */
async function raftStream(): Promise<net.Socket> {
  const sock = net.connect({ host: peer.host, port: peer.port });
  sock.on('error', () => {});
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(
    [
      'POST /raft/stream HTTP/1.1',
      `Host: ${peer.host}:${peer.port}`,
      'Connection: Upgrade',
      'Upgrade: conclave-raft/1',
      `X-Conclave-Cluster-Id: ${peer.clusterId}`,
      `X-Conclave-From: ${sender}`,
      `X-Conclave-To: ${peer.memberId}`,
      '',
      '',
    ].join('\r\n'),
  );
  const head = await new Promise<string>((r) => sock.once('data', (d: Buffer) => r(d.toString('latin1'))));
  assert.match(head, /^HTTP\/1\.1 101 /, head);
  return sock;
}

/** Writes `data` in `size`-byte writes, waiting when the socket is full; resolves when written or closed. */
async function trickle(sock: net.Socket, data: Buffer, size: number): Promise<void> {
  for (let off = 0; off < data.length && !sock.destroyed; off += size) {
    if (!sock.write(data.subarray(off, off + size))) {
      await new Promise<void>((r) => {
        sock.once('drain', r);
        sock.once('close', r);
      });
    }
  }
}

/** CPU time (user + system) a process has used, seconds. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

const closed = (sock: net.Socket, ms: number): Promise<boolean> =>
  new Promise((r) => {
    if (sock.destroyed) return r(true);
    const timer = setTimeout(() => r(false), ms);
    sock.once('close', () => {
      clearTimeout(timer);
      r(true);
    });
  });

test('1 MiB of garbage instead of HTTP on the peer port: the member goes on', () =>
  underAttack(t, async () => {
    const sock = net.connect({ host: peer.host, port: peer.port });
    sock.on('error', () => {});
    await new Promise<void>((r) => sock.once('connect', () => r()));
    await trickle(sock, randomBytes(1 << 20), 64 << 10);
    sock.destroy();
  }));

test('Raft stream: a frame announcing 4 GiB, and a frame of garbage, each end the stream', () =>
  underAttack(t, async () => {
    const a = await raftStream();
    a.write(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3]));
    assert.ok(await closed(a, 10_000), 'closed after the oversized length');
    const b = await raftStream();
    const junk = randomBytes(100);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(junk.length);
    b.write(Buffer.concat([len, junk]));
    assert.ok(await closed(b, 10_000), 'closed after a frame that is not a Raft message');
  }));

test('Raft stream: a 16 MiB frame in 16 KiB writes is assembled in linear time, then refused', () =>
  underAttack(t, async () => {
    const sock = await raftStream();
    const body = randomBytes(16 << 20);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    const cpu0 = cpuSeconds(t.srv.child.pid!);
    await trickle(sock, Buffer.concat([len, body]), 16 << 10);
    assert.ok(await closed(sock, 20_000), 'closed once the frame turned out to be garbage');
    // Linear: well under a CPU-second for 16 MiB (a copy of everything held per read: ~8 GB copied).
    const cpu = cpuSeconds(t.srv.child.pid!) - cpu0;
    assert.ok(cpu < 1.5, `the member spent ${cpu.toFixed(2)} CPU-s on it`);
  }));
