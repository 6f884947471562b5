// A double barrier (etcd contrib/recipes DoubleBarrier, same keys): `count` participants `enter()`
// and are all let through once the last one arrives; later they `leave()`, and are all let through
// once every one has left. Participants register as `key/waiters/<unique>` under their session's
// lease, so one that dies is dropped when its lease expires and the others are not blocked forever;
// the last to arrive writes `key/ready`.

import { cmp, op, type CallOptions } from '@conclave/client';
import { anySignal, waitForDelete, waitForEvent } from '../util/async.js';
import { TooManyClientsError } from '../util/errors.js';
import { uniqueSuffix } from '../util/keys.js';
import { callOptions, checkCount, checkString } from '@conclave/client/internal';
import { checkSession, type Session } from '../session/session.js';

/** A double barrier (etcd contrib/recipes): `count` participants enter together and leave together. */
export class DoubleBarrier {
  private myKey: string | undefined;
  private myRev: bigint | undefined;

  constructor(
    readonly session: Session,
    readonly key: string,
    readonly count: number,
  ) {
    checkSession(session, 'DoubleBarrier: session');
    checkString(key, 'DoubleBarrier: key', true);
    checkCount(count, 'DoubleBarrier: count');
  }

  private get waiters(): string {
    return `${this.key}/waiters/`;
  }

  private get ready(): string {
    return `${this.key}/ready`;
  }

  /** Registers and waits until `count` participants have entered. Rejects with TooManyClientsError beyond `count`. */
  async enter(opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void> {
    opts = callOptions(opts, 'DoubleBarrier.enter');
    if (this.myKey) throw new TypeError('DoubleBarrier: already entered');
    const signal = this.session.linkedSignal(opts.signal, opts.timeoutMs);
    const kv = this.session.client;
    const key = `${this.waiters}${uniqueSuffix(this.session.lease)}`;
    const put = await kv
      .txn()
      .if(cmp.version(key, '=', 0))
      .then(op.put(key, '', { lease: this.session.lease }))
      .commit({ signal })
      .catch((e: unknown) => {
        throw this.session.mapError(e);
      });
    this.myKey = key;
    this.myRev = put.revision;
    const r = await kv.range(this.waiters, { prefix: true, countOnly: true, signal });
    if (r.count > this.count) throw new TooManyClientsError(this.count);
    if (r.count === this.count) {
      await kv.put(this.ready, '', { signal });
      return;
    }
    for (;;) {
      const ev = await waitForEvent(kv, this.ready, { fromRevision: this.myRev, type: 'put' }, signal);
      if (ev) return;
      // history compacted: look at the key itself
      const ready = await kv.get(this.ready, { signal });
      if (ready && ready.modRevision >= this.myRev) return;
    }
  }

  /** Leaves and waits until every participant has left. */
  async leave(opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void> {
    opts = callOptions(opts, 'DoubleBarrier.leave');
    const signal = anySignal([this.session.signal, opts.signal], opts.timeoutMs);
    const kv = this.session.client;
    const mine = this.myKey;
    if (!mine) throw new TypeError('DoubleBarrier: not entered');
    for (;;) {
      const r = await kv.range(this.waiters, { prefix: true, signal });
      if (r.kvs.length === 0) break;
      let lowest = r.kvs[0]!;
      let highest = r.kvs[0]!;
      for (const k of r.kvs) {
        if (k.modRevision < lowest.modRevision) lowest = k;
        if (k.modRevision > highest.modRevision) highest = k;
      }
      const meFound = r.kvs.some((k) => k.keyString === mine);
      if (r.kvs.length === 1 && meFound) {
        // the last one out: reset the barrier for its next use
        await kv.txn().then(op.delete(this.ready), op.delete(mine)).commit({ signal });
        break;
      }
      if (lowest.keyString === mine) {
        // the lowest waits for the highest to go, then looks again
        await waitForDelete(kv, highest.key, r.revision + 1n, signal);
        continue;
      }
      if (meFound) await kv.delete(mine, { signal });
      await waitForDelete(kv, lowest.key, r.revision + 1n, signal);
    }
    this.myKey = undefined;
    this.myRev = undefined;
  }

  /** Withdraws from the barrier without waiting (deletes this participant's key). */
  async abandon(opts?: CallOptions): Promise<void> {
    opts = callOptions(opts, 'DoubleBarrier.abandon');
    const mine = this.myKey;
    this.myKey = undefined;
    this.myRev = undefined;
    if (mine) await this.session.client.delete(mine, opts);
  }
}
