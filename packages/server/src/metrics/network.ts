// etcd's network families: bytes sent to and received from each peer, messages that could not be
// sent, the peer round-trip time, active peer streams, and the bytes of client gRPC messages. The peer
// transport bumps a PeerCounters object per remote member; the rest is read at scrape time.

import type { Registry } from 'prom-client';
import type { PeerCounters, PeerStats } from '../peer/index.js';
import { exponentialBuckets, families } from './scrape.js';

export interface NetworkView {
  readonly memberId: bigint;
  /** Remote members this one keeps a stream to, and whether it is up. */
  peers(): Iterable<[bigint, boolean]>;
}

const hex = (id: bigint): string => id.toString(16);

const HELP = {
  etcd_network_peer_round_trip_time_seconds: 'Round-Trip-Time histogram between peers',
  etcd_network_peer_sent_bytes_total: 'The total number of bytes sent to peers.',
  etcd_network_peer_received_bytes_total: 'The total number of bytes received from peers.',
  etcd_network_peer_sent_failures_total: 'The total number of send failures from peers.',
  etcd_network_peer_received_failures_total: 'The total number of receive failures from peers.',
  etcd_network_active_peers: 'The current number of active peer connections.',
  etcd_network_client_grpc_received_bytes_total: 'The total number of bytes received from grpc clients.',
  etcd_network_client_grpc_sent_bytes_total: 'The total number of bytes sent to grpc clients.',
} as const;

export function registerNetworkFamilies(
  r: Registry,
  view: () => NetworkView | null,
  grpcBytes: () => { received: number; sent: number },
): PeerStats {
  const counters = new Map<bigint, PeerCounters>();
  const f = families(r, HELP);
  const rtt = f.histogram('etcd_network_peer_round_trip_time_seconds', exponentialBuckets(0.0001, 2, 16), ['To']);
  /** A counter per peer: its ID under `label`; with `skipZero`, a peer's series appears once it counts (as etcd's). */
  const perPeer = (name: keyof typeof HELP, label: 'To' | 'From', pick: (c: PeerCounters) => number, skipZero = true) =>
    f.counterVec(name, [label], function* () {
      for (const [id, c] of counters) {
        const n = pick(c);
        if (!skipZero || n > 0) yield [{ [label]: hex(id) }, n];
      }
    });
  perPeer('etcd_network_peer_sent_bytes_total', 'To', (c) => c.sentBytes, false);
  perPeer('etcd_network_peer_received_bytes_total', 'From', (c) => c.receivedBytes);
  perPeer('etcd_network_peer_sent_failures_total', 'To', (c) => c.sentFailures);
  perPeer('etcd_network_peer_received_failures_total', 'From', (c) => c.receivedFailures);
  f.gaugeVec('etcd_network_active_peers', ['Local', 'Remote'], function* () {
    const v = view();
    if (!v) return;
    for (const [id, up] of v.peers()) yield [{ Local: hex(v.memberId), Remote: hex(id) }, up ? 1 : 0];
  });
  f.counter('etcd_network_client_grpc_received_bytes_total', () => grpcBytes().received);
  f.counter('etcd_network_client_grpc_sent_bytes_total', () => grpcBytes().sent);
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
