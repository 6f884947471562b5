// Leader election with etcd's Go key layout (`prefix/<lease id in hex>`, value = the proclaimed
// value, leader = the oldest key by create revision), so Go (clientv3/concurrency.Election, etcdctl
// elect) and TypeScript candidates take part in the same election. Campaigning is the Mutex waiting
// line (mutex/queue-key.ts): each candidate waits only on its predecessor, and leadership is granted
// only by a read showing the candidate's own key still alive.
//
// A leader is told when its session ends (`signal`); the leader key's create revision (`rev`) is a
// term number, strictly increasing across leaders, and `isLeader()` guards writes in transactions.

import { cmp, op, type CallOptions, type Compare, type KeySpace, type KeyValue } from '@conclave/client';
import { abortedError, retrying } from '../util/async.js';
import { NotHeldError, notLeader } from '../util/errors.js';
import { FIRST_CREATE, acquireLocal, leaseHex } from '../util/keys.js';
import { Hold, enqueue, release, releaseQuietly, releasedReason, waitTurn } from '../mutex/queue-key.js';
import type { Session } from '../session/session.js';
import { observeElection, type LeaderChange } from './observe.js';

export interface CampaignOptions {
  /** Gives up the campaign (the candidacy is withdrawn); rejects with AbortedError. */
  signal?: AbortSignal;
  timeoutMs?: number;
}

export class Election {
  /** The election's key prefix, with the trailing "/". */
  readonly prefix: string;
  /** This candidate's key: `prefix/<lease id in hex>`. */
  readonly key: string;
  private hold: Hold | undefined;
  private busy = false;

  constructor(
    readonly session: Session,
    prefix: string,
  ) {
    this.prefix = `${prefix}/`;
    this.key = `${this.prefix}${leaseHex(session.lease)}`;
  }

  /** Observes the election under `prefix` without taking part in it (no session needed). */
  static observe(
    client: KeySpace,
    prefix: string,
    opts: { signal?: AbortSignal } = {},
  ): AsyncIterableIterator<LeaderChange> {
    return observeElection(client, `${prefix}/`, opts);
  }

  /** The current leader of the election under `prefix`, or undefined. */
  static async leader(client: KeySpace, prefix: string, opts: CallOptions = {}): Promise<KeyValue | undefined> {
    const r = await client.range(`${prefix}/`, { ...FIRST_CREATE, ...opts });
    return r.kvs[0];
  }

  /**
   * Becomes a candidate with `value` and resolves once elected. Rejects with SessionExpiredError if
   * the session is lost meanwhile; on abort the candidacy is withdrawn. If this session already has
   * a candidacy (e.g. a resumed lease), it is reused and its value updated.
   */
  async campaign(value: string, opts: CampaignOptions = {}): Promise<void> {
    if (this.busy || this.hold) throw new TypeError('Election: already campaigning or leader through this object');
    this.busy = true;
    const signal = this.session.linkedSignal(opts.signal, opts.timeoutMs);
    let rev: bigint | undefined;
    let local: (() => void) | undefined;
    try {
      local = await acquireLocal(this.session, this.key, signal);
      const q = await enqueue(this.session, this.key, value, undefined, signal);
      rev = q.rev;
      if (q.existed && q.existed.valueString !== value) {
        const r0 = rev;
        const p = await retrying(
          () =>
            this.session.client
              .txn()
              .if(cmp.createRevision(this.key, '=', r0))
              .then(op.put(this.key, value, { lease: this.session.lease }))
              .commit({ signal }),
          signal,
        );
        if (!p.succeeded) throw notLeader();
      }
      const at = await waitTurn(this.session, this.key, rev, this.prefix, signal);
      if (signal.aborted) throw abortedError(signal);
      this.hold = new Hold(this.session, this.key, rev, at, local);
    } catch (e) {
      // withdraw (only if this object got the key), then let another object of this session use it
      if (local) await releaseQuietly(this.session, this.key, rev);
      local?.();
      throw this.session.mapError(e);
    } finally {
      this.busy = false;
    }
  }

  /**
   * Announces a new value without a new election. Rejects with ElectionNotLeaderError ("election:
   * not leader") if this candidate is not (or no longer) the leader.
   */
  async proclaim(value: string, opts: CallOptions = {}): Promise<void> {
    const h = this.hold;
    if (!h || h.signal.aborted) throw notLeader();
    let ok: boolean;
    try {
      const r = await retrying(
        () =>
          this.session.client
            .txn()
            .if(cmp.createRevision(h.key, '=', h.rev))
            .then(op.put(h.key, value, { lease: this.session.lease }))
            .commit(opts),
        opts.signal,
        this.session.ttl * 1000,
      );
      ok = r.succeeded;
    } catch (e) {
      throw this.session.mapError(e);
    }
    if (!ok) {
      if (this.hold === h) {
        this.hold = undefined;
        await h.finish(notLeader(), undefined);
      }
      throw notLeader();
    }
  }

  /** Steps down (deletes the leader key if it is still this term's); the next candidate takes over. A no-op if not leader. */
  async resign(opts: CallOptions = {}): Promise<void> {
    const h = this.hold;
    if (!h) return;
    this.hold = undefined;
    await h.finish(releasedReason('leadership'), () => release(this.session, h.key, h.rev, opts.signal));
  }

  /** The current leader's key-value, or undefined when there is none. */
  leader(opts: CallOptions = {}): Promise<KeyValue | undefined> {
    return Election.leader(this.session.client, this.prefix.slice(0, -1), opts);
  }

  /** Leader changes (the current state first, then every change, "no leader" included); see observe.ts. */
  observe(opts: { signal?: AbortSignal } = {}): AsyncIterableIterator<LeaderChange> {
    return observeElection(this.session.client, this.prefix, opts);
  }

  /** Whether this candidate is leader as far as it knows (elected, not resigned, session alive). */
  get isElected(): boolean {
    return this.hold !== undefined && !this.hold.signal.aborted;
  }

  /** The term: create revision of the leader key while (or since last) elected. Strictly increasing across leaders. */
  get rev(): bigint {
    return this.held().rev;
  }

  /** A transaction condition true only while this term's leader key exists. */
  isLeader(): Compare {
    const h = this.held();
    return cmp.createRevision(h.key, '=', h.rev);
  }

  /** Aborts when the leadership ends: session loss (SessionExpiredError / SessionClosedError), resign, or a failed proclaim. */
  get signal(): AbortSignal {
    return this.held().signal;
  }

  private held(): Hold {
    if (!this.hold) throw new NotHeldError('leadership');
    return this.hold;
  }
}
