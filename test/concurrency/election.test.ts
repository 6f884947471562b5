// Election against a 3-member etcd 3.4 cluster and a 3-member Conclave cluster: one leader at a time
// under contention, observe reporting exactly the sequence of leader states (checked against a replay
// of the raw key history, "no leader" included), resign handing over, failover when the leader's
// session expires (the old leader told first), and the errors of a non-leader.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortedError, ElectionNotLeaderError, type KeyValue, type WatchEvent } from '@conclave/client';
import { Election, ReleasedError, Session, SessionExpiredError, type LeaderChange } from '@conclave/concurrency';
import { delay, describeClusters, until } from './clusters.js';

const describeLeader = (l: KeyValue | undefined): string => (l ? `${l.keyString}=${l.valueString}` : '(none)');

/** Leader states by revision, replayed from the raw history of the prefix: the oracle for observe. */
function replay(events: WatchEvent[]): string[] {
  const live = new Map<string, KeyValue>();
  const out: string[] = [];
  let last: string | undefined = '(none)';
  out.push(last);
  for (let i = 0; i < events.length; ) {
    const rev = events[i]!.kv.modRevision;
    for (; i < events.length && events[i]!.kv.modRevision === rev; i++) {
      const e = events[i]!;
      if (e.type === 'delete') live.delete(e.kv.keyString);
      else live.set(e.kv.keyString, e.kv);
    }
    let leader: KeyValue | undefined;
    for (const kv of live.values()) if (!leader || kv.createRevision < leader.createRevision) leader = kv;
    const d = describeLeader(leader);
    if (d !== last) out.push((last = d));
  }
  return out;
}

