// Starting a member from a ServerConfig: logger, TLS, storage and Raft, the peer listener and
// transport, the gRPC services and HTTP endpoints on every client URL, publishing the member; and
// stopping it again. Used by the `conclave` binary and by startServer() for embedding.

import { existsSync } from 'node:fs';
import {
  verifyBootstrap,
  resolveInitialCluster,
  startupError,
  ETCD_COMPAT_VERSION,
  ETCD_CLUSTER_VERSION,
  type EtcdUrl,
  type ServerConfig,
} from '../config/index.js';
import { createLogger, formatId, MSG, type Logger } from '../log/index.js';
import {
  checkCertPolicy,
  cipherOptions,
  CipherSuiteError,
  listenerChecks,
  checkListenerUrls,
  clientTlsOptions,
  resolveListenerTls,
  serverTlsOptions,
  type CipherOptions,
  type TlsInfo,
} from '../tls/index.js';
import { computeMemberId } from '../etcdserver/ids.js';
import type { Member } from '../etcdserver/membership.js';
import { EtcdServer } from '../etcdserver/server.js';
import { layout } from '../etcdserver/bootstrap.js';
import { GrpcServer } from '../grpc/grpc-server.js';
import { etcdKeepalive } from '../grpc/h2/keepalive.js';
import { effectiveMaxStreams } from '../grpc/h2/limits.js';
import { listenUrl, nodeHttp2, type BoundListener, type ListenOptions } from '../grpc/listener.js';
import { withAccessControl } from '../http/access.js';
import { createRouter } from '../http/router.js';
import { registerServices } from '../services/index.js';
import { startAutoCompaction, type AutoCompactor } from '../etcdserver/auto-compact.js';
import { PeerServer, PeerTransport, snapshotDbLimit } from '../peer/index.js';
import { fetchRemoteCluster } from './join.js';
import { listenMetricsUrls } from './metrics-urls.js';
import { AuthConfigError, createTokenProvider, type TokenProvider } from '../auth/index.js';
import {
  checkInitialHashKV,
  PEER_HASHKV_PATH,
  serveHashKV,
  startCorruptMonitor,
  type CorruptCheckDeps,
  type CorruptMonitor,
} from '../corrupt/index.js';
import { etcdserverpb } from '@conclave/api';
import { quotaLogLines } from '../etcdserver/quota.js';
import { downgradeRefusal, startVersionMonitor } from '../cluster-version/monitor.js';

export interface MemberHandle {
  /** The client URLs actually bound (port 0 resolved). */
  clientUrls: string[];
  /** The peer URLs actually bound. */
  peerUrls: string[];
  server: EtcdServer;
  logger: Logger;
  /** Resolves when this member was removed from the cluster (it stops serving then). */
  removed: Promise<void>;
  close(): Promise<void>;
}

/** How long in-flight client requests may take to finish when the member stops. */
const STOP_GRACE_MS = 2000;

/** --max-request-bytes plus the gRPC overhead etcd allows on top (512 KiB). */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

/** The founding members from --initial-cluster, with etcd's member IDs. */
function initialMembers(cfg: ServerConfig): Member[] {
  const cluster = verifyBootstrap(cfg);
  const out: Member[] = [];
  for (const [name, urls] of cluster) {
    const peerUrls = urls.map((u) => u.href);
    out.push({
      id: computeMemberId(peerUrls, cfg.initialClusterToken),
      name,
      peerUrls,
      clientUrls: [],
      isLearner: false,
    });
  }
  return out;
}

/** Who this member is when it joins an existing cluster (it must have been added with MemberAdd). */
async function joinExisting(
  cfg: ServerConfig,
  tls: TlsInfo | undefined,
): Promise<{ me: Member; clusterId: bigint; members: Member[] }> {
  verifyBootstrap(cfg);
  const mine = new Set(cfg.initialAdvertisePeerUrls.map((u) => u.href));
  const others = [...resolveInitialCluster(cfg)]
    .filter(([name]) => name !== cfg.name)
    .flatMap(([, urls]) => urls.map((u) => u.href));
  let remote;
  try {
    remote = await fetchRemoteCluster(others, tls ? clientTlsOptions(tls) : undefined);
  } catch (err) {
    throw startupError(`cannot fetch cluster info from peer urls: ${(err as Error).message}`, cfg.logger);
  }
  const me = remote.members.find((m) => m.peerUrls.length > 0 && m.peerUrls.every((u) => mine.has(u)));
  if (!me) {
    throw startupError(
      `error validating peerURLs: no member of cluster ${formatId(remote.clusterId)} has peer URLs ${[...mine].join(',')} (add it with "member add" first)`,
      cfg.logger,
    );
  }
  return { me: { ...me, name: cfg.name }, clusterId: remote.clusterId, members: remote.members };
}

