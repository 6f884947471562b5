// Requests in flight through Raft on this member: each waits, by request ID, for its entry to be
// applied here, and gets the apply outcome; or etcd's timeout errors. Proposals that could not be
// handed to a leader wait in a queue for the next one.

import { etcdError } from '@conclave/api';
import { EntryType, MessageType, ProposalDroppedError, StateRole, type Message, type RawNode } from '../raft/index.js';
import type { ApplyOutcome } from '../apply/applier.js';
import { decodeRequest } from './raft-request.js';

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** performance.now() after which the request times out (swept by expire()). */
  deadline: number;
  /** The leader when the request was proposed (to tell a leader failure from a plain timeout). */
  lead: bigint;
  /**
   * For a proposal this member appended to its own log as leader: the term it was appended in.
   * Infinity otherwise — forwarded by a follower, waiting in the queue, or a membership change —
   * as nothing can then prove it lost (see applied()).
   */
  term: number;
}

interface QueuedProposal {
  id: bigint;
  data: Uint8Array;
}

export interface ProposalsDeps {
  node: RawNode;
  /** The current leader (0n = none). */
  lead: () => bigint;
  /** Schedules a turn of the Ready loop. */
  kick: () => void;
  /** etcd's request timeout. */
  timeoutMs: number;
  /** Delay before a dropped proposal or membership change is proposed again. */
  retryMs: number;
  /** etcd_server_proposals_failed_total: proposals that timed out, were withdrawn or refused. */
  counters: { proposalsFailed: number };
}

export interface Cancellation {
  signal?: AbortSignal | undefined;
  cancel?: { onCancel(cb: (reason: unknown) => void): void } | undefined;
}

export class Proposals {
  private readonly waiters = new Map<bigint, Waiter>();
  private queued: QueuedProposal[] = [];
  /** Term of the last applied entry. */
  private appliedTerm = 0;

  constructor(private readonly deps: ProposalsDeps) {}

  private register(id: bigint, resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
    this.waiters.set(id, {
      resolve,
      reject,
      deadline: performance.now() + this.deps.timeoutMs,
      lead: this.deps.lead(),
      term: Number.POSITIVE_INFINITY,
    });
  }

