// Applies committed Raft entries to the member's state, all in one backend batch per Ready together
// with the applied index (so replaying the WAL after a crash is idempotent): membership changes here,
// every other request through the auth check and then apply/dispatch.ts. Each request's outcome (a
// response or an etcd error) is handed back to the member that proposed it.

import { etcdError, type EtcdErrorName } from '@conclave/api';
import { decodeConfChange } from '../raft/codec.js';
import { type ConfChange, ConfChangeType, type ConfState, type Entry, EntryType } from '../raft/types.js';
import { META, type Backend } from '../storage/backend/index.js';
import type { Logger } from '../log/index.js';
import type { Member, Membership } from '../etcdserver/membership.js';
import { decodeRequest, type InternalRequest } from '../etcdserver/raft-request.js';
import { requestText, responseText, type SlowApplyWarner } from './slow-apply.js';
import { applyRequest, type ApplyTargets } from './dispatch.js';

export type ApplyOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface ApplierDeps {
  backend: Backend;
  membership: Membership;
  /** The state requests change (see apply/dispatch.ts). */
  targets: ApplyTargets;
  /** Runs before each request is applied; throwing refuses it with that error (auth's permission checks). */
  authorize(req: InternalRequest): void;
  logger: Logger;
  /**
   * First index of the Raft log still held (entries below it are in a saved snapshot and are never
   * re-delivered), so the refused membership changes remembered for replays can be pruned below it.
   */
  firstLogIndex?: () => number;
  /** Hands a committed membership change to Raft; returns the new ConfState. */
  applyConfChange(cc: ConfChange): ConfState;
  /** Members known from --initial-cluster, for the bootstrap entries (which carry no attributes). */
  initialMembers: ReadonlyMap<bigint, Member>;
  /** Told each request's kind, apply time (s) and success (etcd_server_apply_duration_seconds). */
  observe?: (kind: number, seconds: number, ok: boolean) => void;
  /** etcd's "apply request took too long" (--experimental-warning-apply-duration). */
  slowApply?: SlowApplyWarner;
}

export class Applier {
  /** Index of the last entry whose effects are in the backend. */
  appliedIndex: number;
  appliedTerm: number;
  confState: ConfState = { voters: [], learners: [] };
  /** Set when a batch applied a membership change (the server reconnects peers, then clears it). */
  membershipChanged = false;

  constructor(private readonly deps: ApplierDeps) {
    this.appliedIndex = deps.backend.appliedIndex();
    this.appliedTerm = deps.backend.appliedTerm();
  }

  /**
   * Applies `entries` in one backend batch. Returns the outcome of every Normal entry that carried a
   * request, by request ID. Entries at or below the backend's applied index are skipped (their
   * effects are already there), except that membership changes are always handed to Raft.
   */
  applyEntries(entries: readonly Entry[]): Map<bigint, ApplyOutcome> {
    const outcomes = new Map<bigint, ApplyOutcome>();
    if (entries.length === 0) return outcomes;
    const { backend } = this.deps;
    backend.batch(() => {
      for (const e of entries) {
        const fresh = e.index > this.appliedIndex;
        if (e.type === EntryType.ConfChange) this.applyConfChangeEntry(e, fresh, outcomes);
        else if (fresh && e.data.length > 0) this.applyNormal(e, outcomes);
      }
      const last = entries[entries.length - 1]!;
      if (last.index > this.appliedIndex) {
        backend.setAppliedIndex(last.index, last.term);
        this.appliedIndex = last.index;
        this.appliedTerm = last.term;
      }
      // each entry counts against --backend-batch-limit, as each of etcd's write transactions does
    }, entries.length);
    return outcomes;
  }

