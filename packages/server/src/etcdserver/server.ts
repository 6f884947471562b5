// EtcdServer: one member. Drives the Raft state machine (ticks, the Ready loop with group commit
// to the WAL, the apply loop), turns client writes into proposals and waits for their outcome, and
// serves linearizable reads through batched ReadIndex rounds. A single member is a one-voter Raft
// cluster: the write path is the same as in a cluster.

import { slowApplyWarner, type SlowApplyWarner } from '../apply/slow-apply.js';
import { etcdError, GrpcStatusError } from '@conclave/api';
import {
  type ConfChangeType,
  MessageType,
  ProposalDroppedError,
  RawNode,
  StateRole,
  type Entry,
  type Message,
  type Ready,
  type ConfChange,
  type ConfState,
} from '../raft/index.js';
import type { Logger } from '../log/index.js';
import { MSG, formatId } from '../log/index.js';
import { MvccStore } from '../mvcc/index.js';
import { Applier } from '../apply/applier.js';
import { openStorage, type OpenedStorage } from './bootstrap.js';
import type { BatchSyncOptions } from '../storage/backend/index.js';
import { IdGenerator, computeClusterId } from './ids.js';
import { Membership, type Member } from './membership.js';
import { encodeRequest, etcdRequestSize, RequestKind, type InternalRequest } from './raft-request.js';
import { Proposals } from './proposals.js';
import { ReadIndexer } from './read-index.js';
import { SnapshotPolicy } from './snapshot.js';
import { AlarmStore } from './alarms.js';
import { DowngradeStore } from '../cluster-version/downgrade.js';
import { ETCD_COMPAT_VERSION } from '../config/version.js';
import type { PeerTransport } from '../peer/index.js';
import { installSnapshot } from './snapshot-install.js';
import { LeaseHost } from '../lease/index.js';
import { LeaderRoutes } from './forward-routes.js';
import type { ClusterControl, MemberStatus, Proposer, ProposeOptions, ReadBarrier } from './ports.js';
import { Auth, type AuthOptions } from '../auth/index.js';
import { MemberMetrics } from '../metrics/index.js';

export interface EtcdServerOptions {
  name: string;
  dataDir: string;
  walDir?: string;
  /** This member's ID and the founding members (for a new cluster). */
  memberId: bigint;
  initialMembers: Member[];
  heartbeatMs: number;
  electionTicks: number;
  snapshotCount: number;
  maxSnapshots: number;
  maxWals: number;
  maxRequestBytes: number;
  /** --quota-backend-bytes (null = no quota). */
  quotaBackendBytes: number | null;
  preVote: boolean;
  initialElectionTickAdvance: boolean;
  /** Advertised client URLs, published to the cluster. */
  clientUrls: string[];
  logger: Logger;
  /**
   * False for a member joining an existing cluster: it starts with an empty log and learns
   * everything (membership included) from the leader. Default true (found a new cluster).
   */
  bootstrap?: boolean;
  /** The cluster ID, when joining an existing cluster (otherwise derived from initialMembers). */
  clusterId?: bigint;
  /** Creates the peer transport once the member's IDs are known (none for a lone member in tests). */
  transport?: (server: EtcdServer) => PeerTransport;
  /** --experimental-compaction-batch-limit (default 1000). */
  compactionBatchLimit?: number;
  /** --unsafe-no-fsync: the WAL and the backend never fsync. */
  unsafeNoFsync?: boolean;
  /** --backend-batch-interval / --backend-batch-limit: when backend commits are synced (etcd's defaults if absent). */
  backendBatch?: BatchSyncOptions;
  /** --experimental-warning-apply-duration in ms (default 100): slower applies are logged and counted. */
  warningApplyDurationMs?: number;
  /** Called when this member applies its own removal from the cluster. */
  onRemoved?: () => void;
  /**
   * Runs once the storage is open, before Raft starts or any peer is contacted (etcd's initial
   * corruption check). If it throws, the member closes its storage and start() rejects with that error.
   */
  beforeRaft?: (server: EtcdServer) => Promise<void>;
  /** Lease checkpointing (--experimental-enable-lease-checkpoint[-persist]); null/absent = off. */
  leaseCheckpoint?: { persist: boolean; intervalMs?: number } | null;
  /** Auth: token provider (--auth-token), --bcrypt-cost, --client-cert-auth. */
  auth?: AuthOptions;
  /** --metrics=extensive: also export the per-method gRPC handling-time histograms. */
  metricsExtensive?: boolean;
}

