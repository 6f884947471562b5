// etcd's etcd_debugging_lease_* and etcd_debugging_auth_revision families: lease grants, revocations
// and renewals the lessor counts, the TTLs granted, and the auth store's revision.

import type { Registry } from 'prom-client';
import type { LeaseCounters } from '../lease/index.js';
import { exponentialBuckets, families } from './scrape.js';

const HELP = {
  etcd_debugging_lease_ttl_total: 'Bucketed histogram of lease TTLs.',
  etcd_debugging_lease_granted_total: 'The total number of granted leases.',
  etcd_debugging_lease_revoked_total: 'The total number of revoked leases.',
  etcd_debugging_lease_renewed_total: 'The number of renewed leases seen by the leader.',
  etcd_debugging_server_lease_expired_total: 'The total number of expired leases.',
  etcd_debugging_auth_revision: 'The current revision of auth store.',
} as const;

export function registerDebuggingFamilies(r: Registry, authRevision: () => number): LeaseCounters {
  const f = families(r, HELP);
  const ttl = f.histogram('etcd_debugging_lease_ttl_total', exponentialBuckets(1, 2, 24));
  const c: LeaseCounters = { granted: 0, revoked: 0, renewed: 0, expired: 0, ttl: (s) => ttl.observe(s) };
  f.counter('etcd_debugging_lease_granted_total', () => c.granted);
  f.counter('etcd_debugging_lease_revoked_total', () => c.revoked);
  f.counter('etcd_debugging_lease_renewed_total', () => c.renewed);
  f.counter('etcd_debugging_server_lease_expired_total', () => c.expired);
  f.gauge('etcd_debugging_auth_revision', authRevision);
  return c;
}