  private applyNormal(e: Entry, outcomes: Map<bigint, ApplyOutcome>): void {
    let req: InternalRequest;
    try {
      req = decodeRequest(e.data);
    } catch (err) {
      this.deps.logger.error('failed to decode raft request; skipping entry', { index: e.index, error: String(err) });
      return;
    }
    const { observe, slowApply } = this.deps;
    const t = observe || slowApply ? performance.now() : 0;
    let outcome: ApplyOutcome;
    try {
      this.deps.authorize(req);
      outcome = { ok: true, value: applyRequest(this.deps.targets, req, e) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    outcomes.set(req.id, outcome);
    if (!observe && !slowApply) return;
    const ms = performance.now() - t;
    observe?.(req.kind, ms / 1000, outcome.ok);
    slowApply?.check(
      ms,
      '',
      () => requestText(req),
      () => (outcome.ok ? responseText(req.kind, outcome.value, slowApply.header) : ''),
      outcome.ok ? undefined : outcome.error,
    );
  }

  /**
   * A committed membership change. Checked against the membership first, as etcd does when it
   * applies one (an ID or peer URL that is already taken, an unknown or removed member): an invalid
   * change is not handed to Raft and its proposer gets etcd's error.
   */
  private applyConfChangeEntry(e: Entry, fresh: boolean, outcomes: Map<bigint, ApplyOutcome>): void {
    const cc = decodeConfChange(e.data);
    const { membership } = this.deps;
    let attrs: Member | undefined;
    if (cc.context.length > 0) {
      const o = JSON.parse(Buffer.from(cc.context).toString('utf8')) as {
        name?: string;
        peerURLs: string[];
        clientURLs?: string[];
        isLearner?: boolean;
      };
      attrs = {
        id: cc.nodeId,
        name: o.name ?? '',
        peerUrls: o.peerURLs,
        clientUrls: o.clientURLs ?? [],
        isLearner: o.isLearner ?? false,
      };
    } else {
      attrs = this.deps.initialMembers.get(cc.nodeId);
    }
    if (!fresh) {
      // Re-delivered after a restart: Raft must see the same decision as the first time.
      this.confState = this.deps.applyConfChange(this.rejectedConfChanges().has(e.index) ? { ...cc, nodeId: 0n } : cc);
      return;
    }
    {
      const problem = this.validateConfChange(cc, attrs);
      if (problem) {
        if (cc.id !== 0n) outcomes.set(cc.id, { ok: false, error: etcdError(problem) });
        // Raft still sees the entry applied, as a no-op (etcd sets NodeID to None): e.g. a delayed or
        // duplicated change must never re-add a member that was removed meanwhile.
        this.rememberRejected(e.index);
        this.confState = this.deps.applyConfChange({ ...cc, nodeId: 0n });
        return;
      }
      switch (cc.type) {
        case ConfChangeType.AddNode:
        case ConfChangeType.AddLearnerNode: {
          const existing = membership.get(cc.nodeId);
          const isLearner = cc.type === ConfChangeType.AddLearnerNode;
          if (existing) membership.put({ ...existing, isLearner });
          else if (attrs) membership.put({ ...attrs, id: cc.nodeId, isLearner });
          else membership.put({ id: cc.nodeId, name: '', peerUrls: [], clientUrls: [], isLearner });
          break;
        }
        case ConfChangeType.RemoveNode:
          membership.remove(cc.nodeId);
          break;
        case ConfChangeType.UpdateNode: {
          const existing = membership.get(cc.nodeId);
          if (existing && attrs) membership.put({ ...existing, peerUrls: attrs.peerUrls });
          break;
        }
      }
      this.membershipChanged = true;
      if (cc.id !== 0n) outcomes.set(cc.id, { ok: true, value: undefined });
    }
    this.confState = this.deps.applyConfChange(cc);
  }

  /** Log indexes of membership changes refused at apply (kept with the state, for replays). */
  private rejectedConfChanges(): Set<number> {
    const b = this.deps.backend.getMeta(META.rejectedConfChanges);
    return new Set(b ? (JSON.parse(b.toString('utf8')) as number[]) : []);
  }

  private rememberRejected(index: number): void {
    // Only entries Raft may re-deliver after a restart need the decision: a client repeating refused
    // changes (MemberRemove of an unknown ID) must not grow this list past the log Raft keeps.
    const first = this.deps.firstLogIndex?.() ?? 0;
    const all = [...this.rejectedConfChanges()].filter((i) => i >= first);
    all.push(index);
    this.deps.backend.putMeta(META.rejectedConfChanges, Buffer.from(JSON.stringify(all)));
  }

  private validateConfChange(cc: ConfChange, attrs: Member | undefined): EtcdErrorName | null {
    const { membership } = this.deps;
    const existing = membership.get(cc.nodeId);
    if (membership.isRemoved(cc.nodeId)) return 'MemberNotFound';
    const urlTaken = (urls: readonly string[]): boolean =>
      membership.list().some((m) => m.id !== cc.nodeId && m.peerUrls.some((u) => urls.includes(u)));
    switch (cc.type) {
      case ConfChangeType.AddNode:
        if (existing) return existing.isLearner ? null : 'MemberExist';
        return attrs && urlTaken(attrs.peerUrls) ? 'PeerURLExist' : null;
      case ConfChangeType.AddLearnerNode:
        if (existing) return 'MemberExist';
        return attrs && urlTaken(attrs.peerUrls) ? 'PeerURLExist' : null;
      case ConfChangeType.RemoveNode:
        return existing ? null : 'MemberNotFound';
      case ConfChangeType.UpdateNode:
        if (!existing) return 'MemberNotFound';
        return attrs && urlTaken(attrs.peerUrls) ? 'PeerURLExist' : null;
      default:
        return null;
    }
  }
}
