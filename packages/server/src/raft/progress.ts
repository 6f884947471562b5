// The leader's view of one follower: how much of the log it holds (match), what to send next, and
// the flow-control state (probe / replicate / snapshot) with a bounded window of in-flight appends.

/**
 * A sliding window of append messages in flight to one follower, bounded by count and bytes. Each
 * slot records the last index of the message and its entry bytes; acknowledgements free a prefix.
 */
export class Inflights {
  private start = 0;
  count = 0;
  bytes = 0;
  private readonly indexes: number[] = [];
  private readonly sizes: number[] = [];

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {}

  add(index: number, bytes: number): void {
    if (this.full()) throw new Error('inflights: cannot add into a full window');
    let next = this.start + this.count;
    if (next >= this.maxCount) next -= this.maxCount;
    this.indexes[next] = index;
    this.sizes[next] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** Frees the in-flight messages whose last index is ≤ to. */
  freeLE(to: number): void {
    if (this.count === 0 || to < this.indexes[this.start]!) return;
    let idx = this.start;
    let i = 0;
    let freed = 0;
    for (; i < this.count; i++) {
      if (to < this.indexes[idx]!) break;
      freed += this.sizes[idx]!;
      idx++;
      if (idx >= this.maxCount) idx -= this.maxCount;
    }
    this.count -= i;
    this.bytes -= freed;
    this.start = idx;
    if (this.count === 0) this.start = 0;
  }

  /** Frees the oldest in-flight message. */
  freeFirstOne(): void {
    if (this.count > 0) this.freeLE(this.indexes[this.start]!);
  }

  full(): boolean {
    return this.count === this.maxCount || this.bytes >= this.maxBytes;
  }

  reset(): void {
    this.count = 0;
    this.start = 0;
    this.bytes = 0;
  }
}

export enum ProgressState {
  /** Unknown how much the follower holds: send one append per heartbeat interval until it matches. */
  Probe = 0,
  /** Streaming: appends are sent optimistically, bounded by the in-flight window. */
  Replicate = 1,
  /** A snapshot was sent; wait until it is applied (or reported failed). */
  Snapshot = 2,
}

export class Progress {
  match = 0;
  next: number;
  state = ProgressState.Probe;
  /** In Snapshot state, the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round (or ever, without check-quorum). */
  recentActive = false;
  /** In Probe state, an append was sent and we wait for its answer (or a heartbeat response). */
  probeSent = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, inflights: Inflights, isLearner: boolean) {
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** The follower acknowledged entries up to n. Returns whether match advanced. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** In Replicate state, entries up to n were just sent. */
  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * The follower rejected an append whose previous index was `rejected`; matchHint is its guess of
   * the last index that could match. Returns false if the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }

  toString(): string {
    let s = `${ProgressState[this.state]} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.isPaused()) s += ' paused';
    if (this.pendingSnapshot) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    if (this.inflights.count) s += ` inflight=${this.inflights.count}`;
    return s;
  }
}
