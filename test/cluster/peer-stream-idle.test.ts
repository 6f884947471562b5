// Raft streams between members carry a heartbeat frame after a second without a message, and a member
// closes a stream from which nothing arrives for 5 s (issue 13; peer/limits.ts streamIdleMs). In a
// 4-member cluster one follower is stopped (SIGSTOP): the three others close its streams within the
// bound, while the streams between the two other followers, which carry no Raft message at all (only
// the leader talks to followers), stay up all along: no member logs a closed or lost stream of
// anyone else. Resumed, the stopped member reconnects, does not close the streams whose bytes waited
// for it (it counts checks, not seconds: docs/hardening.md), and serves again. Before, a stopped
// member's streams were kept forever.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestCluster } from '../helpers/cluster.js';
import { etcdctl } from '../helpers/etcdctl.js';

const IDLE_MS = 5_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lines of `log` with message `msg` naming remote peer `id` (any peer when id is undefined). */
function logged(log: string, msg: string, id?: string): string[] {
  return log
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`) && (id === undefined || l.includes(`"remote-peer-id":"${id}"`)));
}

test('a stopped member’s streams are closed 5-6 s after their last byte; idle streams between the others stay', (t) =>
  TestCluster.using(4, {}, async (c) => {
    const lead = await c.waitLeader();
    const stopped = c.members.find((m) => m.index !== lead)!;
    const others = c.members.filter((m) => m !== stopped);
    // the streams all members opened at start: up before the clock starts
    await sleep(500);
    c.pause(stopped.index);
    const paused = Date.now();
    const closedAt = new Map<string, number>();
    try {
      while (closedAt.size < others.length && Date.now() - paused < IDLE_MS + 3_000) {
        for (const m of others)
          if (!closedAt.has(m.name) && logged(m.log, 'closed a silent Raft stream', stopped.id).length > 0)
            closedAt.set(m.name, Date.now() - paused);
        await sleep(50);
      }
    } finally {
      c.resume(stopped.index);
    }
    const times = others.map((m) => closedAt.get(m.name) ?? Infinity);
    t.diagnostic(`the stopped member's streams were closed after ${times.join(', ')} ms`);
    assert.ok(
      // 5-6 s after the last byte, which came up to a second before the pause (a heartbeat frame)
      times.every((ms) => ms >= IDLE_MS - 1_500 && ms <= IDLE_MS + 2_000),
      `the stopped member's streams were closed after ${times.join(', ')} ms`,
    );
    // No other stream was closed or lost, among them the followers' streams to each other, which
    // carried nothing but heartbeat frames for the whole run.
    for (const m of others) {
      const closed = logged(m.log, 'closed a silent Raft stream').filter((l) => !l.includes(stopped.id));
      const lost = logged(m.log, 'peer became inactive (message send to peer failed)');
      assert.deepEqual([...closed, ...lost], [], `${m.name} closed or lost a stream`);
    }
    // Resumed, the member reconnects and serves; it closed none of the streams waiting for it.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await etcdctl(stopped.endpoint, ['put', 'after-resume', 'v', '--command-timeout', '2s']);
      if (r.code === 0) break;
      assert.ok(Date.now() < deadline, `the resumed member does not serve: ${r.stderr}`);
      await sleep(100);
    }
    // every stream of its own that was closed while it was stopped is up again
    const reconnected = (): boolean =>
      others.every(
        (m) =>
          logged(stopped.log, 'peer became active', m.id).length >=
          logged(stopped.log, 'peer became inactive (message send to peer failed)', m.id).length,
      );
    while (!reconnected() && Date.now() < deadline) await sleep(50);
    assert.ok(reconnected(), `${stopped.name} did not reconnect:\n${stopped.log}`);
    assert.deepEqual(logged(stopped.log, 'closed a silent Raft stream'), [], `${stopped.name} closed a stream`);
  }));