/** Campaigns a follower tries after its leader's process is gone, before the election timeout takes over. */
const FAST_CAMPAIGN_ATTEMPTS = 3;

/** etcd's request timeout: 5 s + 2 × election timeout. */
function requestTimeoutMs(o: EtcdServerOptions): number {
  return 5000 + 2 * o.electionTicks * o.heartbeatMs;
}

export class EtcdServer implements Proposer, ReadBarrier, MemberStatus, ClusterControl {
  readonly memberId: bigint;
  clusterId: bigint;
  readonly store: MvccStore;
  readonly membership: Membership;
  readonly applier: Applier;
  readonly alarms: AlarmStore;
  /** The cluster's downgrade job (Maintenance.Downgrade). */
  readonly downgrade: DowngradeStore;
  readonly node: RawNode;
  private readonly storage: OpenedStorage;
  readonly logger: Logger;
  private readonly ids: IdGenerator;
  private readonly proposals: Proposals;
  /** Proposals waiting for a leader (dropped by Raft while leaderless). */
  private readonly reads: ReadIndexer;
  private readonly snapshots: SnapshotPolicy;
  private ticker: NodeJS.Timeout | null = null;
  private processing = false;
  private rerun = false;
  private scheduled = false;
  private stopped = false;
  private fatal: unknown = null;
  private lead = 0n;
  private role: StateRole = StateRole.Follower;
  private leaderWaiters: Array<() => void> = [];
  private readonly leaderListeners = new Set<(lead: bigint, isLeader: boolean) => void>();
  /** Database files of received snapshots, by snapshot index, until Raft hands the snapshot over. */
  private readonly receivedDbs = new Map<number, string>();
  transport: PeerTransport | null = null;
  /** Set once this member applied its own removal. */
  removed = false;
  /** Ready-loop turn counter (for status and tests). */
  readyCount = 0;
  /** Counters for /metrics and benchmarks. */
  readonly stats = { walSaves: 0, walSaveMs: 0, walWaitMs: 0, entries: 0 };
  readonly startedAt = Date.now();
  /** This member's metrics (its own registry: members in one process share no series). */
  readonly metrics: MemberMetrics;
  /** True while a snapshot from the leader is being installed. */
  private installingSnapshot = false;
  /** When a heartbeat last went to each member (etcd counts late heartbeats as send failures). */
  private readonly heartbeatSent = new Map<bigint, number>();

  /** etcd's "apply request took too long" warning and etcd_server_slow_apply_total. */
  readonly slowApply: SlowApplyWarner;

