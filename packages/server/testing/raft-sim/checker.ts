// The simulator's invariants, checked as the run unfolds (each event that could break one checks it):
//   election safety   at most one leader per term
//   log matching      two logs holding an entry with the same index and term hold the same entry,
//                     preceded by the same term (so, inductively, identical prefixes)
//   committed         an index is only ever committed with one entry; a new leader's log holds
//                     every committed entry (leader completeness)
//   state machine     no two nodes apply different entries at an index (nor reach different states)
//   reads             a read-index result is at least the highest index applied anywhere when the
//                     read was issued (no stale reads)
//   membership        consecutive committed configurations never admit disjoint majorities, and
//                     every decision (election won, index committed) is taken by a majority of the
//                     latest committed configuration or of the one just before it

import { decodeConfChange } from '../../src/raft/codec.js';
import { haveDisjointMajorities } from '../../src/raft/quorum.js';
import { type ConfChange, ConfChangeType, type Entry, EntryType, type NodeId } from '../../src/raft/types.js';

export class InvariantViolation extends Error {}

const entryHashes = new WeakMap<Entry, number>();

/** FNV-1a over an entry's identity and payload (cached per entry object). */
export function entryHash(e: Entry): number {
  let h = entryHashes.get(e);
  if (h !== undefined) return h;
  h = 0x811c9dc5;
  h = Math.imul(h ^ e.type, 0x01000193);
  for (let i = 0; i < e.data.length; i++) h = Math.imul(h ^ e.data[i]!, 0x01000193);
  h >>>= 0;
  entryHashes.set(e, h);
  return h;
}

/** The state-machine digest after applying e on top of state `prev`. */
export function nextStateHash(prev: number, e: Entry): number {
  let h = Math.imul(prev ^ entryHash(e), 0x01000193);
  h = Math.imul(h ^ e.term, 0x01000193);
  h = Math.imul(h ^ (e.index & 0xffffffff), 0x01000193);
  return h >>> 0;
}

interface Committed {
  term: number;
  hash: number;
  entry: Entry;
}

interface Config {
  voters: Set<NodeId>;
  learners: Set<NodeId>;
  /** Log index of the change that produced it. */
  index: number;
}

export class Checker {
  private leaders = new Map<number, NodeId>();
  /** index -> term -> [entry hash, term of the previous entry] */
  private logs = new Map<number, Map<number, [number, number]>>();
  private committed: Committed[] = [];
  /** The term of the leader that first committed each index (index i at [i-1]). */
  private commitTerms: number[] = [];
  /** State digest after each applied index (index -> [entry hash, term, state hash]). */
  private applied = new Map<number, [number, number, number]>();
  maxApplied = 0;
  /** Committed configurations, in log order (the first from the bootstrap entries). */
  readonly configs: Config[] = [];
  private scanned = 0;
  private readonly removedIds = new Set<NodeId>();
  /** Each leader's election, for leader-completeness checks and reporting. */
  elections = 0;
  commits = 0;
  readsChecked = 0;

  fail(msg: string): never {
    throw new InvariantViolation(msg);
  }

  get maxCommitted(): number {
    return this.committed.length;
  }

  committedEntry(i: number): Committed | undefined {
    return this.committed[i - 1];
  }

  latestConfig(): Config | undefined {
    return this.configs[this.configs.length - 1];
  }

  // --- elections and commits (from the Raft observer) ---------------------------------------

  onElected(
    id: NodeId,
    term: number,
    voters: readonly NodeId[],
    granted: readonly NodeId[],
    logTerm: (i: number) => number | undefined,
    firstIndex: number,
    lastIndex: number,
  ): void {
    this.elections++;
    const prev = this.leaders.get(term);
    if (prev !== undefined && prev !== id) this.fail(`election safety: ${prev} and ${id} both leaders of term ${term}`);
    this.leaders.set(term, id);
    this.checkDecision(`election of ${id} at term ${term}`, voters, granted);
    // Leader completeness: the new leader holds every entry committed in an earlier term. (The
    // bootstrap entries, committed without a leader, count as committed in term 0.)
    let upTo = 0;
    while (upTo < this.maxCommitted && (this.commitTerms[upTo] ?? 0) < term) upTo++;
    if (lastIndex < upTo) {
      this.fail(
        `leader completeness: ${id} elected at term ${term} with lastIndex ${lastIndex} < ${upTo}, committed before`,
      );
    }
    for (let i = Math.max(1, firstIndex); i <= upTo; i++) {
      const t = logTerm(i);
      const c = this.committed[i - 1]!;
      if (t !== c.term)
        this.fail(`leader completeness: ${id} elected at term ${term} has term ${t} at ${i}, committed term ${c.term}`);
    }
  }

  onCommit(id: NodeId, term: number, index: number, voters: readonly NodeId[], acked: readonly NodeId[]): void {
    this.commits++;
    while (this.commitTerms.length < index) this.commitTerms.push(term);
    this.checkDecision(`commit of ${index} by ${id} at term ${term}`, voters, acked);
  }

  private checkDecision(what: string, voters: readonly NodeId[], quorum: readonly NodeId[]): void {
    if (quorum.length * 2 <= voters.length) this.fail(`${what}: [${quorum}] is not a majority of [${voters}]`);
    const n = this.configs.length;
    if (n === 0) return;
    const latest = this.configs[n - 1]!;
    const previous = this.configs[n - 2];
    if (sameSet(latest.voters, voters) || (previous && sameSet(previous.voters, voters))) return;
    this.fail(
      `membership: ${what} used voters [${voters}], neither the latest committed configuration [${[...latest.voters]}] ` +
        `(index ${latest.index}) nor the one before [${previous ? [...previous.voters] : ''}]`,
    );
  }

