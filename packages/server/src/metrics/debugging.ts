// etcd's etcd_debugging_lease_* and etcd_debugging_auth_revision families: lease grants, revocations
// and renewals the lessor counts, the TTLs granted, and the auth store's revision.

import type { Registry } from 'prom-client';
import type { LeaseCounters } from '../lease/index.js';
import { exponentialBuckets, histogram, scrapedCounter, scrapedGauge } from './scrape.js';

export function registerDebuggingFamilies(r: Registry, authRevision: () => number): LeaseCounters {
  const ttl = histogram(
    r,
    'etcd_debugging_lease_ttl_total',
    'Bucketed histogram of lease TTLs.',
    exponentialBuckets(1, 2, 24),
  );
  const c: LeaseCounters = { granted: 0, revoked: 0, renewed: 0, expired: 0, ttl: (s) => ttl.observe(s) };
  scrapedCounter(r, 'etcd_debugging_lease_granted_total', 'The total number of granted leases.', () => c.granted);
  scrapedCounter(r, 'etcd_debugging_lease_revoked_total', 'The total number of revoked leases.', () => c.revoked);
  scrapedCounter(
    r,
    'etcd_debugging_lease_renewed_total',
    'The number of renewed leases seen by the leader.',
    () => c.renewed,
  );
  scrapedCounter(
    r,
    'etcd_debugging_server_lease_expired_total',
    'The total number of expired leases.',
    () => c.expired,
  );
  scrapedGauge(r, 'etcd_debugging_auth_revision', 'The current revision of auth store.', authRevision);
  return c;
}