  private constructor(
    private readonly opts: EtcdServerOptions,
    storage: OpenedStorage,
    metrics: MemberMetrics,
  ) {
    this.metrics = metrics;
    this.storage = storage;
    this.logger = opts.logger;
    this.slowApply = slowApplyWarner(
      this.logger,
      opts.warningApplyDurationMs ?? 100,
      () => {
        metrics.server.slowApplies++;
      },
      () => ({ clusterId: this.clusterId, memberId: this.memberId, raftTerm: this.term }),
    );
    this.memberId = storage.metadata.memberId;
    this.clusterId = storage.metadata.clusterId;
    this.ids = new IdGenerator(this.memberId);
    this.store = MvccStore.open(storage.backend, metrics.mvcc, opts.compactionBatchLimit);
    this.membership = new Membership(storage.backend);
    const snapIndex = storage.snapshot?.metadata.index ?? 0;
    this.node = new RawNode({
      id: this.memberId,
      storage: storage.raftStorage,
      electionTick: opts.electionTicks,
      heartbeatTick: 1,
      applied: snapIndex,
      preVote: opts.preVote,
      checkQuorum: true,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 512,
      random: Math.random,
      logger: {
        debug: (m) => this.logger.debug(m),
        info: (m) => this.logger.info(m),
        warn: (m) => this.logger.warn(m),
        error: (m) => this.logger.error(m),
      },
    });
    const initial = new Map(opts.initialMembers.map((m) => [m.id, m]));
    this.alarms = new AlarmStore({
      backend: storage.backend,
      quotaBytes: opts.quotaBackendBytes,
      memberId: this.memberId,
      proposer: this,
      reads: this,
      logger: this.logger,
    });
    this.downgrade = new DowngradeStore(storage.backend, this.logger, ETCD_COMPAT_VERSION);
    this.proposals = new Proposals({
      node: this.node,
      lead: () => this.lead,
      kick: () => this.kick(),
      timeoutMs: requestTimeoutMs(opts),
      retryMs: opts.heartbeatMs,
      counters: metrics.server,
    });
    this.reads = new ReadIndexer({
      node: this.node,
      memberId: this.memberId,
      appliedIndex: () => this.applier.appliedIndex,
      kick: () => this.kick(),
      retryMs: opts.electionTicks * opts.heartbeatMs,
      counters: metrics.server,
    });
    this.snapshots = new SnapshotPolicy({
      storage,
      snapshotCount: opts.snapshotCount,
      maxSnapshots: opts.maxSnapshots,
      maxWals: opts.maxWals,
      logger: this.logger,
    });
    this.routes = new LeaderRoutes({
      memberId: this.memberId,
      lead: () => this.lead,
      sender: (id) => this.transport?.sender(id),
      timeoutMs: requestTimeoutMs(opts),
    });
    // Leases: the lessor, expiry (leader only) and keep-alive routing (lease/).
    this.leases = new LeaseHost(
      {
        backend: storage.backend,
        store: this.store,
        logger: this.logger,
        proposer: this,
        leader: this,
        progress: this,
        routes: this.routes,
        counters: metrics.lease,
      },
      {
        heartbeatMs: opts.heartbeatMs,
        electionTicks: opts.electionTicks,
        requestTimeoutMs: requestTimeoutMs(opts),
        checkpoint: opts.leaseCheckpoint ?? null,
      },
    );
    // Auth: the store, who calls, and the apply-time permission checks (auth/).
    this.auth = new Auth(
      {
        backend: storage.backend,
        logger: this.logger,
        leaseKeys: (id) => this.leases.lessor.lookup(id)?.sortedKeys() ?? [],
        progress: this,
      },
      opts.auth,
    );
    // Committed entries: membership changes in the applier, every request kind in apply/dispatch.ts.
    this.applier = new Applier({
      backend: storage.backend,
      membership: this.membership,
      targets: {
        store: this.store,
        kvEnv: { leaseExists: (id) => this.leaseExists(id) },
        capped: () => this.alarms.capped,
        membership: this.membership,
        lessor: this.leases.lessor,
        auth: this.auth.store,
        downgrade: this.downgrade,
        corrupt: () => this.alarms.corrupt,
        quotaAvailable: (cost) => this.alarms.quota.available(cost),
        alarms: this.alarms,
      },
      authorize: (req) => this.auth.authorize(req),
      observe: metrics.apply,
      slowApply: this.slowApply,
      logger: this.logger,
      applyConfChange: (cc: ConfChange): ConfState => this.node.applyConfChange(cc),
      firstLogIndex: () => storage.raftStorage.firstIndex(),
      initialMembers: initial,
    });
    if (storage.snapshot) this.applier.confState = storage.snapshot.metadata.confState;
    this.metrics.attach({
      memberId: this.memberId,
      leader: () => this.lead,
      isLeader: () => this.isLeader,
      isLearner: () => this.isLearner,
      committedIndex: () => this.committedIndex,
      appliedIndex: () => this.appliedIndex,
      pendingProposals: () => this.proposals.pending,
      clusterVersion: () => this.membership.version || null,
      // etcd reports its configured negative value when the quota is off; Conclave keeps no number then
      quotaBackendBytes: () => this.opts.quotaBackendBytes ?? -1,
      applyingSnapshot: () => this.installingSnapshot,
      keyCount: () => this.store.keyCount,
      currentRevision: () => this.store.currentRevision,
      compactRevision: () => this.store.compactRevision,
      dbSize: () => this.backend.size(),
      dbSizeInUse: () => this.backend.sizeInUse(),
      openReadTxns: () => this.backend.openReaders(),
      walBytesWritten: () => this.storage.wal.stats.bytesWritten,
      defragInflight: () => this.backend.busyOperation === 'defragment',
      peers: () => this.transport?.peers() ?? [],
      authRevision: () => this.auth.revision,
    });
  }