  // --- logs and commits (from persisted Readies) --------------------------------------------

  onPersistedEntries(node: NodeId, entries: readonly Entry[], prevTerm: number | undefined): void {
    let pt = prevTerm;
    for (const e of entries) {
      const h = entryHash(e);
      let byTerm = this.logs.get(e.index);
      if (!byTerm) {
        byTerm = new Map();
        this.logs.set(e.index, byTerm);
      }
      const seen = byTerm.get(e.term);
      if (!seen) {
        byTerm.set(e.term, [h, pt ?? -1]);
      } else {
        if (seen[0] !== h)
          this.fail(`log matching: node ${node} holds a different entry at index ${e.index} term ${e.term}`);
        if (pt !== undefined && seen[1] >= 0 && seen[1] !== pt) {
          this.fail(
            `log matching: node ${node} has term ${pt} before (${e.index}, ${e.term}), another log has ${seen[1]}`,
          );
        }
        if (seen[1] < 0 && pt !== undefined) seen[1] = pt;
      }
      pt = e.term;
    }
  }

  /** A node persisted commit index `commit`; `entries` are its entries in (from-1, commit]. */
  onCommitted(node: NodeId, entries: readonly Entry[]): void {
    for (const e of entries) {
      const c = this.committed[e.index - 1];
      if (c) {
        if (c.term !== e.term || c.hash !== entryHash(e)) {
          this.fail(
            `committed entry changed: node ${node} committed (${e.index}, t${e.term}) where (${e.index}, t${c.term}) was committed`,
          );
        }
      } else if (e.index === this.committed.length + 1) {
        this.committed.push({ term: e.term, hash: entryHash(e), entry: e });
      } else {
        this.fail(`internal: commit record gap at ${e.index} (have ${this.committed.length})`);
      }
    }
    this.scanConfigs();
  }

  private scanConfigs(): void {
    for (; this.scanned < this.committed.length; this.scanned++) {
      const e = this.committed[this.scanned]!.entry;
      if (e.type !== EntryType.ConfChange) continue;
      this.applyConf(decodeConfChange(e.data), e.index);
    }
  }

  /** Mirrors the servers' state machine: Raft's rules, and no re-adding of a removed member. */
  private applyConf(cc: ConfChange, index: number): void {
    const cur = this.latestConfig();
    const voters = new Set(cur?.voters ?? []);
    const learners = new Set(cur?.learners ?? []);
    const removesLast =
      (cc.type === ConfChangeType.RemoveNode || cc.type === ConfChangeType.AddLearnerNode) &&
      voters.has(cc.nodeId) &&
      voters.size === 1;
    if (removesLast || cc.type === ConfChangeType.UpdateNode) return;
    if (cc.type !== ConfChangeType.RemoveNode && this.removedIds.has(cc.nodeId)) return;
    if (cc.type === ConfChangeType.RemoveNode) this.removedIds.add(cc.nodeId);
    if (cc.type === ConfChangeType.AddNode) {
      learners.delete(cc.nodeId);
      voters.add(cc.nodeId);
    } else if (cc.type === ConfChangeType.AddLearnerNode) {
      voters.delete(cc.nodeId);
      learners.add(cc.nodeId);
    } else {
      voters.delete(cc.nodeId);
      learners.delete(cc.nodeId);
    }
    if (cur && haveDisjointMajorities(cur.voters, voters)) {
      this.fail(
        `membership: configuration at ${index} [${[...voters]}] admits a majority disjoint from one of [${[...cur.voters]}]`,
      );
    }
    this.configs.push({ voters, learners, index });
  }

  // --- state machines ------------------------------------------------------------------------

  onApplied(node: NodeId, e: Entry, stateHash: number): void {
    const h = entryHash(e);
    const seen = this.applied.get(e.index);
    if (!seen) {
      this.applied.set(e.index, [h, e.term, stateHash]);
    } else if (seen[0] !== h || seen[1] !== e.term || seen[2] !== stateHash) {
      this.fail(
        `state machine safety: node ${node} applied (${e.index}, t${e.term}) differing from another node's (${e.index}, t${seen[1]})`,
      );
    }
    const c = this.committed[e.index - 1];
    if (!c) this.fail(`node ${node} applied index ${e.index}, which no node has committed`);
    if (e.index > this.maxApplied) this.maxApplied = e.index;
  }

  onSnapshotRestored(node: NodeId, index: number, stateHash: number): void {
    const seen = this.applied.get(index);
    if (seen && seen[2] !== stateHash)
      this.fail(`state machine safety: node ${node} restored a snapshot at ${index} with a different state`);
    if (index > this.maxApplied) this.maxApplied = index;
  }

  onReadState(node: NodeId, index: number, issuedAtMaxApplied: number): void {
    this.readsChecked++;
    if (index < issuedAtMaxApplied) {
      this.fail(
        `stale read: node ${node} got read index ${index}, but index ${issuedAtMaxApplied} was applied before the read was issued`,
      );
    }
  }
}

function sameSet(a: ReadonlySet<NodeId>, b: readonly NodeId[]): boolean {
  if (a.size !== b.length) return false;
  for (const id of b) if (!a.has(id)) return false;
  return true;
}