export async function startMember(cfg: ServerConfig, opts: { logger?: Logger } = {}): Promise<MemberHandle> {
  const logger = opts.logger ?? createLogger({ format: cfg.logger, level: cfg.logLevel, outputs: cfg.logOutputs });
  logger.info(MSG.CONFIGURING_PEER_LISTENERS, { 'listen-peer-urls': cfg.listenPeerUrls.map((u) => u.href) });
  // etcd checks --cipher-suites when it configures the peer listeners: an unknown name stops the start
  let ciphers: CipherOptions | undefined;
  try {
    ciphers = cipherOptions(cfg.cipherSuites);
  } catch (err) {
    if (err instanceof CipherSuiteError) throw startupError(err.message, cfg.logger);
    throw err;
  }
  const peerTls = resolveListenerTls({
    side: 'peer',
    tls: cfg.peerTls,
    dataDir: cfg.dataDir,
    listenUrls: cfg.listenPeerUrls,
    logger,
    ciphers,
  });
  const peerPolicyProblem = peerTls
    ? checkCertPolicy({ allowedCn: peerTls.allowedCn ?? '', allowedHostname: peerTls.allowedHostname ?? '' })
    : undefined;
  if (peerPolicyProblem) throw startupError(peerPolicyProblem, cfg.logger);
  for (const w of checkListenerUrls('peer', cfg.listenPeerUrls, peerTls)) logger.warn(w.msg, w.fields);
  logger.info(MSG.CONFIGURING_CLIENT_LISTENERS, { 'listen-client-urls': cfg.listenClientUrls.map((u) => u.href) });
  const clientTls = resolveListenerTls({
    side: 'client',
    tls: cfg.clientTls,
    dataDir: cfg.dataDir,
    listenUrls: cfg.listenClientUrls,
    logger,
    ciphers,
  });
  for (const w of checkListenerUrls('client', cfg.listenClientUrls, clientTls)) logger.warn(w.msg, w.fields);

  const dirs = layout(cfg.dataDir, cfg.walDir);
  const hasWal = existsSync(dirs.walDir);
  logger.info(MSG.STARTING_AN_ETCD_SERVER, {
    'etcd-version': ETCD_COMPAT_VERSION,
    name: cfg.name,
    'data-dir': cfg.dataDir,
    'wal-dir': cfg.walDir,
    'member-initialized': hasWal,
    'initial-cluster-state': cfg.initialClusterState,
    'initial-cluster-token': cfg.initialClusterToken,
    'heartbeat-interval': `${cfg.heartbeatIntervalMs}ms`,
    'election-timeout': `${cfg.electionTimeoutMs}ms`,
    'snapshot-count': cfg.snapshotCount,
    'quota-size-bytes': cfg.quotaBackendBytes,
  });

  // A restarted member ignores the initial-cluster flags and recovers from its data dir.
  let members: Member[] = [];
  let memberId = 0n;
  let clusterId: bigint | undefined;
  let bootstrap = true;
  if (!hasWal && cfg.initialClusterState === 'existing') {
    const j = await joinExisting(cfg, peerTls);
    members = j.members;
    memberId = j.me.id;
    clusterId = j.clusterId;
    bootstrap = false;
  } else if (!hasWal) {
    members = initialMembers(cfg);
    memberId = members.find((m) => m.name === cfg.name)?.id ?? 0n;
  }
  const advertised = cfg.advertiseClientUrls.map((u) => u.href);
  // auth: the token provider from --auth-token (bad options or key files stop the start, as in etcd).
  let tokens: TokenProvider;
  try {
    tokens = createTokenProvider({
      type: cfg.authToken,
      options: cfg.authTokenOptions,
      ttlSeconds: cfg.authTokenTtlSeconds,
    });
  } catch (err) {
    if (err instanceof AuthConfigError) throw startupError(err.message, cfg.logger);
    throw err;
  }
  const peerClientTls = peerTls ? clientTlsOptions(peerTls) : undefined;
  // etcd's request timeout (5 s + 2 × election timeout): bounds each peer's answer to a hash request.
  const requestTimeoutMs = 5000 + 2 * cfg.electionTimeoutMs;
  const peersOf = (s: EtcdServer) => (s.membership.list().length > 0 ? s.membership.list() : members);
  /** What the initial corruption check and the leader's periodic check read and ask. */
  const corruptCheckDeps = (s: EtcdServer): CorruptCheckDeps => ({
    memberId: s.memberId,
    hashKV: (rev) => s.store.hashKV(rev),
    peers: () => peersOf(s),
    logger,
    timeoutMs: requestTimeoutMs,
    tls: peerClientTls,
  });

  let peerServer: PeerServer | null = null;
  let resolveRemoved: () => void = () => {};
  const removed = new Promise<void>((r) => (resolveRemoved = r));
  const server = await EtcdServer.start({
    name: cfg.name,
    dataDir: cfg.dataDir,
    walDir: cfg.walDir || undefined,
    memberId,
    initialMembers: members,
    bootstrap,
    ...(clusterId !== undefined ? { clusterId } : {}),
    heartbeatMs: cfg.heartbeatIntervalMs,
    electionTicks: cfg.electionTicks,
    snapshotCount: cfg.snapshotCount,
    maxSnapshots: cfg.maxSnapshots,
    maxWals: cfg.maxWals,
    maxRequestBytes: cfg.maxRequestBytes,
    quotaBackendBytes: cfg.quotaBackendBytes,
    preVote: cfg.preVote,
    initialElectionTickAdvance: cfg.initialElectionTickAdvance,
    clientUrls: advertised,
    // etcd takes 0 as its default (1000); a negative limit would never finish a compaction there
    unsafeNoFsync: cfg.flags.get('unsafe-no-fsync') === true,
    backendBatch: cfg.backendBatch,
    warningApplyDurationMs: Number(cfg.flags.get('experimental-warning-apply-duration') ?? 100),
    compactionBatchLimit: Math.max(0, Number(cfg.flags.get('experimental-compaction-batch-limit') ?? 0)) || undefined,
    leaseCheckpoint: cfg.experimentalEnableLeaseCheckpoint
      ? { persist: cfg.flags.get('experimental-enable-lease-checkpoint-persist') === true }
      : null,
    auth: { tokens, bcryptCost: cfg.bcryptCost, clientCertAuth: cfg.clientTls.clientCertAuth },
    metricsExtensive: cfg.metrics === 'extensive',
    logger,
    transport: (s) =>
      new PeerTransport({
        localId: s.memberId,
        clusterId: () => s.clusterId,
        logger,
        ...(peerClientTls ? { tls: peerClientTls } : {}),
        reportUnreachable: (id) => s.reportUnreachable(id),
        reportSnapshot: (id, ok) => s.reportSnapshot(id, ok),
        onDropped: (msgs) => s.onDropped(msgs),
        onPeerGone: (id) => s.onPeerGone(id),
        openSnapshotDb: () => s.backend.snapshotStream(),
        stats: s.metrics.peers,
      }),
    onRemoved: () => resolveRemoved(),
    ...(cfg.experimentalInitialCorruptCheck
      ? {
          beforeRaft: async (s: EtcdServer) => {
            try {
              await checkInitialHashKV(corruptCheckDeps(s));
            } catch (err) {
              throw startupError((err as Error).message, cfg.logger, 'etcdmain');
            }
          },
        }
      : {}),
  });
  for (const line of quotaLogLines(Number(cfg.flags.get('quota-backend-bytes') ?? 0))) {
    logger.log(line.level, line.msg, line.fields);
  }
  logger.info(MSG.STARTING_ETCD_SERVER, {
    'local-member-id': formatId(server.memberId),
    'local-server-version': ETCD_COMPAT_VERSION,
  });

  // etcd's "invalid downgrade" check: data of a newer cluster version than this build's refuses it.
  const refusal = downgradeRefusal(server.membership.version, ETCD_COMPAT_VERSION);
  if (refusal !== null) {
    await server.stop();
    throw startupError(
      `${refusal} (current-server-version ${ETCD_COMPAT_VERSION}, determined-cluster-version ${server.membership.version})`,
      cfg.logger,
    );
  }
  // /version on client and peer URLs: the cluster version as the cluster decided it (etcd 3.5).
  const version = {
    etcdserver: ETCD_COMPAT_VERSION,
    get etcdcluster(): string {
      return server.membership.version || 'not_decided';
    },
  };
  peerServer = new PeerServer(
    {
      memberId: server.memberId,
      clusterId: () => server.clusterId,
      isRemoved: (id) => server.membership.isRemoved(id),
      knows: (id) => server.transport?.sender(id) !== undefined,
      receive: (m) => server.receive(m),
      receiveSnapshot: (m, path) => server.receiveSnapshot(m, path),
      snapshotDir: server.snapshotDir,
      members: () => server.membership.list(),
      version,
      forwarded: (path, body) => server.routes.serve(path, body),
      routes: new Map([
        [
          PEER_HASHKV_PATH,
          (req, res) =>
            serveHashKV({ clusterId: () => server.clusterId, hashKV: (rev) => server.store.hashKV(rev) }, req, res),
        ],
      ]),
      stats: server.metrics.peers,
      snapshotDbSaved: (total, fsync) => server.metrics.snap.dbSaved(total, fsync),
    },
    server.transport!.faults,
    logger,
    { snapshotDbBytes: snapshotDbLimit(cfg.quotaBackendBytes) },
  );
  const peerListenOpts: ListenOptions = {
    h2: nodeHttp2(peerServer.h2),
    h1: peerServer.h1,
    ...(peerTls ? { tls: serverTlsOptions(peerTls) } : {}),
    ...(peerTls ? listenerChecks(peerTls, logger, { alert: true }) : {}),
  };

  let grpc: GrpcServer | null = null;
  const routed = { leader: server, alarms: server.alarms, reads: server, metrics: server.metrics };
  const router = createRouter({
    member: () => routed,
    grpc: () => grpc!,
    version,
    gateway: cfg.flags.get('enable-grpc-gateway') !== false,
  });
  const clientHttp = withAccessControl(router, {
    // --cors holds "*" or URLs (etcd compares an Origin with each URL's String())
    cors: ((cfg.flags.get('cors') ?? ['*']) as readonly (string | EtcdUrl)[]).map((o) =>
      typeof o === 'string' ? o : o.href,
    ),
    hostWhitelist: (cfg.flags.get('host-whitelist') ?? ['*']) as readonly string[],
    logger,
  });
  grpc = new GrpcServer({
    maxRecvBytes: cfg.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    http: clientHttp,
    limits: { maxConcurrentStreams: effectiveMaxStreams(cfg.maxConcurrentStreams) },
    keepalive: etcdKeepalive(cfg.grpcKeepalive.minTimeMs, cfg.grpcKeepalive.intervalMs, cfg.grpcKeepalive.timeoutMs),
    onError: (err) =>
      logger.warn('closed a client connection or request after an internal error', {
        error: (err as Error)?.stack ?? String(err),
      }),
    callStats: (desc) => server.metrics.grpc.callStats(desc),
  });
  const services = registerServices(grpc, {
    member: server,
    proposer: server,
    reads: server,
    store: server.store,
    backend: server.backend,
    cluster: server,
    routes: server.routes,
    leases: server.leases,
    auth: server.auth,
    alarms: server.alarms,
    downgrade: server.downgrade,
    clusterVersion: () => server.membership.version,
    metrics: server.metrics,
    nextId: () => server.nextId(),
    maxTxnOps: cfg.maxTxnOps,
    maxRequestBytes: cfg.maxRequestBytes,
    version: ETCD_COMPAT_VERSION,
    strictReconfigCheck: cfg.strictReconfigCheck,
    watchProgressNotifyIntervalMs: cfg.experimentalWatchProgressNotifyIntervalMs,
    slowApply: server.slowApply,
    quotaBackendBytes: cfg.quotaBackendBytes,
    requestTimeoutMs,
  });

  const clientListenOpts: ListenOptions = {
    h2: (sock, head) => grpc!.serveHttp2(sock, head),
    h1: grpc.h1,
    ...(clientTls ? { tls: serverTlsOptions(clientTls) } : {}),
    ...(clientTls ? listenerChecks(clientTls, logger, { alert: false }) : {}),
  };
  const peerListeners: BoundListener[] = [];
  const listeners: BoundListener[] = [];
  const metricsListeners: BoundListener[] = [];
  try {
    for (const u of cfg.listenPeerUrls) {
      const bound = await listenUrl(u.href, peerListenOpts);
      peerListeners.push(bound);
      logger.info(MSG.SERVING_PEER_TRAFFIC, { address: bound.url.replace(/^\w+:\/\//, '') });
    }
    for (const u of cfg.listenClientUrls) listeners.push(await listenUrl(u.href, clientListenOpts));
    metricsListeners.push(...(await listenMetricsUrls(cfg.listenMetricsUrls, router, clientTls, logger)));
  } catch (err) {
    await Promise.all([...peerListeners, ...listeners, ...metricsListeners].map((l) => l.close()));
    await server.stop();
    throw err;
  }
  logger.info(MSG.NOW_SERVING_PEER_CLIENT_METRICS, {
    'local-member-id': formatId(server.memberId),
    'initial-advertise-peer-urls': cfg.initialAdvertisePeerUrls.map((u) => u.href),
    'listen-peer-urls': peerListeners.map((l) => l.url),
    'advertise-client-urls': advertised,
    'listen-client-urls': listeners.map((l) => l.url),
    'listen-metrics-urls': cfg.listenMetricsUrls.map((u) => u.href),
  });

  let autoCompactor: AutoCompactor | null = null;
  let corruptMonitor: CorruptMonitor | null = null;
  let stopVersionMonitor: (() => void) | null = null;
  const ready = (async () => {
    await server.publish();
    try {
      await server.ensureClusterVersion(ETCD_CLUSTER_VERSION);
    } catch (err) {
      logger.warn('failed to set initial cluster version', { error: String(err) });
    }
    logger.info(MSG.ENABLED_CAPABILITIES, { 'cluster-version': ETCD_CLUSTER_VERSION.split('.').slice(0, 2).join('.') });
    logger.info(MSG.READY_TO_SERVE);
    for (const l of listeners) {
      const addr = l.url.replace(/^\w+:\/\//, '');
      logger.info(clientTls ? MSG.SERVING_CLIENT_SECURE : MSG.SERVING_CLIENT_INSECURE, { address: addr });
    }
    autoCompactor = startAutoCompaction(server, cfg.autoCompaction, logger);
    corruptMonitor = startCorruptMonitor({
      ...corruptCheckDeps(server),
      intervalMs: cfg.experimentalCorruptCheckTimeMs,
      isLeader: () => server.isLeader,
      linearizableRead: () => server.linearizableRead(),
      raiseCorruptAlarm: () =>
        server.alarms.handle(
          etcdserverpb.AlarmRequest.create({
            action: etcdserverpb.AlarmRequest_AlarmAction.ACTIVATE,
            memberID: 0n,
            alarm: etcdserverpb.AlarmType.CORRUPT,
          }),
        ),
    });
    stopVersionMonitor = startVersionMonitor({
      leader: server,
      clusterVersion: () => server.membership.version,
      members: () => server.membership.list(),
      serverVersion: ETCD_COMPAT_VERSION,
      propose: (kind, body, opts) => server.propose(kind, body, opts),
      logger,
      ...(peerClientTls ? { tls: peerClientTls } : {}),
    });
  })();

  let closed: Promise<void> | null = null;
  const handle: MemberHandle = {
    clientUrls: listeners.map((l) => l.url),
    peerUrls: peerListeners.map((l) => l.url),
    server,
    logger,
    removed,
    close: () =>
      (closed ??= (async () => {
        logger.info(MSG.CLOSING_ETCD_SERVER, { name: cfg.name, 'data-dir': cfg.dataDir });
        autoCompactor?.stop();
        corruptMonitor?.stop();
        // Graceful stop: no new connections; watch and keep-alive streams end with "server stopped"
        // (clients move to another member); in-flight requests get a short grace, then all is cut.
        for (const l of listeners) l.stopAccepting();
        stopVersionMonitor?.();
        services.close();
        await grpc!.drain(STOP_GRACE_MS);
        peerServer!.closeConnections();
        await Promise.all([...listeners, ...peerListeners, ...metricsListeners].map((l) => l.close()));
        await server.stop();
        await ready.catch(() => {});
        logger.info(MSG.CLOSED_ETCD_SERVER, { name: cfg.name, 'data-dir': cfg.dataDir });
        logger.flush();
      })()),
  };
  // A member removed from the cluster stops serving (etcd exits).
  void removed.then(() => handle.close());
  await Promise.race([ready, removed]);
  return handle;
}
