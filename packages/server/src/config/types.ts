// The typed configuration parseConfig() produces. Conventions: camelCase names after etcd's flags;
// durations in milliseconds (fields end in Ms); URLs as EtcdUrl records kept as written (not WHATWG
// URL objects, which would drop default ports and lower-case hosts); sizes in bytes.

import type { FlagValue } from './flags.js';
import type { EtcdUrl } from './go-values.js';
import type { LogFormat, LogLevel } from '../log/index.js';

/** Something to log once the logger exists (etcd prints these during flag parsing). */
export interface ConfigNotice {
  /** "raw" lines go to stderr verbatim, before any logger (etcd's "[WARNING] Deprecated ..." lines). */
  readonly level: 'info' | 'warn' | 'raw';
  readonly msg: string;
  readonly fields?: Readonly<Record<string, unknown>>;
}

export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  readonly trustedCaFile: string;
  readonly clientCertAuth: boolean;
  /** Generate a self-signed certificate in <data-dir>/fixtures/{client,peer} when no cert/key are given. */
  readonly autoTls: boolean;
  /** Required CN of client certificates (peer only: --peer-cert-allowed-cn; "" = any). */
  readonly allowedCn: string;
  /** Required host name or IP of client certificates (--client-/--peer-cert-allowed-hostname; "" = any). */
  readonly allowedHostname: string;
  /** Certificate revocation list (--client-crl-file / --peer-crl-file; "" = none). */
  readonly crlFile: string;
}

export interface AutoCompactionConfig {
  readonly mode: 'periodic' | 'revision';
  /** The flag as given ("0", "1h", "1000"). */
  readonly retention: string;
  /** periodic mode: the retention window (a plain integer means hours); 0 = disabled. */
  readonly retentionMs: number;
  /** revision mode: how many revisions to keep; 0 = disabled. */
  readonly retentionRevisions: number;
}

export interface ServerConfig {
  readonly name: string;
  /** --data-dir, defaulting to "<name>.etcd". */
  readonly dataDir: string;
  /** --wal-dir; "" means <data-dir>/member/wal. */
  readonly walDir: string;
  readonly snapshotCount: number;
  readonly maxSnapshots: number;
  readonly maxWals: number;

  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  /** electionTimeoutMs / heartbeatIntervalMs, rounded down (etcd's ElectionTicks). */
  readonly electionTicks: number;
  readonly initialElectionTickAdvance: boolean;

  readonly listenPeerUrls: readonly EtcdUrl[];
  readonly listenClientUrls: readonly EtcdUrl[];
  readonly listenMetricsUrls: readonly EtcdUrl[];
  readonly initialAdvertisePeerUrls: readonly EtcdUrl[];
  readonly advertiseClientUrls: readonly EtcdUrl[];

  /** --initial-cluster as a string; defaults to "<name>=<advertise peer URL>,...". See resolveInitialCluster(). */
  readonly initialCluster: string;
  readonly initialClusterState: 'new' | 'existing';
  readonly initialClusterToken: string;
  readonly strictReconfigCheck: boolean;
  readonly preVote: boolean;
  readonly forceNewCluster: boolean;

  /** Effective backend quota: --quota-backend-bytes, 0 → 2 GiB; null when negative (quota disabled). */
  readonly quotaBackendBytes: number | null;
  readonly maxTxnOps: number;
  readonly maxRequestBytes: number;
  /** --max-concurrent-streams (SETTINGS_MAX_CONCURRENT_STREAMS); etcd's default math.MaxUint32 means Conclave's 1000. */
  readonly maxConcurrentStreams: number;
  /** --grpc-keepalive-min-time, --grpc-keepalive-interval, --grpc-keepalive-timeout (ms; see grpc/h2/keepalive.ts). */
  readonly grpcKeepalive: { readonly minTimeMs: number; readonly intervalMs: number; readonly timeoutMs: number };
  /** --backend-batch-interval (ms) and --backend-batch-limit as given (0 = etcd's defaults, 100 ms and 10000). */
  readonly backendBatch: { readonly intervalMs: number; readonly limit: number };
  readonly autoCompaction: AutoCompactionConfig;

  readonly clientTls: TlsConfig;
  readonly peerTls: TlsConfig;
  /** --cipher-suites: Go cipher suite names, for client and peer TLS (checked at start-up). */
  readonly cipherSuites: readonly string[];

  /** "simple" or "jwt". */
  readonly authToken: 'simple' | 'jwt';
  /** Options after the token type in --auth-token ("jwt,pub-key=…,priv-key=…,sign-method=RS256"). */
  readonly authTokenOptions: Readonly<Record<string, string>>;
  readonly authTokenTtlSeconds: number;
  /** --bcrypt-cost; out-of-range values are replaced by 10, as etcd does (with a warning). */
  readonly bcryptCost: number;

  readonly logger: LogFormat;
  /** --log-level, or "debug" when --debug is set. */
  readonly logLevel: LogLevel;
  /** --log-outputs: "default"/"stderr"/"stdout"/file paths, as createLogger() takes them. */
  readonly logOutputs: readonly string[];

  /** "basic" or "extensive" (other values behave as basic, as in etcd). */
  readonly metrics: string;
  readonly enablePprof: boolean;
  readonly enableV2: boolean;
  readonly experimentalWatchProgressNotifyIntervalMs: number;
  readonly experimentalEnableLeaseCheckpoint: boolean;
  /** --experimental-initial-corrupt-check: compare HashKV with the peers before serving. */
  readonly experimentalInitialCorruptCheck: boolean;
  /** --experimental-corrupt-check-time: the leader's periodic HashKV comparison; 0 = off. */
  readonly experimentalCorruptCheckTimeMs: number;

  /** The --config-file the settings came from ("" when from flags and environment). */
  readonly configFile: string;
  /** Every flag's final value by etcd flag name (durations in ms), including those without a field above. */
  readonly flags: ReadonlyMap<string, FlagValue>;
  /** Where each non-default flag came from. */
  readonly sources: ReadonlyMap<string, 'flag' | 'env' | 'file'>;
  /** Messages to log once the logger is up (see reportNotices()). */
  readonly notices: readonly ConfigNotice[];
}
