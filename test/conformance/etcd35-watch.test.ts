// Watch progress notifications as etcd 3.5.30 sends them, side by side with Conclave (one member
// each, progress notify interval 500 ms): what kube-apiserver relies on to serve consistent reads
// from its watch cache (it turns that on from etcd 3.4.31 / 3.5.13), and the reason Conclave may
// report 3.5.30. Checked:
//   - a requested notification (watch ID -1) comes after every event of the stream up to its
//     revision, and before any later one; two requests, two notifications;
//   - none on a stream without watchers, none while a watcher's start revision is still ahead;
//   - periodic notifications (progress_notify) carry the watcher's ID and skip such watchers;
//   - a negative start revision is refused;
//   - under concurrent writes, with requests every 50 ms as kube-apiserver sends them, every
//     notification at revision R has all events ≤ R before it and none after it, on every watcher.
// (When a request comes while a watcher is still catching up, etcd drops it and the client asks
// again; Conclave catches up at once rather than every 100 ms, so the moment differs, not the rule.)

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { etcdserverpb } from '@conclave/api';
import { streamClient, type StreamClient } from '../helpers/etcd-streams.js';
import { etcd35AndConclave } from '../helpers/side-by-side.js';

type Res = etcdserverpb.WatchResponse;

const buf = (s: string) => Buffer.from(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A response as text: id, header revision, flags, events as key@revision. */
function brief(r: Res): string {
  const flags = `${r.created ? ' created' : ''}${r.canceled ? ` canceled(${r.cancelReason})` : ''}`;
  const evs = r.events.map((e) => `${Buffer.from(e.kv!.key).toString()}@${e.kv!.modRevision}`).join(',');
  return `${r.watchId} @${r.header?.revision}${flags}${evs ? ` ${evs}` : ''}`;
}

describe('watch progress notifications against etcd 3.5.30 and Conclave', () => {
  const pair = etcd35AndConclave({
    args: ['--experimental-watch-progress-notify-interval', '500ms'],
    client: (s) => streamClient(s.endpoint),
  });

  /** Runs `scenario` on both servers (they see the same writes); returns [etcd, conclave]. */
  const both = <T>(scenario: (c: StreamClient) => Promise<T>) =>
    Promise.all(pair.clients.map((c) => scenario(c))) as Promise<[T, T]>;

  test('requested: after the events up to its revision; none without watchers; none before a start revision', async () => {
    const [e, c] = await both(async (cl) => {
      const w = cl.watch();
      w.write({ progressRequest: {} }); // no watchers: no answer
      await sleep(300);
      const none = w.responses.length;
      w.write({ createRequest: { key: buf('k') } });
      await w.count(1);
      const put = await cl.put({ key: buf('k'), value: buf('v') });
      w.write({ progressRequest: {} });
      w.write({ progressRequest: {} });
      await w.count(4);
      // a watcher whose start revision is 3 ahead: no progress until the store gets there
      const ahead = Number(put.header!.revision) + 3;
      w.write({ createRequest: { key: buf('f'), startRevision: ahead, watchId: 5 } });
      await w.count(5);
      await sleep(200);
      w.write({ progressRequest: {} });
      await cl.put({ key: buf('other'), value: buf('1') });
      await cl.put({ key: buf('other'), value: buf('2') });
      await sleep(300);
      w.write({ progressRequest: {} });
      await sleep(300);
      const before = w.responses.length;
      await cl.put({ key: buf('other'), value: buf('3') }); // the start revision
      w.write({ progressRequest: {} });
      await w.count(before + 1);
      await sleep(200);
      w.cancel();
      return { none, responses: w.responses.map(brief) };
    });
    assert.deepEqual(c, e);
    assert.equal(c.none, 0);
    assert.deepEqual(c.responses.slice(0, 4), ['0 @1 created', '0 @2 k@2', '-1 @2', '-1 @2']);
    assert.deepEqual(c.responses.slice(4), ['5 @2 created', '-1 @5']);
  });

  test('periodic: the watcher ID at the current revision; none for a watcher whose start is ahead', async () => {
    const [e, c] = await both(async (cl) => {
      const rev = Number((await cl.put({ key: buf('p'), value: buf('1') })).header!.revision);
      const w = cl.watch();
      w.write({ createRequest: { key: buf('idle'), progressNotify: true, watchId: 1 } });
      w.write({ createRequest: { key: buf('later'), progressNotify: true, startRevision: rev + 10, watchId: 2 } });
      await sleep(1300);
      w.cancel();
      const ids = [...new Set(w.responses.filter((r) => !r.created).map((r) => `${r.watchId} @${r.header?.revision}`))];
      return { created: w.responses.filter((r) => r.created).map(brief), progress: ids };
    });
    assert.deepEqual(c, e);
    assert.equal(c.progress.length, 1);
    assert.match(c.progress[0]!, /^1 @\d+$/);
  });

  test('a negative start revision is refused, as compacted', async () => {
    const [e, c] = await both(async (cl) => {
      const w = cl.watch();
      w.write({ createRequest: { key: buf('n'), startRevision: -1 } });
      w.write({ createRequest: { key: buf('n'), startRevision: -100, prevKv: true } });
      await w.count(2);
      w.cancel();
      return w.responses.map(brief);
    });
    assert.deepEqual(c, e);
    assert.equal(
      c[0]!.replace(/@\d+/, '@R'),
      '-1 @R created canceled(etcdserver: mvcc: required revision has been compacted)',
    );
  });

  test('under concurrent writes, every notification at R follows all events ≤ R and precedes all later ones', async () => {
    const check = async (cl: StreamClient): Promise<{ progress: number; events: number }> => {
      const first = Number((await cl.put({ key: buf('x/0'), value: buf('0') })).header!.revision);
      const prefixes = ['a/', 'b/', 'c/'];
      const w = cl.watch();
      // from an older revision (the watchers start by catching up) and from now
      prefixes.forEach((p, i) =>
        w.write({
          createRequest: {
            key: buf(p),
            rangeEnd: buf(p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1)),
            startRevision: i === 2 ? 0 : first,
          },
        }),
      );
      await w.until((rs) => rs.filter((r) => r.created).length === 3);
      const written: Array<{ key: string; rev: number }> = [];
      const ask = setInterval(() => w.write({ progressRequest: {} }), 50);
      const writer = (async () => {
        for (let i = 0; i < 300; i++) {
          const key = `${prefixes[i % 3]}${i}`;
          const r = await cl.put({ key: buf(key), value: buf(String(i)) });
          written.push({ key, rev: Number(r.header!.revision) });
          if (i % 7 === 0) await cl.put({ key: buf(`z/${i}`), value: buf('unwatched') });
        }
      })();
      await writer;
      const last = written.at(-1)!.rev;
      await w.until((rs) => rs.some((r) => r.watchId === -1n && Number(r.header!.revision) >= last), 10_000);
      clearInterval(ask);
      w.cancel();
      // Replay the stream: the events seen so far, per watcher; at each notification all written
      // events up to its revision must have arrived, and nothing after it may be at or below it.
      const seen = new Set<string>();
      let progress = 0;
      let lastProgress = 0;
      const watchedFrom = (key: string) => (key.startsWith('c/') ? 0 : first);
      for (const r of w.responses) {
        for (const ev of r.events) {
          const key = Buffer.from(ev.kv!.key).toString();
          const rev = Number(ev.kv!.modRevision);
          assert.ok(rev > lastProgress, `event ${key}@${rev} after a notification at ${lastProgress}`);
          seen.add(`${key}@${rev}`);
        }
        if (r.watchId !== -1n || r.created) continue;
        const at = Number(r.header!.revision);
        progress++;
        lastProgress = Math.max(lastProgress, at);
        for (const wr of written)
          if (wr.rev <= at && wr.rev >= watchedFrom(wr.key))
            assert.ok(seen.has(`${wr.key}@${wr.rev}`), `notification at ${at} before ${wr.key}@${wr.rev}`);
      }
      return { progress, events: seen.size };
    };
    const [e, c] = await both(check);
    assert.ok(e.progress > 0 && c.progress > 0, `notifications: etcd ${e.progress}, conclave ${c.progress}`);
    assert.equal(c.events, e.events);
  });
});
