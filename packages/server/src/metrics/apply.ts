// etcd 3.5's etcd_server_apply_duration_seconds: how long each applied request took, by operation and
// outcome. The applier times each entry and calls the observer built here (an array lookup and a
// counted-histogram update per request).

import type { Registry } from 'prom-client';
import { RequestKind } from '../etcdserver/raft-request.js';
import { CountedHistogram, type CountedSeries } from './counted-histogram.js';
import { exponentialBuckets } from './scrape.js';

/** Told the kind of each applied request, its apply time in seconds, and whether it succeeded. */
export type ApplyObserver = (kind: number, seconds: number, ok: boolean) => void;

/** etcd's op label: the v3 request's name; a member's publish and the cluster version are v2 PUTs there. */
function opOf(kind: number): { op: string; version: string } {
  if (kind === RequestKind.MemberAttributes || kind === RequestKind.ClusterVersion) return { op: 'PUT', version: 'v2' };
  const name = Object.entries(RequestKind).find(([, k]) => k === kind)?.[0] ?? `Unknown${kind}`;
  return { op: name, version: 'v3' };
}

export function registerApplyFamily(r: Registry): ApplyObserver {
  const h = new CountedHistogram(
    r,
    'etcd_server_apply_duration_seconds',
    'The latency distributions of v2 apply called by backend.',
    ['version', 'op', 'success'],
    exponentialBuckets(0.0001, 2, 20),
  );
  const byKind: Array<CountedSeries | undefined> = [];
  return (kind, seconds, ok) => {
    const i = kind * 2 + (ok ? 1 : 0);
    let s = byKind[i];
    if (!s) byKind[i] = s = h.series({ ...opOf(kind), success: String(ok) });
    s.observe(seconds);
  };
}