describeClusters((ctx) => {
  test('one leader at a time; observe sees every change, no-leader included; resign hands over', {
    timeout: 60_000,
  }, async () => {
    const p = ctx.prefix('el');
    const start = (await ctx.client.put(`${p}-start`, '')).revision;
    const history: WatchEvent[] = [];
    const raw = ctx.client.watch(`${p}/`, { prefix: true, startRevision: start + 1n });
    const rawDone = (async () => {
      for await (const e of raw.events()) history.push(e);
    })();
    const observed: LeaderChange[] = [];
    const observer = Election.observe(ctx.newClient(), p);
    const observing = (async () => {
      for await (const c of observer) observed.push(c);
    })();
    await until(() => observed.length === 1, 5000, 'the first observation');
    assert.equal(observed[0]!.leader, undefined, 'nobody leads yet');

    const sessions = await Promise.all([0, 1, 2].map(() => Session.create(ctx.newClient(), { ttl: 5 })));
    let leaders = 0;
    let most = 0;
    const terms: bigint[] = [];
    const campaign = async (s: Session, name: string, rounds: number): Promise<void> => {
      const e = new Election(s, p);
      for (let i = 0; i < rounds; i++) {
        await e.campaign(`${name}-${i}`, { timeoutMs: 20_000 });
        most = Math.max(most, ++leaders);
        terms.push(e.rev);
        assert.equal((await e.leader())?.valueString, `${name}-${i}`);
        await e.proclaim(`${name}-${i}-proclaimed`);
        await delay(5);
        leaders--;
        await e.resign();
      }
    };
    // contention: three candidates hand leadership over to each other
    await Promise.all(sessions.map((s, i) => campaign(s, `c${i}`, 3)));
    // then a lone candidate, elected from "no leader" and resigning to "no leader"
    await campaign(sessions[0]!, 'solo', 1);
    assert.equal(most, 1, 'two leaders at once');
    for (let i = 1; i < terms.length; i++) assert.ok(terms[i]! > terms[i - 1]!, 'terms must increase');
    assert.equal(await new Election(sessions[1]!, p).leader(), undefined);

    const last = (await ctx.client.put(`${p}-start`, '')).revision;
    await until(
      () => raw.revision >= last - 1n && observed[observed.length - 1]!.leader === undefined && observed.length > 20,
      5000,
      'observe to catch up',
    );
    await delay(100);
    observer.return?.();
    raw.close();
    await Promise.all([observing, rawDone]);
    const expected = replay(history);
    assert.deepEqual(
      observed.map((c) => describeLeader(c.leader)),
      expected,
    );
    for (let i = 1; i < observed.length; i++) assert.ok(observed[i]!.revision > observed[i - 1]!.revision);
    // 10 terms, each seen with its campaign value and then its proclaimed value
    assert.equal(observed.filter((c) => c.leader?.valueString.endsWith('-proclaimed')).length, 10);
    assert.ok(
      observed.filter((c) => c.leader === undefined).length >= 3,
      'no-leader before, around and after the solo term',
    );
    assert.equal(describeLeader(observed.at(-4)!.leader), '(none)', 'the solo term starts from no leader');
    await Promise.all(sessions.map((s) => s.close()));
  });

  test("failover: the leader's session expires; it is told before the next candidate is elected", {
    timeout: 60_000,
  }, async () => {
    const p = ctx.prefix('fo');
    const sa = await Session.create(ctx.newClient(), { ttl: 2 });
    const sb = await Session.create(ctx.newClient(), { ttl: 5 });
    const a = new Election(sa, p);
    const b = new Election(sb, p);
    const observed: string[] = [];
    const observer = b.observe();
    const observing = (async () => {
      for await (const c of observer) observed.push(describeLeader(c.leader));
    })();
    await a.campaign('a');
    let toldAt = 0;
    a.signal.addEventListener('abort', () => (toldAt = performance.now()));
    let electedAt = 0;
    const bWins = b.campaign('b').then(() => (electedAt = performance.now()));
    await until(
      async () => (await ctx.client.range(`${p}/`, { prefix: true, countOnly: true })).count === 2,
      5000,
      'b to queue',
    );
    sa.orphan(); // a stops renewing, as if partitioned away
    await bWins;
    assert.ok(toldAt > 0 && toldAt < electedAt, `a told at ${toldAt}, b elected at ${electedAt}`);
    const why = a.signal.reason;
    assert.ok(why instanceof ReleasedError && why.reason === 'session-lost', String(why));
    assert.ok(why.cause instanceof SessionExpiredError);
    assert.equal(a.isElected, false);
    await assert.rejects(a.proclaim('still me?'), ElectionNotLeaderError);
    assert.equal((await b.leader())?.valueString, 'b');
    assert.ok(b.rev > a.rev);
    await until(() => observed.at(-1) === `${b.key}=b`, 5000, 'observe to report b');
    assert.deepEqual(observed, ['(none)', `${a.key}=a`, `${b.key}=b`].slice(observed[0] === '(none)' ? 0 : 1));
    await b.resign();
    await until(() => observed.at(-1) === '(none)', 5000, 'observe to report no leader');
    observer.return?.();
    await observing;
    await sb.close();
  });

  test('campaign abort withdraws the candidacy; a non-leader cannot proclaim; a resumed lease keeps its candidacy', {
    timeout: 60_000,
  }, async () => {
    const p = ctx.prefix('ab');
    const sa = await Session.create(ctx.client, { ttl: 5 });
    const sb = await Session.create(ctx.newClient(), { ttl: 5 });
    const a = new Election(sa, p);
    const b = new Election(sb, p);
    await assert.rejects(b.proclaim('x'), ElectionNotLeaderError);
    await a.campaign('a');
    const ac = new AbortController();
    const waiting = b.campaign('b', { signal: ac.signal });
    await until(async () => (await ctx.client.get(b.key)) !== undefined, 5000, 'b to queue');
    ac.abort();
    await assert.rejects(waiting, AbortedError);
    assert.equal(await ctx.client.get(b.key), undefined);
    // a restarted process takes its lease back (Go's WithLease) and, with it, its leadership
    const again = await Session.create(ctx.newClient(), { lease: sa.lease, ttl: 5 });
    const a2 = new Election(again, p);
    await a2.campaign('a-restarted');
    assert.equal(a2.rev, a.rev);
    assert.equal((await a2.leader())?.valueString, 'a-restarted');
    await a2.resign();
    assert.equal(await a2.leader(), undefined);
    sa.orphan();
    await Promise.all([again.close(), sb.close()]);
  });
});
