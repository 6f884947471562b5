// Bounds on what another member (or anyone who reaches the peer port: the cluster ID a request must
// name is in every client response header) can make this member hold in memory, write to disk or
// keep open. docs/hardening.md lists them beside etcd's behaviour.

/** The bounds of one peer listener. */
export interface PeerLimits {
  /** Largest body of a request forwarded by another member (lease keep-alives and the like: tiny). */
  forwardedBodyBytes: number;
  /** Bytes held in memory for incomplete forwarded bodies and snapshot messages, all streams together. */
  heldBytes: number;
  /** Largest snapshot message heading /raft/snapshot (its data is empty: the database follows it). */
  snapshotMessageBytes: number;
  /** Largest snapshot database received (null: none but its declared size and the free disk space). */
  snapshotDbBytes: number | null;
  /** A snapshot stream that sends nothing this long (while this member is not the one waiting) is cut. */
  snapshotIdleMs: number;
  /** Time an HTTP/1.1 client gets to send a whole request head (then 408, connection closed). */
  headersTimeoutMs: number;
  /** Time an HTTP/1.1 client gets to send a whole request (head and body). */
  requestTimeoutMs: number;
  /** Streams open at once on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS; senders queue beyond). */
  concurrentStreams: number;
  /** An HTTP/2 connection with no frame in either direction this long is closed (GOAWAY). */
  sessionIdleMs: number;
  /**
   * An upgraded Raft stream from which no byte arrives this long is closed (a frame stalled half-way
   * too): members write a heartbeat frame after a second without a message (frame.ts).
   */
  streamIdleMs: number;
}

export const DEFAULT_PEER_LIMITS: PeerLimits = {
  forwardedBodyBytes: 4 << 20,
  heldBytes: 64 << 20,
  snapshotMessageBytes: 1 << 20,
  snapshotDbBytes: null,
  snapshotIdleMs: 10_000,
  // etcd closes a peer connection that sends nothing for 5 s (rafthttp's ConnReadTimeout)
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
  concurrentStreams: 1000,
  // as etcd's peer connections (rafthttp's ConnReadTimeout); members PING their sessions every 2 s
  sessionIdleMs: 5_000,
  // etcd's stream readers time out after ConnReadTimeout (5 s); its writers send a link heartbeat
  streamIdleMs: 5_000,
};

/**
 * The snapshot database bound for a quota: twice --quota-backend-bytes. The leader's copy is
 * compacted, so it holds about the pages its quota admits; twice leaves room for members whose
 * quotas differ. No quota, no bound from it.
 */
export function snapshotDbLimit(quotaBytes: number | null): number | null {
  return quotaBytes === null ? null : 2 * quotaBytes;
}

/** A budget of bytes held in memory, shared by every stream of a listener. */
export class HeldBytes {
  private held = 0;

  constructor(readonly limit: number) {}

  /** Takes `n` bytes from the budget; false (nothing taken) when they do not fit. */
  take(n: number): boolean {
    if (this.held + n > this.limit) return false;
    this.held += n;
    return true;
  }

  give(n: number): void {
    this.held -= n;
  }

  get bytes(): number {
    return this.held;
  }
}

/** A request refused with an HTTP status and a text for the log and the answer. */
export class PeerRefusal extends Error {
  override readonly name = 'PeerRefusal';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
