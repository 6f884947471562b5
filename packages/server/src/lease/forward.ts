// Forwarding lease requests that only the leader can answer. Keep-alives (renewals) and
// TimeToLive do not go through Raft: a member that is not the leader hands them to the leader, as
// etcd does over the peer URLs (POST /leases and /leases/internal on the leader's peer URL). The
// cluster's peer transport implements LeaseForwarder; on the leader side it answers with
// LeaseHost.renewAsLeader() / timeToLiveAsLeader().

/** What TimeToLive reports for a lease. */
export interface LeaseTimeToLive {
  id: bigint;
  /** Remaining seconds, truncated toward zero (etcd: int64(Remaining().Seconds())). */
  ttl: number;
  grantedTtl: number;
  /** Attached keys (only when asked for). */
  keys: Buffer[];
}

export interface LeaseForwarder {
  /**
   * Renews lease `id` at `leader` (another member). Resolves with the lease's TTL; rejects with
   * LeaseNotFoundError when the leader does not know the lease, with any other error when the
   * leader could not be reached or is not the primary lessor (the caller retries until its deadline).
   * A forward gives up by itself after the request timeout.
   */
  renew(leader: bigint, id: bigint): Promise<number>;
  /** TimeToLive of lease `id` at `leader`; the same error contract as renew. */
  timeToLive(leader: bigint, id: bigint, keys: boolean): Promise<LeaseTimeToLive>;
}

/** The forwarding routes on the leader (etcd's leasehttp paths). */
export const LEASE_RENEW_ROUTE = '/leases';
export const LEASE_TTL_ROUTE = '/leases/internal';