  readonly leases: LeaseHost;
  readonly auth: Auth;
  /** Requests other members forward to this one when it leads, and forwarding to the leader. */
  readonly routes: LeaderRoutes;

  /** Lease lookup for puts (the lessor's). */
  leaseExists = (id: bigint): boolean => this.leases.lessor.has(id);

  static async start(opts: EtcdServerOptions): Promise<EtcdServer> {
    const clusterId = opts.clusterId ?? computeClusterId(opts.initialMembers.map((m) => m.id));
    const metrics = new MemberMetrics({ extensive: opts.metricsExtensive === true });
    const storage = await openStorage({
      dataDir: opts.dataDir,
      walDir: opts.walDir,
      fresh: { memberId: opts.memberId, clusterId },
      logger: opts.logger,
      observers: { wal: metrics.wal, backend: metrics.backend, snap: metrics.snap },
      unsafeNoFsync: opts.unsafeNoFsync === true,
      ...(opts.backendBatch ? { backendBatch: opts.backendBatch } : {}),
    });
    const s = new EtcdServer(opts, storage, metrics);
    s.durableIndex = storage.raftStorage.lastIndex();
    opts.logger.info(MSG.STARTING_LOCAL_MEMBER, {
      'local-member-id': formatId(s.memberId),
      'cluster-id': formatId(s.clusterId),
    });
    if (storage.fresh) {
      if (opts.bootstrap !== false) {
        s.node.bootstrap(
          opts.initialMembers.filter((m) => !m.isLearner).map((m) => m.id),
          opts.initialMembers.filter((m) => m.isLearner).map((m) => m.id),
        );
      }
      storage.backend.batch(() => s.membership.setClusterId(clusterId));
    }
    if (opts.beforeRaft) {
      try {
        await opts.beforeRaft(s);
      } catch (err) {
        await s.stop();
        throw err;
      }
    }
    if (opts.transport) {
      s.transport = opts.transport(s);
      // Until the log is replayed, talk to everyone we know of (the founding or fetched members).
      s.transport.syncMembers(s.membership.list().length ? s.membership.list() : opts.initialMembers);
    }
    s.startTicker();
    s.kick();
    return s;
  }

  get term(): number {
    return this.node.term;
  }

  get leader(): bigint {
    return this.lead;
  }

  /** Is this member a learner (non-voting)? */
  get isLearner(): boolean {
    return this.membership.get(this.memberId)?.isLearner ?? false;
  }

  get isLeader(): boolean {
    return this.role === StateRole.Leader;
  }

  get appliedIndex(): number {
    return this.applier.appliedIndex;
  }

  get committedIndex(): number {
    return this.node.commitIndex;
  }

  get backend() {
    return this.storage.backend;
  }

  /** Raft's last log index (etcd's raftIndex in Status). */
  get raftIndex(): number {
    return this.node.basicStatus().lastIndex;
  }

  nextId(): bigint {
    return this.ids.next();
  }

  nextLeaseId(): bigint {
    return this.ids.nextPositiveInt64();
  }

  private startTicker(): void {
    this.loneCampaignPending = this.opts.initialElectionTickAdvance;
    this.maybeLoneCampaign();
    this.ticker = setInterval(() => {
      this.node.tick();
      this.kick();
      this.proposals.expire();
    }, this.opts.heartbeatMs);
    this.ticker.unref();
  }

  /** Set until a lone voter had its chance to campaign at start. */
  private loneCampaignPending = false;

  /**
   * etcd fast-forwards the election clock of a member that is the only voter; a lone voter can
   * simply campaign at once (nobody else can win or be disrupted). On a restart Raft knows the
   * membership only after replaying the log, so this is retried after each apply until then (also
   * until committed configuration changes are applied).
   */
  private maybeLoneCampaign(): void {
    if (!this.loneCampaignPending || this.lead !== 0n) {
      this.loneCampaignPending = false;
      return;
    }
    const st = this.node.basicStatus();
    const voters = st.config.voters;
    if (voters.length === 0) return;
    // Raft refuses to campaign while committed configuration changes are unapplied (the bootstrap
    // ones on a new member): wait for the apply rather than fall back to the election timeout.
    if (st.applied < st.hardState.commit) return;
    this.loneCampaignPending = false;
    if (voters.length === 1 && voters[0] === this.memberId) {
      this.opts.logger.info(MSG.SINGLE_NODE_FAST_FORWARD, {
        'local-member-id': formatId(this.memberId),
        'forward-ticks': this.opts.electionTicks - 1,
        'election-ticks': this.opts.electionTicks,
      });
      this.node.campaign();
      this.kick();
    }
  }

