// Leases (etcd's lease package and the server around it): the lessor that grants, revokes and
// checkpoints leases from committed Raft entries and keeps the keys attached to each; expiry
// detection and revocation through Raft by the leader only (rate-limited as etcd does); promotion
// with TTL extension when a member becomes leader; and keep-alive / TimeToLive routing to the
// leader through a forwarding hook the cluster's peer transport implements.

export { LeaseHost, minLeaseTtl, type LeaseHostOptions } from './host.js';
export {
  Lessor,
  LeaseNotFoundError,
  NotPrimaryError,
  MAX_LEASE_TTL,
  LEASE_REVOKE_RATE,
  type Checkpoint,
  type LessorOptions,
  type LeaseCounters,
} from './lessor.js';
export { Lease, FOREVER } from './lease.js';
export type { LeaseForwarder, LeaseTimeToLive } from './forward.js';
