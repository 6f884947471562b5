// etcd's network families: bytes sent to and received from each peer, messages that could not be
// sent, the peer round-trip time, active peer streams, and the bytes of client gRPC messages. The peer
// transport bumps a PeerCounters object per remote member; the rest is read at scrape time.

import { Histogram, type Registry } from 'prom-client';
import type { PeerCounters, PeerStats } from '../peer/index.js';
import { exponentialBuckets, scrapedCounter, scrapedCounterVec, scrapedGaugeVec, type Labels } from './scrape.js';

export interface NetworkView {
  readonly memberId: bigint;
  /** Remote members this one keeps a stream to, and whether it is up. */
  peers(): Iterable<[bigint, boolean]>;
}

const hex = (id: bigint): string => id.toString(16);

export function registerNetworkFamilies(
  r: Registry,
  view: () => NetworkView | null,
  grpcBytes: () => { received: number; sent: number },
): PeerStats {
  const counters = new Map<bigint, PeerCounters>();
  const rtt = new Histogram({
    name: 'etcd_network_peer_round_trip_time_seconds',
    help: 'Round-Trip-Time histogram between peers',
    labelNames: ['To'],
    buckets: exponentialBuckets(0.0001, 2, 16),
    registers: [r],
  });
  const series = (pick: (c: PeerCounters) => number, label: string, skipZero: boolean) =>
    function* (): Iterable<[Labels, number]> {
      for (const [id, c] of counters) {
        const n = pick(c);
        if (!skipZero || n > 0) yield [{ [label]: hex(id) }, n];
      }
    };
  scrapedCounterVec(
    r,
    'etcd_network_peer_sent_bytes_total',
    'The total number of bytes sent to peers.',
    ['To'],
    series((c) => c.sentBytes, 'To', false),
  );
  scrapedCounterVec(
    r,
    'etcd_network_peer_received_bytes_total',
    'The total number of bytes received from peers.',
    ['From'],
    series((c) => c.receivedBytes, 'From', true),
  );
  // etcd creates a series on the first failure only
  scrapedCounterVec(
    r,
    'etcd_network_peer_sent_failures_total',
    'The total number of send failures from peers.',
    ['To'],
    series((c) => c.sentFailures, 'To', true),
  );
  scrapedCounterVec(
    r,
    'etcd_network_peer_received_failures_total',
    'The total number of receive failures from peers.',
    ['From'],
    series((c) => c.receivedFailures, 'From', true),
  );
  scrapedGaugeVec(
    r,
    'etcd_network_active_peers',
    'The current number of active peer connections.',
    ['Local', 'Remote'],
    function* () {
      const v = view();
      if (!v) return;
      for (const [id, up] of v.peers()) yield [{ Local: hex(v.memberId), Remote: hex(id) }, up ? 1 : 0];
    },
  );
  scrapedCounter(
    r,
    'etcd_network_client_grpc_received_bytes_total',
    'The total number of bytes received from grpc clients.',
    () => grpcBytes().received,
  );
  scrapedCounter(
    r,
    'etcd_network_client_grpc_sent_bytes_total',
    'The total number of bytes sent to grpc clients.',
    () => grpcBytes().sent,
  );
  return {
    peer(id) {
      let c = counters.get(id);
      if (!c) counters.set(id, (c = { sentBytes: 0, receivedBytes: 0, sentFailures: 0, receivedFailures: 0 }));
      return c;
    },
    rttSeconds(id, s) {
      rtt.observe({ To: hex(id) }, s);
    },
  };
}
