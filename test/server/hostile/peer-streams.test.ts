// Raft streams on the peer port (issue 13). Who may open one, beside etcd: the same refusals go to
// Conclave, etcd 3.5 and etcd 3.4 (npm run test:slow), each in its own stream protocol (Conclave: POST
// /raft/stream upgraded to conclave-raft/1; etcd: GET /raft/stream/message/<from>), and get the same
// status and text: a sender the member does not know 404 "error sender not found", a removed member
// 410 "removed member", another cluster 412 "cluster ID mismatch", another addressee 412 "to field
// mismatch"; a member of the cluster (a learner added for the test) is let in. Before, Conclave let
// any claimed sender in. Then, Conclave only (etcd's stream direction differs: the member that accepts
// writes): a stream that sends nothing, or stops half-way through a frame, is closed 5-6 s after its
// last byte; one that sends heartbeat frames stays. Before, both were kept forever.

import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { RawClient } from '../../helpers/grpc.js';
import { type ServerKind, type ServerProcess, startServer } from '../../helpers/process.js';
import { forThisTier } from '../../helpers/tier.js';
import { freePort } from '../../helpers/tmp.js';
import { askRaw, closedAfter, type RawAnswer } from '../../../packages/server/testing/http-answer.js';

const C = etcdserverpb.ClusterService;
/** A member ID no member has. */
const STRANGER = '1234';
/** Conclave's default streamIdleMs (peer/limits.ts), as etcd's ConnReadTimeout. */
const IDLE_MS = 5_000;

/** Sends `head` on a fresh loopback connection; resolves with the answer's status, body and the socket. */
const ask = (port: number, head: string): Promise<RawAnswer> => askRaw('127.0.0.1', port, head);

interface Ids {
  cluster: string;
  member: string;
}

/** A request for a Raft stream in the stream protocol of `kind`. */
function streamRequest(kind: ServerKind, ids: Ids, from: string): string {
  const lines =
    kind === 'conclave'
      ? [
          'POST /raft/stream HTTP/1.1',
          'Host: x',
          'Connection: Upgrade',
          'Upgrade: conclave-raft/1',
          `X-Conclave-Cluster-Id: ${ids.cluster}`,
          `X-Conclave-From: ${from}`,
          `X-Conclave-To: ${ids.member}`,
        ]
      : [
          `GET /raft/stream/message/${from} HTTP/1.1`,
          'Host: x',
          `X-Etcd-Cluster-ID: ${ids.cluster}`,
          `X-Raft-To: ${ids.member}`,
          'X-Server-From: peer',
          'X-Server-Version: 3.4.0',
          'X-Min-Cluster-Version: 3.0.0',
        ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

const KINDS = forThisTier(['conclave', 'etcd35', 'etcd'] as const, (k) => k === 'etcd');

for (const kind of KINDS) {
  describe(`Raft streams on the peer port of ${kind}`, () => {
    let srv: ServerProcess;
    let port: number;
    let ids: Ids;
    /** A learner of the cluster (its peer URL answers nothing), and a learner that was removed. */
    let known: string;
    let removed: string;

    before(async () => {
      port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      srv = await startServer(kind, {
        args: ['--listen-peer-urls', url, '--initial-advertise-peer-urls', url, '--initial-cluster', `default=${url}`],
      });
      const c = new RawClient(srv.endpoint);
      try {
        const h = (await c.unary(etcdserverpb.MaintenanceService.Status, {})).header!;
        ids = { cluster: h.clusterId.toString(16), member: h.memberId.toString(16) };
        // etcd admits one learner at a time: add one and remove it, then add the one that stays
        const nowhere = async (): Promise<string[]> => [`http://127.0.0.1:${await freePort()}`];
        const gone = (await c.unary(C.MemberAdd, { peerURLs: await nowhere(), isLearner: true })).member!.ID;
        await c.unary(C.MemberRemove, { ID: gone });
        removed = gone.toString(16);
        known = (await c.unary(C.MemberAdd, { peerURLs: await nowhere(), isLearner: true })).member!.ID.toString(16);
      } finally {
        c.close();
      }
    });
    after(() => srv?.stop());

    const refusals: Array<[string, (i: Ids) => [Ids, () => string], number, string]> = [
      ['a sender the member does not know', (i) => [i, () => STRANGER], 404, 'error sender not found\n'],
      ['a removed member', (i) => [i, () => removed], 410, 'removed member\n'],
      ['another cluster', (i) => [{ ...i, cluster: 'c0ffee' }, () => known], 412, 'cluster ID mismatch\n'],
      ['another addressee', (i) => [{ ...i, member: STRANGER }, () => known], 412, 'to field mismatch\n'],
    ];
    for (const [name, make, status, body] of refusals)
      test(`${name}: ${status} ${JSON.stringify(body)}`, async () => {
        const [i, from] = make(ids);
        const r = await ask(port, streamRequest(kind, i, from()));
        r.sock.destroy();
        assert.equal(r.status, status, r.body);
        assert.equal(r.body, body);
      });

    test('a member of the cluster gets its stream', async () => {
      const r = await ask(port, streamRequest(kind, ids, known));
      r.sock.destroy();
      assert.equal(r.status, kind === 'conclave' ? 101 : 200, r.body);
    });

    if (kind === 'conclave') {
      test('a stream that goes silent, or stops half-way through a frame, is closed 5-6 s after its last byte; one with heartbeats stays', async (t) => {
        /** A stream, and the time from its last byte (the upgrade, or `first` sent at once) to its close. */
        const open = async (first?: Buffer): Promise<[net.Socket, Promise<number>]> => {
          const r = await ask(port, streamRequest(kind, ids, known));
          assert.equal(r.status, 101);
          if (first) r.sock.write(first);
          return [r.sock, closedAfter(r.sock, IDLE_MS + 5_000)];
        };
        const [[silent, silentClosed], [half, halfClosed], [beating]] = await Promise.all([
          open(),
          // a frame announcing 100 bytes, 10 of them sent
          open(Buffer.concat([Buffer.from([0, 0, 0, 100]), Buffer.alloc(10, 1)])),
          open(),
        ]);
        const beat = setInterval(() => beating.write(Buffer.alloc(4)), 1_000);
        try {
          const [a, b, c] = await Promise.all([silentClosed, halfClosed, closedAfter(beating, IDLE_MS + 2_000)]);
          t.diagnostic(`silent stream closed after ${a} ms, half a frame after ${b} ms`);
          for (const ms of [a, b]) assert.ok(ms >= IDLE_MS - 100 && ms <= IDLE_MS + 2_000, `closed after ${ms} ms`);
          assert.equal(c, Infinity, 'the stream with heartbeats is open');
          assert.match(srv.log(), new RegExp(`"msg":"closed a silent Raft stream"[^\\n]*"remote-peer-id":"${known}"`));
        } finally {
          clearInterval(beat);
          for (const s of [silent, half, beating]) s.destroy();
        }
      });
    }
  });
}
