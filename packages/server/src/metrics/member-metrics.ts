// One member's metrics: a prom-client Registry of its own (never the global one, so members embedded
// in one process never share a series) holding every etcd family this member serves, the plain
// counter objects the serving path bumps, and the views it reads at scrape time.

import { Counter, Gauge, Registry } from 'prom-client';
import { ETCD_COMPAT_VERSION } from '../config/version.js';
import type { LeaseCounters } from '../lease/index.js';
import type { MvccCounters } from '../mvcc/index.js';
import type { PeerStats } from '../peer/index.js';
import type { BackendObserver } from '../storage/backend/index.js';
import type { WalObserver } from '../storage/wal/index.js';
import { type ApplyObserver, registerApplyFamily } from './apply.js';
import { registerDebuggingFamilies } from './debugging.js';
import { type DiskView, type SnapObserver, registerDiskFamilies } from './disk.js';
import { type GrpcFamilies, registerGrpcFamilies } from './grpc.js';
import { type MvccView, type WatchCounters, type WatchView, registerMvccFamilies } from './mvcc.js';
import { type NetworkView, registerNetworkFamilies } from './network.js';
import { registerProcessFamilies } from './process.js';
import { histogram, exponentialBuckets } from './scrape.js';
import { type MemberView, type ServerCounters, newServerCounters, registerServerFamilies } from './server.js';

export interface MemberMetricsOptions {
  /** --metrics=extensive: also the per-method gRPC handling-time histogram. */
  extensive?: boolean;
  /** The etcd version reported in etcd_server_version (default: the version Conclave reports). */
  serverVersion?: string;
}

/** The member state the families read at scrape time. */
export interface MemberSources extends MemberView, MvccView, DiskView, NetworkView {
  authRevision(): number;
}

export class MemberMetrics {
  readonly registry = new Registry();
  readonly server: ServerCounters = newServerCounters();
  readonly mvcc: MvccCounters;
  readonly watch: WatchCounters;
  readonly lease: LeaseCounters;
  readonly wal: WalObserver;
  readonly backend: BackendObserver;
  readonly snap: SnapObserver;
  readonly peers: PeerStats;
  readonly grpc: GrpcFamilies;
  /** Told each applied request's kind, duration and success. */
  readonly apply: ApplyObserver;
  private sources: MemberSources | null = null;
  private watchView: WatchView | null = null;
  private readonly hash: (seconds: number) => void;
  private readonly stopRuntime: () => void;
  private readonly scrapes: Counter;
  private readonly inFlight: Gauge;

  constructor(opts: MemberMetricsOptions = {}) {
    const r = this.registry;
    const src = () => this.sources;
    registerServerFamilies(r, this.server, src, { serverVersion: opts.serverVersion ?? ETCD_COMPAT_VERSION });
    ({ mvcc: this.mvcc, watch: this.watch } = registerMvccFamilies(r, src, () => this.watchView));
    ({ wal: this.wal, backend: this.backend, snap: this.snap } = registerDiskFamilies(r, src));
    this.grpc = registerGrpcFamilies(r, opts.extensive === true);
    this.peers = registerNetworkFamilies(r, src, () => this.grpc.bytes());
    this.lease = registerDebuggingFamilies(r, () => this.sources?.authRevision() ?? 0);
    const applied = registerApplyFamily(r);
    // slow applies (etcd_server_slow_apply_total) are counted by apply/slow-apply.ts
    this.apply = (kind, seconds, ok) => applied(kind, seconds, ok);
    const hash = histogram(
      r,
      'etcd_mvcc_hash_duration_seconds',
      'The latency distribution of storage hash operation.',
      exponentialBuckets(0.01, 2, 15),
    );
    this.hash = (s) => hash.observe(s);
    this.stopRuntime = registerProcessFamilies(r);
    this.inFlight = new Gauge({
      name: 'promhttp_metric_handler_requests_in_flight',
      help: 'Current number of scrapes being served.',
      registers: [r],
    });
    this.scrapes = new Counter({
      name: 'promhttp_metric_handler_requests_total',
      help: 'Total number of scrapes by HTTP status code.',
      labelNames: ['code'],
      registers: [r],
    });
    for (const code of ['200', '500', '503']) this.scrapes.inc({ code }, 0);
  }

  /** Connects the families that read the member's state (once the member is assembled). */
  attach(sources: MemberSources): void {
    this.sources = sources;
  }

  /** Connects the watch families to the Watch service; returns the function that disconnects them. */
  attachWatch(view: WatchView): () => void {
    this.watchView = view;
    return () => {
      if (this.watchView === view) this.watchView = null;
    };
  }

  /** A whole-backend hash (the Hash RPC) took `seconds`. */
  hashSeconds(seconds: number): void {
    this.hash(seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition of every family (Prometheus text format 0.0.4). */
  async render(): Promise<string> {
    this.inFlight.inc();
    try {
      const text = await this.registry.metrics();
      this.scrapes.inc({ code: '200' });
      return text;
    } catch (err) {
      this.scrapes.inc({ code: '500' });
      throw err;
    } finally {
      this.inFlight.dec();
    }
  }

  /** Stops the runtime observers (the member stopped). */
  close(): void {
    this.stopRuntime();
  }
}
