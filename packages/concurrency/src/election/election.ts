// Leader election with etcd's Go key layout (`prefix/<lease id in hex>`, value = the proclaimed
// value, leader = the oldest key by create revision), so Go (clientv3/concurrency.Election, etcdctl
// elect) and TypeScript candidates take part in the same election. Campaigning is the Mutex waiting
// line (holder/waiting-line.ts): each candidate waits only on its predecessor, and leadership is granted
// only by a read showing the candidate's own key still alive.
//
// A leader is told when its session ends (`signal`); the leader key's create revision (`rev`) is a
// term number, strictly increasing across leaders, and `isLeader()` guards writes in transactions.

import { cmp, op, type CallOptions, type Compare, type KeySpace, type KeyValue } from '@conclave/client';
import { callOptions, checkString } from '@conclave/client/internal';
import { Holder, type LockOptions } from '../holder/holder.js';
import { enqueue, waitTurn } from '../holder/waiting-line.js';
import { checkKeySpace, type Session } from '../session/session.js';
import { retrying } from '../util/async.js';
import { ReleasedError, notLeader } from '../util/errors.js';
import { FIRST_CREATE } from '../util/keys.js';
import { observeElection, type LeaderChange } from './observe.js';

/** Options of `campaign` (the options of every call that waits for a hold). */
export type CampaignOptions = LockOptions;

/**
 * Leader election, compatible with etcd's Go `concurrency.Election` and `etcdctl elect`.
 *
 * ```ts
 * const election = new Election(session, 'elections/scheduler');
 * await election.lead('node-a:8080', async (signal, term) => {
 *   // leader until fn ends (then it resigns) or `signal` aborts (leadership lost)
 *   await runScheduler({ signal, term });
 * });
 * for await (const { leader } of Election.observe(client, 'elections/scheduler')) console.log(leader?.valueString);
 * ```
 */
export class Election extends Holder {
  /** This candidate's key: `prefix/<lease id in hex>`. */
  readonly key: string;

  /** A candidate in the election under `prefix` (no trailing "/"), through `session`'s lease. */
  constructor(session: Session, prefix: string) {
    super(session, prefix, 'leadership', 'resigned');
    this.key = this.leaseKey();
  }

  /** Observes the election under `prefix` without taking part in it (no session needed). */
  static observe(
    client: KeySpace,
    prefix: string,
    opts: { signal?: AbortSignal } = {},
  ): AsyncIterableIterator<LeaderChange> {
    checkKeySpace(client, 'Election.observe: client');
    checkString(prefix, 'Election.observe: prefix', true);
    return observeElection(client, `${prefix}/`, callOptions(opts, 'Election.observe'));
  }

  /** The current leader of the election under `prefix`, or undefined. */
  static async leader(client: KeySpace, prefix: string, opts?: CallOptions): Promise<KeyValue | undefined> {
    checkKeySpace(client, 'Election.leader: client');
    checkString(prefix, 'Election.leader: prefix', true);
    const r = await client.range(`${prefix}/`, { ...FIRST_CREATE, ...callOptions(opts, 'Election.leader') });
    return r.kvs[0];
  }

  /**
   * Becomes a candidate with `value` and resolves once elected. Rejects with SessionExpiredError if
   * the session is lost meanwhile; on abort the candidacy is withdrawn. If this session already has
   * a candidacy (e.g. a resumed lease), it is reused and its value updated.
   */
  async campaign(value: string, opts?: CampaignOptions): Promise<void> {
    checkString(value, 'Election.campaign: value');
    const o = callOptions(opts, 'Election.campaign');
    await this.acquiring(() =>
      this.queued(this.key, 'leadership', o, async (signal, entered) => {
        const q = await enqueue(this.session, this.key, value, undefined, signal);
        entered(q.rev);
        // a candidacy of this session already there (a resumed lease): take it over with this value
        if (q.existed && q.existed.valueString !== value) {
          if (!(await this.putIfOwned(this.key, q.rev, value, { signal }))) throw notLeader();
        }
        return waitTurn(this.session, this.key, q.rev, this.prefix, signal);
      }),
    );
  }

  /**
   * Campaigns with `value`, runs `fn(signal, term)` once elected, and resigns however `fn` ends;
   * resolves with what `fn` returns. `signal` aborts if leadership is lost while `fn` runs.
   */
  lead<T>(
    value: string,
    fn: (signal: AbortSignal, term: bigint) => T | PromiseLike<T>,
    opts?: CampaignOptions,
  ): Promise<T> {
    checkString(value, 'Election.lead: value');
    return this.within(() => this.campaign(value, opts), fn);
  }

  /**
   * Announces a new value without a new election. Rejects with ElectionNotLeaderError ("election:
   * not leader") if this candidate is not (or no longer) the leader; if the leader key was deleted
   * or replaced meanwhile, the hold ends (ReleasedError, reason `key-deleted`).
   */
  async proclaim(value: string, opts?: CallOptions): Promise<void> {
    checkString(value, 'Election.proclaim: value');
    const o = callOptions(opts, 'Election.proclaim');
    const h = this.hold;
    if (!h || !this.isHeld) throw notLeader();
    let ok: boolean;
    try {
      ok = await this.putIfOwned(h.key, h.rev, value, o, this.session.ttl * 1000);
    } catch (e) {
      throw this.session.mapError(e);
    }
    if (!ok) {
      h.lose(new ReleasedError('key-deleted', 'leadership', notLeader()));
      throw notLeader();
    }
  }

  /**
   * Writes `value` to this candidate's `key` (on the session's lease) while the key still has create
   * revision `rev`, retrying transient failures for up to `deadlineMs`; false if the key was replaced.
   */
  private async putIfOwned(
    key: string,
    rev: bigint,
    value: string,
    opts: CallOptions,
    deadlineMs?: number,
  ): Promise<boolean> {
    const put = () =>
      this.session.client
        .txn()
        .if(cmp.createRevision(key, '=', rev))
        .then(op.put(key, value, { lease: this.session.lease }))
        .commit(opts);
    return (await retrying(put, opts.signal, deadlineMs)).succeeded;
  }

  /**
   * Steps down (deletes the leader key if it is still this term's); the next candidate takes over.
   * Rejects with NotHeldError if this candidate was not elected (or already resigned).
   */
  async resign(opts?: CallOptions): Promise<void> {
    await this.releaseHeld(callOptions(opts, 'Election.resign').signal);
  }

  /** The current leader's key-value, or undefined when there is none. */
  leader(opts?: CallOptions): Promise<KeyValue | undefined> {
    return Election.leader(this.session.client, this.prefix.slice(0, -1), opts);
  }

  /** Leader changes (the current state first, then every change, "no leader" included); see observe.ts. */
  observe(opts: { signal?: AbortSignal } = {}): AsyncIterableIterator<LeaderChange> {
    return observeElection(this.session.client, this.prefix, callOptions(opts, 'Election.observe'));
  }

  /** Whether this candidate is the leader as far as it knows (elected, not resigned, not lost); same as `isHeld`. */
  get isElected(): boolean {
    return this.isHeld;
  }

  /** The term: create revision of the leader key of the current or last term (the fencing token). */
  get rev(): bigint {
    return this.fencingToken;
  }

  /** A transaction condition true only while this term's leader key exists (same as `isOwner()`). */
  isLeader(): Compare {
    return this.isOwner();
  }
}
