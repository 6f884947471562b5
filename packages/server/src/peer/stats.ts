// What the peer transport counts for etcd's network metrics (the member's metrics/ keeps the numbers).

/** Byte and failure counts for one remote member. */
export interface PeerCounters {
  sentBytes: number;
  receivedBytes: number;
  /** Messages that could not be sent (the member was down or congested). */
  sentFailures: number;
  /** Streams from the member closed for a bad frame. */
  receivedFailures: number;
}

export interface PeerStats {
  /** The counters of remote member `id` (the same object on every call). */
  peer(id: bigint): PeerCounters;
  /** A measured round trip to member `id`, in seconds. */
  rttSeconds(id: bigint, s: number): void;
}
