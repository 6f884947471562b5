// Starting a member from a ServerConfig: logger, TLS, storage and Raft, the gRPC services and the HTTP
// endpoints on every client URL, publishing the member; and stopping it again. Used by the
// `conclave` binary and by startServer() for embedding.

import { existsSync } from 'node:fs';
import { verifyBootstrap, ETCD_COMPAT_VERSION, ETCD_CLUSTER_VERSION, type ServerConfig } from '../config/index.js';
import { createLogger, formatId, MSG, type Logger } from '../log/index.js';
import { checkListenerUrls, resolveListenerTls, serverTlsOptions, enforceAllowedCn } from '../tls/index.js';
import { computeMemberId } from '../etcdserver/ids.js';
import type { Member } from '../etcdserver/membership.js';
import { EtcdServer } from '../etcdserver/server.js';
import { layout } from '../etcdserver/bootstrap.js';
import { GrpcServer } from '../transport/grpc-server.js';
import { listenUrl, type BoundListener } from '../transport/listener.js';
import { createRouter } from '../http/router.js';
import { registerServices } from '../services/index.js';
import { startAutoCompaction, type AutoCompactor } from '../etcdserver/auto-compact.js';

export interface MemberHandle {
  /** The client URLs actually bound (port 0 resolved). */
  clientUrls: string[];
  server: EtcdServer;
  logger: Logger;
  close(): Promise<void>;
}

/** --max-request-bytes plus the gRPC overhead etcd allows on top (512 KiB). */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

/** The founding members from --initial-cluster, with etcd's member IDs. */
function initialMembers(cfg: ServerConfig): Member[] {
  const cluster = verifyBootstrap(cfg);
  const out: Member[] = [];
  for (const [name, urls] of cluster) {
    const peerUrls = urls.map((u) => u.href);
    out.push({ id: computeMemberId(peerUrls, cfg.initialClusterToken), name, peerUrls, clientUrls: [], isLearner: false });
  }
  return out;
}

export async function startMember(cfg: ServerConfig, opts: { logger?: Logger } = {}): Promise<MemberHandle> {
  const logger = opts.logger ?? createLogger({ format: cfg.logger, level: cfg.logLevel, outputs: cfg.logOutputs });
  logger.info(MSG.CONFIGURING_PEER_LISTENERS, { 'listen-peer-urls': cfg.listenPeerUrls.map((u) => u.href) });
  logger.info(MSG.CONFIGURING_CLIENT_LISTENERS, { 'listen-client-urls': cfg.listenClientUrls.map((u) => u.href) });

  const clientTls = resolveListenerTls({ side: 'client', tls: cfg.clientTls, dataDir: cfg.dataDir, listenUrls: cfg.listenClientUrls, logger });
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
  const members = hasWal ? [] : initialMembers(cfg);
  const me = members.find((m) => m.name === cfg.name);
  const advertised = cfg.advertiseClientUrls.map((u) => u.href);

  const server = await EtcdServer.start({
    name: cfg.name,
    dataDir: cfg.dataDir,
    walDir: cfg.walDir || undefined,
    memberId: me?.id ?? 0n,
    initialMembers: members,
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
    logger,
  });
  if (cfg.quotaBackendBytes === null) logger.warn(MSG.DISABLED_BACKEND_QUOTA);
  else logger.info(MSG.ENABLED_BACKEND_QUOTA_DEFAULT, { 'quota-name': 'v3-applier', 'quota-size-bytes': cfg.quotaBackendBytes });
  logger.info(MSG.STARTING_ETCD_SERVER, { 'local-member-id': formatId(server.memberId), 'local-server-version': ETCD_COMPAT_VERSION });

  let grpc: GrpcServer | null = null;
  const router = createRouter({
    server: () => server,
    grpc: () => grpc!,
    version: { etcdserver: ETCD_COMPAT_VERSION, etcdcluster: ETCD_CLUSTER_VERSION },
  });
  grpc = new GrpcServer({ maxRecvBytes: cfg.maxRequestBytes + GRPC_OVERHEAD_BYTES, http: router });
  const services = registerServices(grpc, {
    server,
    maxTxnOps: cfg.maxTxnOps,
    maxRequestBytes: cfg.maxRequestBytes,
    version: ETCD_COMPAT_VERSION,
  });

  const tlsOptions = clientTls ? serverTlsOptions(clientTls) : undefined;
  const listeners: BoundListener[] = [];
  try {
    for (const u of cfg.listenClientUrls) {
      const bound = await listenUrl(u.href, { h2: grpc.h2, h1: grpc.h1, ...(tlsOptions ? { tls: tlsOptions } : {}) });
      listeners.push(bound);
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    await server.stop();
    throw err;
  }
  if (clientTls?.allowedCn) enforceAllowedCn(grpc.h2 as never, clientTls.allowedCn);
  logger.info(MSG.NOW_SERVING_PEER_CLIENT_METRICS, {
    'local-member-id': formatId(server.memberId),
    'initial-advertise-peer-urls': cfg.initialAdvertisePeerUrls.map((u) => u.href),
    'listen-peer-urls': cfg.listenPeerUrls.map((u) => u.href),
    'advertise-client-urls': advertised,
    'listen-client-urls': cfg.listenClientUrls.map((u) => u.href),
  });

  let autoCompactor: AutoCompactor | null = null;
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
  })();

  const handle: MemberHandle = {
    clientUrls: listeners.map((l) => l.url),
    server,
    logger,
    close: async () => {
      logger.info(MSG.CLOSING_ETCD_SERVER, { name: cfg.name, 'data-dir': cfg.dataDir });
      autoCompactor?.stop();
      services.close();
      grpc!.closeConnections();
      await Promise.all(listeners.map((l) => l.close()));
      await server.stop();
      await ready.catch(() => {});
      logger.info(MSG.CLOSED_ETCD_SERVER, { name: cfg.name, 'data-dir': cfg.dataDir });
      logger.flush();
    },
  };
  await ready;
  return handle;
}