  /** Proposes the encoded request `data` (request ID `id`); resolves with its apply outcome here. */
  propose<T>(id: bigint, data: Uint8Array, c: Cancellation): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.register(id, resolve as (v: unknown) => void, reject);
      // A caller that gives up (cancel, deadline) withdraws a proposal Raft has not taken yet; one
      // already in the log still commits (its outcome is then unknown to the caller, as in etcd).
      const withdraw = (reason: unknown): void => {
        if (!this.waiters.delete(id)) return;
        this.deps.counters.proposalsFailed++;
        reject(reason);
      };
      c.signal?.addEventListener('abort', () => withdraw(c.signal!.reason), { once: true });
      c.cancel?.onCancel(withdraw);
      try {
        this.proposeData({ id, data });
      } catch (err) {
        this.waiters.delete(id);
        this.deps.counters.proposalsFailed++;
        reject(err);
        return;
      }
      this.deps.kick();
    });
  }

  /**
   * Waits for membership change `id`, calling `tryPropose` until Raft takes it (no leader, or
   * another change pending, drop it: tried again after retryMs while the timeout runs).
   */
  proposeConfChange(id: bigint, tryPropose: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.register(id, resolve as (v: unknown) => void, reject);
      const attempt = (): void => {
        if (!this.waiters.has(id)) return;
        try {
          tryPropose();
          this.deps.kick();
        } catch (err) {
          if (err instanceof ProposalDroppedError) {
            setTimeout(attempt, this.deps.retryMs).unref();
            return;
          }
          this.waiters.delete(id);
          reject(err);
        }
      };
      attempt();
    });
  }

  private proposeData(p: QueuedProposal): void {
    const w = this.waiters.get(p.id);
    if (!w) return; // timed out meanwhile
    try {
      const node = this.deps.node;
      const leader = node.role === StateRole.Leader;
      node.propose(p.data);
      w.term = leader ? node.term : Number.POSITIVE_INFINITY;
    } catch (err) {
      if (err instanceof ProposalDroppedError) {
        // No leader, or a leadership transfer: wait for the next leader (the request timeout still runs).
        w.term = Number.POSITIVE_INFINITY;
        this.queued.push(p);
        return;
      }
      throw err;
    }
  }

  /** A leader is known: propose what waited for one. */
  flushQueued(): void {
    const q = this.queued;
    this.queued = [];
    for (const p of q) this.proposeData(p);
    this.deps.kick();
  }

  /** The entry of request `id` was applied here with this outcome. */
  settle(id: bigint, outcome: ApplyOutcome): void {
    const w = this.waiters.get(id);
    if (!w) return;
    this.waiters.delete(id);
    if (outcome.ok) w.resolve(outcome.value);
    else w.reject(outcome.error);
  }

  /**
   * Entries up to one of `term` were applied. When that term is newer than any applied before, a
   * proposal this member appended as leader in an older term and that is still not applied can
   * never be: a later leader that had the entry would have applied it before its own first entry,
   * and a member whose log still holds it can no longer win an election (its last term is older
   * than the committed one). Its caller is told now — etcd's "request timed out, possibly due to
   * previous leader failure" — instead of after the whole request timeout. A proposal a follower
   * forwarded is not decided here: the leader it went to may have passed it on to a newer leader,
   * which appends it after its own first entry, so it keeps etcd's full timeout.
   */
  applied(term: number): void {
    if (term <= this.appliedTerm) return;
    this.appliedTerm = term;
    for (const [id, w] of this.waiters) {
      if (w.term >= term) continue;
      this.waiters.delete(id);
      this.deps.counters.proposalsFailed++;
      w.reject(etcdError('TimeoutDueToLeaderFail'));
    }
  }

  /**
   * Times out requests whose deadline passed, with etcd's errors (a timeout after the leader changed
   * or was lost is reported as a leader failure). Every request gets the same timeout, so the map's
   * insertion order is deadline order: one sweep per tick instead of a timer per request.
   */
  expire(): void {
    const now = performance.now();
    const lead = this.deps.lead();
    for (const [id, w] of this.waiters) {
      if (w.deadline > now) break;
      this.waiters.delete(id);
      this.deps.counters.proposalsFailed++;
      w.reject(etcdError(lead !== w.lead || lead === 0n ? 'TimeoutDueToLeaderFail' : 'Timeout'));
    }
  }

  /**
   * Messages the transport could not deliver. A proposal forwarded to a leader that was unreachable
   * never reached it, so it is safe to propose again once a leader is known (the request timeout
   * still bounds the wait). Anything else Raft retries by itself.
   */
  onDropped(messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.type !== MessageType.Prop) continue;
      for (const e of m.entries) {
        if (e.type !== EntryType.Normal || e.data.length === 0) continue;
        let id: bigint;
        try {
          id = decodeRequest(e.data).id;
        } catch {
          continue;
        }
        const w = this.waiters.get(id);
        if (w) {
          w.term = Number.POSITIVE_INFINITY;
          this.queued.push({ id, data: e.data });
        }
      }
    }
    if (this.queued.length && this.deps.lead() !== 0n) setTimeout(() => this.flushQueued(), this.deps.retryMs).unref();
  }

  /** Requests waiting for their outcome (etcd_server_proposals_pending). */
  get pending(): number {
    return this.waiters.size;
  }

  /** Fails every waiting request with `err` (the member stopped or its Raft loop failed). */
  failAll(err: unknown): void {
    const all = [...this.waiters.values()];
    this.waiters.clear();
    this.queued = [];
    for (const w of all) w.reject(err);
  }
}