  /** Schedules a turn of the Ready loop (coalescing everything that happens in this I/O phase). */
  kick(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.runReadyLoop();
    });
  }

  private async runReadyLoop(): Promise<void> {
    if (this.processing) {
      this.rerun = true;
      return;
    }
    this.processing = true;
    try {
      do {
        this.rerun = false;
        while (!this.stopped && this.node.hasReady()) await this.handleReady(this.node.ready());
      } while (this.rerun && !this.stopped);
    } catch (err) {
      this.fail(err);
    } finally {
      this.processing = false;
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    this.readyCount++;
    this.onSoftState(rd);
    const leader = rd.softState.role === StateRole.Leader;
    if (leader) this.send(rd.messages);
    const st = this.storage;
    // Committed entries that were durable before this Ready (a leader's always are: it counts its own
    // log only once persisted) may be applied before this Ready's own entries are durable; entries this
    // Ready (re)writes are applied after. (With the usual inline save the write and fsync are done by
    // then anyway; a large save through the thread pool overlaps the early apply.)
    let early: Entry[] = [];
    let late = rd.committedEntries;
    if (!rd.snapshot && late.length > 0) {
      const limit = Math.min(
        this.durableIndex,
        rd.entries.length > 0 ? rd.entries[0]!.index - 1 : Number.POSITIVE_INFINITY,
      );
      let n = 0;
      while (n < late.length && late[n]!.index <= limit) n++;
      if (n > 0) {
        early = late.slice(0, n);
        late = late.slice(n);
      }
    }
    if (rd.snapshot) {
      await st.snapshotter.save(rd.snapshot);
      await st.wal.saveSnapshotMarker({ index: rd.snapshot.metadata.index, term: rd.snapshot.metadata.term });
    }
    let saving: Promise<void> | null = null;
    const t0 = performance.now();
    if (rd.hardState || rd.entries.length > 0 || rd.mustSync) {
      // Written and synced on this thread whenever the log is idle (see Wal.save): two thread-pool
      // round trips (write, then fdatasync) cost more CPU and wake-ups than the thread spends
      // blocked in fdatasync. Measured against inline saves for at most 2 entries: single-member
      // 100-client put 21.8-22.0k -> 25.5-26.0k ops/s (44-46 -> 40 us CPU each), 3 members +7%.
      saving = st.wal.save(rd.hardState, rd.entries, rd.mustSync, { inline: true });
      saving.catch(() => {}); // observed below; keeps an early failure from counting as unhandled
    }
    if (early.length > 0) await this.applyCommitted(early);
    if (saving) {
      const t1 = performance.now();
      await saving;
      this.stats.walWaitMs += performance.now() - t1;
      this.stats.walSaveMs += performance.now() - t0;
      this.stats.walSaves++;
    }
    this.stats.entries += rd.entries.length;
    if (rd.entries.length > 0) this.durableIndex = rd.entries[rd.entries.length - 1]!.index;
    if (rd.snapshot) {
      st.raftStorage.applySnapshot(rd.snapshot);
      this.durableIndex = Math.max(this.durableIndex, rd.snapshot.metadata.index);
      this.installingSnapshot = true;
      try {
        await installSnapshot(
          {
            memberId: this.memberId,
            backend: st.backend,
            applier: this.applier,
            logger: this.logger,
            reload: () => {
              this.membership.load();
              this.alarms.load();
              this.auth.reload();
            },
          },
          rd.snapshot,
          this.receivedDbs.get(rd.snapshot.metadata.index),
        );
      } finally {
        this.installingSnapshot = false;
      }
      this.receivedDbs.clear();
    }
    if (rd.hardState) st.raftStorage.setHardState(rd.hardState);
    if (rd.entries.length > 0) st.raftStorage.append(rd.entries);
    if (!leader) this.send(rd.messages);
    if (late.length > 0) await this.applyCommitted(late);
    if (this.applier.membershipChanged) this.onMembershipApplied();
    this.reads.onReadStates(rd.readStates);
    this.node.advance(rd);
    if (this.loneCampaignPending) this.maybeLoneCampaign();
    this.reads.onApplied();
    this.snapshots.maybeSnapshot(this.applier, () => this.node.basicStatus().hardState.term);
  }

  /** Index of the last entry known to be in the fsynced WAL. */
  private durableIndex = 0;

  private async applyCommitted(entries: Entry[]): Promise<void> {
    // A defragment holds writes off for a moment: apply once it is done.
    if (this.storage.backend.busyOperation !== null) await this.storage.backend.whenIdle();
    const outcomes = this.applier.applyEntries(entries);
    for (const [id, outcome] of outcomes) this.proposals.settle(id, outcome);
    this.leases.afterApply(entries);
    this.proposals.applied(entries[entries.length - 1]!.term);
  }

  private onSoftState(rd: Ready): void {
    const { lead, role } = rd.softState;
    if (lead !== this.lead) {
      const prev = this.lead;
      this.lead = lead;
      if (lead !== 0n) {
        this.metrics.server.leaderChanges++;
        this.logger.info(
          `raft.node: ${formatId(this.memberId)} elected leader ${formatId(lead)} at term ${rd.hardState?.term ?? this.term}`,
        );
        const waiters = this.leaderWaiters;
        this.leaderWaiters = [];
        for (const w of waiters) w();
        this.proposals.flushQueued();
      } else if (prev !== 0n) {
        this.logger.info(`raft.node: ${formatId(this.memberId)} lost leader ${formatId(prev)} at term ${this.term}`);
      }
    }
    const wasLeader = this.role === StateRole.Leader;
    this.role = role;
    if (lead !== this.notifiedLead || (role === StateRole.Leader) !== wasLeader) {
      this.notifiedLead = lead;
      for (const l of this.leaderListeners) l(lead, role === StateRole.Leader);
    }
  }

  private notifiedLead = 0n;

  /** Calls `listener(lead, isLeader)` whenever the leader or this member's leadership changes. */
  onLeaderChange(listener: (lead: bigint, isLeader: boolean) => void): () => void {
    this.leaderListeners.add(listener);
    return () => this.leaderListeners.delete(listener);
  }

  /** After a membership change is applied: reconnect peers; stop if this member was removed. */
  private onMembershipApplied(): void {
    this.applier.membershipChanged = false;
    this.transport?.syncMembers(this.membership.list());
    if (!this.removed && this.membership.isRemoved(this.memberId)) {
      this.removed = true;
      this.logger.warn('the member has been permanently removed from the cluster', {
        'local-member-id': formatId(this.memberId),
      });
      // Stay a moment so the remaining voters learn that the removal committed (with two voters left,
      // going first could leave the other waiting for a quorum that includes us).
      setTimeout(() => this.opts.onRemoved?.(), 2 * this.opts.heartbeatMs * this.opts.electionTicks).unref();
    }
  }

  /** Messages the transport could not deliver (proposals among them wait for a leader again). */
  onDropped(messages: Message[]): void {
    this.proposals.onDropped(messages);
  }

  private fastCampaign: NodeJS.Timeout | null = null;

  /**
   * The transport says member `id`'s process is gone (its peer port refuses connections). If it was
   * our leader, we forget it (Raft's forgetLeader: we now grant pre-votes at once) and campaign after
   * a random fraction of half an election timeout, so that when the leader's process dies a new
   * leader is elected in well under the election timeout etcd waits out. The random delay keeps the
   * followers from campaigning together; a failed pre-vote (another follower still hears from the
   * leader) changes nothing, and the normal timeout still applies. Proposals wait for the new leader
   * instead of being forwarded to the dead one.
   */
  onPeerGone(id: bigint): void {
    if (this.stopped || id !== this.lead || this.role !== StateRole.Follower) return;
    this.logger.warn('leader process is gone (its peer port refuses connections); forgetting it', {
      'leader-member-id': formatId(id),
    });
    this.node.forgetLeader();
    this.kick();
    if (this.fastCampaign) return;
    this.scheduleFastCampaign(FAST_CAMPAIGN_ATTEMPTS, (this.opts.heartbeatMs * this.opts.electionTicks) / 2);
  }

  /**
   * Campaigns after a random delay below `spreadMs`. Two followers whose delays fell close together
   * can split the vote; rather than wait out the election timeout, a campaign that produced no leader
   * within a few heartbeats is tried again (a new term each time, which Raft allows at any moment).
   */
  private scheduleFastCampaign(attempts: number, spreadMs: number): void {
    this.fastCampaign = setTimeout(
      () => {
        this.fastCampaign = null;
        if (this.stopped || this.lead !== 0n || this.role === StateRole.Leader) return;
        this.node.campaign();
        this.kick();
        if (attempts > 1) {
          this.fastCampaign = setTimeout(() => {
            this.fastCampaign = null;
            if (this.stopped || this.lead !== 0n || this.role === StateRole.Leader) return;
            this.scheduleFastCampaign(attempts - 1, spreadMs / 2);
          }, 3 * this.opts.heartbeatMs);
          this.fastCampaign.unref();
        }
      },
      Math.floor(Math.random() * spreadMs),
    );
    this.fastCampaign.unref();
  }

  /** A Raft message from another member (peer transport). */
  receive(m: Message): void {
    if (this.stopped) return;
    try {
      this.node.step(m);
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
    }
    this.kick();
  }

  /** A snapshot message whose backend database arrived at `dbPath`. */
  receiveSnapshot(m: Message, dbPath: string): void {
    if (m.snapshot) this.receivedDbs.set(m.snapshot.metadata.index, dbPath);
    this.receive(m);
  }

  reportUnreachable(id: bigint): void {
    this.node.reportUnreachable(id);
  }

  reportSnapshot(id: bigint, ok: boolean): void {
    this.node.reportSnapshot(id, ok);
    this.kick();
  }

  get snapshotDir(): string {
    return this.storage.snapshotter.dir;
  }

  get storageHandles(): OpenedStorage {
    return this.storage;
  }

  private send(messages: Message[]): void {
    if (messages.length === 0 || !this.transport) return;
    if (this.role === StateRole.Leader) this.noteHeartbeats(messages);
    this.transport.send(messages);
  }

  /**
   * etcd's heartbeat_send_failures_total: a leader's heartbeat to a member that follows the previous
   * one by more than twice the heartbeat interval (the leader was too busy, e.g. a slow disk).
   */
  private noteHeartbeats(messages: Message[]): void {
    const now = performance.now();
    for (const m of messages) {
      if (m.type !== MessageType.Heartbeat) continue;
      const last = this.heartbeatSent.get(m.to);
      if (last !== undefined && now - last > 2 * this.opts.heartbeatMs) this.metrics.server.heartbeatSendFailures++;
      this.heartbeatSent.set(m.to, now);
    }
  }

  private fail(err: unknown): void {
    if (this.fatal) return;
    this.fatal = err;
    this.logger.error('raft loop failed; member stops serving writes', { error: String((err as Error)?.stack ?? err) });
    this.proposals.failAll(etcdError('Stopped'));
  }

  /** Resolves once a leader is known (immediately if there is one). */
  waitLeader(): Promise<void> {
    if (this.lead !== 0n) return Promise.resolve();
    return new Promise((resolve) => this.leaderWaiters.push(resolve));
  }

  /**
   * Proposes a request and resolves with its apply outcome on this member. Rejects with etcd's errors:
   * "request is too large", "request timed out", "server stopped".
   */
  propose<T>(kind: RequestKind, body: Uint8Array, opts: ProposeOptions = {}): Promise<T> {
    if (this.stopped || this.fatal) return Promise.reject(etcdError('Stopped'));
    const { signal, cancel } = opts;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const req: InternalRequest = {
      kind,
      id: this.ids.next(),
      username: opts.username ?? '',
      authRevision: opts.authRevision ?? 0,
      body,
    };
    if (etcdRequestSize(req) > this.opts.maxRequestBytes) return Promise.reject(etcdError('RequestTooLarge'));
    return this.proposals.propose<T>(req.id, encodeRequest(req), { signal, cancel });
  }

  /** Resolves when this member has applied everything committed before the call (ReadIndex). */
  linearizableRead(): Promise<void> {
    if (this.stopped || this.fatal) return Promise.reject(etcdError('Stopped'));
    return this.reads.read(requestTimeoutMs(this.opts));
  }

  /** Publishes this member's name and client URLs through Raft (etcd's "publish"), retrying until it lands. */
  async publish(): Promise<void> {
    const attrs = JSON.stringify({
      id: formatId(this.memberId),
      name: this.opts.name,
      clientURLs: this.opts.clientUrls,
    });
    for (;;) {
      if (this.stopped) return;
      try {
        await this.waitLeader();
        await this.propose(RequestKind.MemberAttributes, Buffer.from(attrs));
        this.logger.info(MSG.PUBLISHED_LOCAL_MEMBER, {
          'local-member-id': formatId(this.memberId),
          'local-member-attributes': `{Name:${this.opts.name} ClientURLs:[${this.opts.clientUrls.join(' ')}]}`,
          'request-path': `/0/members/${formatId(this.memberId)}/attributes`,
          'cluster-id': formatId(this.clusterId),
          'publish-timeout': `${requestTimeoutMs(this.opts) / 1000}s`,
        });
        return;
      } catch (err) {
        if (this.stopped) return;
        this.logger.warn('failed to publish local member to cluster through raft', { error: String(err) });
      }
    }
  }

  /** The leader sets the cluster version once (etcd decides it from the members' versions). */
  async ensureClusterVersion(version: string): Promise<void> {
    if (this.membership.version) return;
    await this.waitLeader();
    if (!this.isLeader || this.membership.version) return;
    this.logger.info(MSG.SETTING_UP_INITIAL_CLUSTER_VERSION, {
      'cluster-version': version.split('.').slice(0, 2).join('.'),
    });
    await this.propose(RequestKind.ClusterVersion, Buffer.from(version));
  }

  /**
   * Proposes a membership change and resolves once it is applied on this member (rejects with etcd's
   * errors: member exists, peer URLs exist, member not found; timeouts as other proposals).
   */
  proposeConfChange(type: ConfChangeType, nodeId: bigint, context: Member | null): Promise<void> {
    if (this.stopped || this.fatal) return Promise.reject(etcdError('Stopped'));
    const id = this.ids.next();
    const ctx = context
      ? Buffer.from(
          JSON.stringify({
            name: context.name,
            peerURLs: context.peerUrls,
            clientURLs: context.clientUrls,
            isLearner: context.isLearner,
          }),
        )
      : Buffer.alloc(0);
    return this.proposals.proposeConfChange(id, () => this.node.proposeConfChange({ type, nodeId, context: ctx, id }));
  }

  isPeerActive(id: bigint): boolean {
    return this.transport?.isActive(id) ?? false;
  }

  replicationProgress(): ReadonlyMap<bigint, { readonly match: number }> | null {
    return this.node.status().progress;
  }

  /** Hands leadership to `target` (a voting member) and waits until it leads (etcd's MoveLeader). */
  async moveLeader(target: bigint): Promise<void> {
    const m = this.membership.get(target);
    if (!m || m.isLearner) throw etcdError('BadLeaderTransferee');
    if (target === this.lead) return;
    this.node.transferLeadership(target);
    this.kick();
    const deadline = Date.now() + requestTimeoutMs(this.opts);
    while (this.lead !== target) {
      if (Date.now() > deadline || this.stopped) throw etcdError('TimeoutLeaderTransfer');
      await new Promise((r) => setTimeout(r, this.opts.heartbeatMs));
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    if (process.env['CONCLAVE_DEBUG_STATS'])
      this.logger.warn('ready-loop stats', { readies: this.readyCount, ...this.stats });
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    if (this.fastCampaign) clearTimeout(this.fastCampaign);
    this.leases.stop();
    this.auth.close();
    this.transport?.stop();
    this.proposals.failAll(etcdError('Stopped'));
    this.reads.stop(etcdError('Stopped'));
    // Let an in-flight Ready finish persisting before closing the files under it.
    while (this.processing) await new Promise((r) => setTimeout(r, 5));
    await this.snapshots.idle();
    await this.store.close();
    await this.storage.wal.close();
    await this.storage.backend.close();
    this.metrics.close();
  }

  /** Is the error one of the request timeouts etcd reports? */
  static isTimeout(err: unknown): boolean {
    return err instanceof GrpcStatusError && err.message.startsWith('etcdserver: request timed out');
  }
}
