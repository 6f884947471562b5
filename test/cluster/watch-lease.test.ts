// Watch and Lease in a 3-member cluster through a leader kill: watchers on every member see exactly
// the committed events of their range, in order, once; a lease kept alive through a follower survives
// the election and is not revoked early; it expires once keep-alives stop; revoke during keep-alive.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { etcdserverpb } from '@conclave/api';
import { TestCluster } from '../helpers/cluster.js';
import { streamClient, type RawStream, type StreamClient } from '../helpers/etcd-streams.js';

const b = (s: string) => Buffer.from(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cluster: TestCluster;
const clients: StreamClient[] = [];

before(async () => {
  cluster = await TestCluster.start(3);
});
after(async () => {
  for (const c of clients) c.close();
  await cluster?.stop();
});

function client(i: number): StreamClient {
  const c = streamClient(cluster.members[i]!.endpoint);
  clients.push(c);
  return c;
}

type Ev = string; // "PUT key value rev" / "DELETE key rev"

function eventsOf(rs: etcdserverpb.WatchResponse[]): Ev[] {
  const out: Ev[] = [];
  for (const r of rs) {
    for (const e of r.events) {
      const kv = e.kv!;
      out.push(
        `${e.type === 1 ? 'DELETE' : 'PUT'} ${Buffer.from(kv.key).toString()} ${e.type === 1 ? '' : Buffer.from(kv.value).toString()} ${kv.modRevision}`,
      );
    }
  }
  return out;
}

async function retry<T>(fn: () => Promise<T>, ms = 10000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

describe('watch and lease through a leader kill', () => {
  test('watchers on every member see exactly the committed events, in order, once', async () => {
    const leader = await cluster.waitLeader();
    const followers = [0, 1, 2].filter((i) => i !== leader);
    const start = Number((await client(followers[0]!).put({ key: b('w/start'), value: b('x') })).header!.revision) + 1;
    // Watchers on the followers (they survive): a prefix, a single key, a range.
    const specs = [{ key: b('w/'), rangeEnd: b('w0') }, { key: b('w/k3') }, { key: b('w/k1'), rangeEnd: b('w/k5') }];
    const streams: Array<{
      s: RawStream<etcdserverpb.WatchRequest, etcdserverpb.WatchResponse>;
      spec: (typeof specs)[number];
    }> = [];
    for (const f of followers) {
      for (const spec of specs) {
        const s = client(f).watch();
        s.write({ createRequest: { ...spec, startRevision: start } });
        await s.count(1);
        streams.push({ s, spec });
      }
    }
    // Writes through the followers while the leader is killed (retrying through the election).
    const writers = followers.map((f, w) => {
      const c = client(f);
      return (async () => {
        for (let i = 0; i < 60; i++) {
          const key = b(`w/k${i % 8}`);
          if (i % 7 === 6) await retry(() => c.deleteRange({ key }));
          else await retry(() => c.put({ key, value: b(`${w}-${i}`) }));
        }
      })();
    });
    await sleep(300);
    await cluster.kill(leader);
    await Promise.all(writers);
    const last = Number((await client(followers[0]!).put({ key: b('w/end'), value: b('x') })).header!.revision);

    // The canonical history: a fresh watch from the start on a surviving member.
    const canon = client(followers[1]!).watch();
    canon.write({ createRequest: { key: b('w/'), rangeEnd: b('w0'), startRevision: start } });
    await canon.until((rs) => eventsOf(rs).some((e) => e.endsWith(` ${last}`)), 10000);
    const all = eventsOf(canon.responses);
    for (const { s, spec } of streams) {
      const inRange = (e: Ev): boolean => {
        const key = e.split(' ')[1]!;
        const end = spec.rangeEnd ? Buffer.from(spec.rangeEnd).toString() : null;
        return end === null
          ? key === Buffer.from(spec.key).toString()
          : key >= Buffer.from(spec.key).toString() && key < end;
      };
      const want = all.filter(inRange);
      await s.until((rs) => eventsOf(rs).length >= want.length, 10000);
      assert.deepEqual(eventsOf(s.responses), want);
      // All events of one revision arrive in one response.
      const revs = s.responses.flatMap((r) => [...new Set(r.events.map((e) => String(e.kv!.modRevision)))]);
      assert.equal(new Set(revs).size, revs.length, 'a revision was split over responses');
    }
    await cluster.restart(leader);
  });

  test('a lease kept alive through a follower survives the leader kill and is not revoked early', async () => {
    const leader = await cluster.waitLeader();
    const f = (leader + 1) % 3;
    const c = client(f);
    const grant = await c.leaseGrant({ TTL: 3 });
    await c.put({ key: b('l/alive'), value: b('v'), lease: grant.ID });
    const ka = c.keepAlive();
    let answered = 0;
    const stopKeepalive = (() => {
      let stop = false;
      void (async () => {
        while (!stop) {
          ka.write({ ID: grant.ID });
          const n = answered + 1;
          await ka.count(n, 2000).then(
            () => (answered = n),
            () => {},
          );
          await sleep(500);
        }
      })();
      return () => (stop = true);
    })();
    await sleep(600);
    await cluster.kill(leader);
    // Through the election and for longer than the TTL, the key must stay.
    for (let t = 0; t < 10; t++) {
      const r = await retry(() => c.range({ key: b('l/alive'), serializable: true }));
      assert.equal(r.kvs.length, 1, `key gone after ${t * 500} ms`);
      await sleep(500);
    }
    assert.ok(
      ka.responses.every((r) => r.TTL > 0n),
      'a keep-alive answered TTL 0',
    );
    // Keep-alives stop: the key goes within about the TTL (plus the election extension).
    stopKeepalive();
    const stoppedAt = Date.now();
    await retry(async () => {
      const r = await c.range({ key: b('l/alive') });
      if (r.kvs.length !== 0) throw new Error('still there');
    }, 10000);
    const after = Date.now() - stoppedAt;
    assert.ok(after >= 2000, `lease revoked ${after} ms after the last keep-alive (TTL 3 s)`);
    ka.cancel();
    await cluster.restart(leader);
  });

  test('revoke during keep-alive: keys deleted, later keep-alives answer TTL 0', async () => {
    const c = client(0);
    const grant = await c.leaseGrant({ TTL: 10 });
    await c.put({ key: b('r/1'), value: b('v'), lease: grant.ID });
    await c.put({ key: b('r/2'), value: b('v'), lease: grant.ID });
    const ka = c.keepAlive();
    ka.write({ ID: grant.ID });
    await ka.count(1);
    assert.ok(ka.responses[0]!.TTL > 0n);
    const rev = await client(1).leaseRevoke({ ID: grant.ID });
    const r = await c.range({ key: b('r/'), rangeEnd: b('r0') });
    assert.equal(r.kvs.length, 0);
    ka.write({ ID: grant.ID });
    await ka.count(2);
    assert.equal(ka.responses[1]!.TTL, 0n);
    // Both keys went in one revision (the revoke's).
    const w = c.watch();
    w.write({ createRequest: { key: b('r/'), rangeEnd: b('r0'), startRevision: rev.header!.revision } });
    await w.until((rs) => eventsOf(rs).length >= 2);
    assert.deepEqual(
      eventsOf(w.responses).map((e) => e.split(' ').at(-1)),
      [String(rev.header!.revision), String(rev.header!.revision)],
    );
    ka.cancel();
    w.cancel();
  });

  test('many concurrent keep-alives of one lease through a follower: all renewed, all told once it is gone', async () => {
    const leader = await cluster.waitLeader();
    const follower = client((leader + 1) % 3);
    const grant = await follower.leaseGrant({ TTL: 6 });
    await sleep(1500);
    // 60 keep-alive streams, one request each, sent together (they share forwards to the leader)
    const streams = Array.from({ length: 60 }, () => follower.keepAlive());
    for (const ka of streams) ka.write({ ID: grant.ID });
    await Promise.all(streams.map((ka) => ka.count(1)));
    for (const ka of streams) {
      assert.equal(ka.responses[0]!.ID, grant.ID);
      assert.equal(ka.responses[0]!.TTL, 6n);
    }
    // the renewal happened after the requests: the lease has (nearly) its full TTL again
    const ttl = await client(leader).leaseTimeToLive({ ID: grant.ID });
    assert.ok(ttl.TTL >= 5n, `remaining TTL ${ttl.TTL}`);
    await follower.leaseRevoke({ ID: grant.ID });
    for (const ka of streams) ka.write({ ID: grant.ID });
    await Promise.all(streams.map((ka) => ka.count(2)));
    for (const ka of streams) assert.equal(ka.responses[1]!.TTL, 0n);
    for (const ka of streams) ka.cancel();
  });
});
