// Applies committed Raft entries to the member's state, all in one backend batch per Ready together
// with the applied index (so replaying the WAL after a crash is idempotent). Each request's outcome
// (a response or an etcd error) is handed back to the member that proposed it.

import { decodeMessage, etcdError, etcdserverpb, type EtcdErrorName } from '@conclave/api';
import { decodeConfChange } from '../raft/codec.js';
import { type ConfChange, ConfChangeType, type ConfState, type Entry, EntryType } from '../raft/types.js';
import { META, type Backend } from '../storage/backend/index.js';
import type { MvccStore } from '../mvcc/index.js';
import { applyCompaction, applyDelete, applyPut, applyTxn, type KvApplyEnv } from '../apply/kv.js';
import { isTxnReadOnly } from '../apply/check.js';
import type { Logger } from '../log/index.js';
import type { Member, Membership } from './membership.js';
import { decodeRequest, RequestKind, type InternalRequest } from './raft-request.js';

function txnHasPuts(t: etcdserverpb.TxnRequest): boolean {
  const has = (ops: etcdserverpb.RequestOp[]): boolean =>
    ops.some((op) => op.requestPut !== undefined || (op.requestTxn !== undefined && txnHasPuts(op.requestTxn)));
  return has(t.success) || has(t.failure);
}

/** The requests etcd's corrupt applier refuses (the lease ones are applied in lease/). */
const CORRUPT_REFUSED: ReadonlySet<number> = new Set([
  RequestKind.Put,
  RequestKind.DeleteRange,
  RequestKind.Txn,
  RequestKind.Compaction,
  RequestKind.LeaseGrant,
  RequestKind.LeaseRevoke,
]);

export type ApplyOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Extension point: services beyond KV (lease, auth, alarms) register their request kinds here. */
export type RequestApplier = (req: InternalRequest, entry: Entry) => unknown;

export interface ApplierDeps {
  /** True while the NOSPACE alarm is raised: writes that add data are refused (etcd's capped applier). */
  capped(): boolean;
  /** True while the CORRUPT alarm is raised: every applied write fails (etcd's corrupt applier). */
  corrupt(): boolean;
  backend: Backend;
  store: MvccStore;
  membership: Membership;
  kvEnv: KvApplyEnv;
  logger: Logger;
  /** Hands a committed membership change to Raft; returns the new ConfState. */
  applyConfChange(cc: ConfChange): ConfState;
  /** Members known from --initial-cluster, for the bootstrap entries (which carry no attributes). */
  initialMembers: ReadonlyMap<bigint, Member>;
}

export interface MemberAttributes {
  id: string;
  name: string;
  clientURLs: string[];
}

export class Applier {
  /** Index of the last entry whose effects are in the backend. */
  appliedIndex: number;
  appliedTerm: number;
  confState: ConfState = { voters: [], learners: [] };
  /** Set when a batch applied a membership change (the server reconnects peers, then clears it). */
  membershipChanged = false;
  private readonly extra = new Map<number, RequestApplier>();
  /** Runs before each request is applied; throwing refuses it with that error (auth's permission checks). */
  authorize: ((req: InternalRequest) => void) | null = null;

  constructor(private readonly deps: ApplierDeps) {
    this.appliedIndex = deps.backend.appliedIndex();
    this.appliedTerm = deps.backend.appliedTerm();
  }

  register(kind: RequestKind, fn: RequestApplier): void {
    this.extra.set(kind, fn);
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
    });
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
    try {
      this.authorize?.(req);
      outcomes.set(req.id, { ok: true, value: this.dispatch(req, e) });
    } catch (error) {
      outcomes.set(req.id, { ok: false, error });
    }
  }

  private dispatch(req: InternalRequest, e: Entry): unknown {
    const { store, kvEnv } = this.deps;
    if (CORRUPT_REFUSED.has(req.kind) && this.deps.corrupt()) throw etcdError('Corrupt');
    switch (req.kind) {
      case RequestKind.Put: {
        if (this.deps.capped()) throw etcdError('NoSpace');
        const p = decodeMessage(etcdserverpb.PutRequest, req.body);
        return store.write((txn) => applyPut(txn, p, kvEnv));
      }
      case RequestKind.DeleteRange: {
        const d = decodeMessage(etcdserverpb.DeleteRangeRequest, req.body);
        return store.write((txn) => applyDelete(txn, d));
      }
      case RequestKind.Txn: {
        const t = decodeMessage(etcdserverpb.TxnRequest, req.body);
        const readOnly = isTxnReadOnly(t);
        if (!readOnly && this.deps.capped() && txnHasPuts(t)) throw etcdError('NoSpace');
        return applyTxn(store, t, kvEnv, readOnly);
      }
      case RequestKind.Compaction: {
        const c = decodeMessage(etcdserverpb.CompactionRequest, req.body);
        return applyCompaction(store, c.revision);
      }
      case RequestKind.MemberAttributes: {
        const a = JSON.parse(Buffer.from(req.body).toString('utf8')) as MemberAttributes;
        const id = BigInt(`0x${a.id}`);
        const m = this.deps.membership.get(id);
        if (m) this.deps.membership.put({ ...m, name: a.name, clientUrls: a.clientURLs });
        return undefined;
      }
      case RequestKind.ClusterVersion: {
        this.deps.membership.setVersion(Buffer.from(req.body).toString('utf8'));
        return undefined;
      }
      default: {
        const fn = this.extra.get(req.kind);
        if (!fn) throw new Error(`unknown raft request kind ${req.kind}`);
        return fn(req, e);
      }
    }
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
    const all = [...this.rejectedConfChanges(), index];
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
