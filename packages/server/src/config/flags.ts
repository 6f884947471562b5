// Every flag etcd 3.4.23 accepts (the 80 in `etcd --help`, the hidden ones found by probing the
// binary, and the legacy names it accepts and ignores), with etcd's type, default and help text,
// whether Conclave implements it, and its key in a --config-file (etcd's YAML/JSON field names).

import type { EtcdUrl } from './go-values.js';

export type FlagKind =
  | 'string'
  | 'bool'
  | 'uint' // Go uint: base-0 syntax, 64-bit
  | 'uint64'
  | 'int' // Go int: base-0 syntax, 64-bit
  | 'int64'
  | 'uint32' // etcd's own uint32 flag: base 10, strconv error texts
  | 'duration' // Go duration syntax; value in milliseconds
  | 'urls' // comma-separated URL list (validated, deduplicated, sorted)
  | 'cors' // URL list, or "*"
  | 'strings' // comma-separated list, kept in order
  | 'unique-strings' // comma-separated list, deduplicated and sorted
  | 'enum' // one of `values`
  | 'ignored'; // legacy flag: accepted like a bool, warned about and ignored

export type FlagValue = string | boolean | number | readonly string[] | readonly EtcdUrl[];

export type HelpGroup =
  | 'Member'
  | 'Clustering'
  | 'Security'
  | 'Auth'
  | 'Profiling and Monitoring'
  | 'Logging'
  | 'v2 Proxy (to be deprecated in v4)'
  | 'Experimental feature'
  | 'Unsafe feature'
  | 'TO BE DEPRECATED';

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  /** The default, as the string the flag is initialised from ("" for empty). */
  readonly default: string;
  /** The default as `--help` shows it, quotes included ("'default'", "10"). */
  readonly helpDefault: string;
  /** Help text; several lines are separated by "\n". */
  readonly help: string;
  /** Section in --help; undefined for flags etcd does not list. */
  readonly group?: HelpGroup;
  /** Conclave honours the flag. Others are accepted only with their default value. */
  readonly implemented: boolean;
  /** Allowed values of an enum flag (the first is the default). */
  readonly values?: readonly string[];
  /** Key in a --config-file ("" when etcd reads the flag only from the command line / environment). */
  readonly yaml: string;
  /** The Go type of the config-file field, for etcd's unmarshal error texts. */
  readonly goType: string;
}

const GO_TYPE: Record<FlagKind, string> = {
  string: 'string',
  bool: 'bool',
  uint: 'uint',
  uint64: 'uint64',
  int: 'int',
  int64: 'int64',
  uint32: 'uint32',
  duration: 'time.Duration',
  urls: 'string',
  cors: 'string',
  strings: '[]string',
  'unique-strings': '[]string',
  enum: 'string',
  ignored: 'bool',
};

interface Extra {
  group?: HelpGroup;
  hd?: string;
  values?: readonly string[];
  yaml?: string | false;
  impl?: boolean;
}

const q = (s: string): string => `'${s}'`;

function f(name: string, kind: FlagKind, def: string, help: string, x: Extra = {}): FlagSpec {
  return {
    name,
    kind,
    default: def,
    helpDefault: x.hd ?? q(def),
    help,
    ...(x.group === undefined ? {} : { group: x.group }),
    implemented: x.impl ?? false,
    ...(x.values === undefined ? {} : { values: x.values }),
    yaml: x.yaml === false ? '' : (x.yaml ?? name),
    goType: GO_TYPE[kind],
  };
}

const M = { group: 'Member' } as const;
const C = { group: 'Clustering' } as const;
const S = { group: 'Security' } as const;
const A = { group: 'Auth' } as const;
const P = { group: 'Profiling and Monitoring' } as const;
const L = { group: 'Logging' } as const;
const X = { group: 'v2 Proxy (to be deprecated in v4)' } as const;
const E = { group: 'Experimental feature' } as const;
const I = { impl: true } as const;

/** Flags passed on the command line only (security ones live in *-transport-security in a config file). */
const CLI = { yaml: false } as const;

/** Legacy etcd 2 flag names etcd 3.4 still accepts and ignores with a warning. */
export const IGNORED_FLAGS = [
  'cluster-active-size',
  'cluster-remove-delay',
  'cluster-sync-interval',
  'config',
  'force',
  'max-result-buffer',
  'max-retry-attempts',
  'peer-heartbeat-interval',
  'peer-election-timeout',
  'retry-interval',
  'snapshot',
  'v',
  'vv',
  'test.coverprofile',
  'test.outputdir',
] as const;

export const FLAGS: readonly FlagSpec[] = [
  f('name', 'string', 'default', 'Human-readable name for this member.', { ...M, ...I }),
  f('data-dir', 'string', '', 'Path to the data directory.', { ...M, ...I, hd: q('${name}.etcd') }),
  f('wal-dir', 'string', '', 'Path to the dedicated wal directory.', { ...M, ...I }),
  f('snapshot-count', 'uint64', '100000', 'Number of committed transactions to trigger a snapshot to disk.', {
    ...M,
    ...I,
  }),
  f('heartbeat-interval', 'uint', '100', 'Time (in milliseconds) of a heartbeat interval.', { ...M, ...I }),
  f(
    'election-timeout',
    'uint',
    '1000',
    'Time (in milliseconds) for an election to timeout. See tuning documentation for details.',
    { ...M, ...I },
  ),
  f(
    'initial-election-tick-advance',
    'bool',
    'true',
    'Whether to fast-forward initial election ticks on boot for faster election.',
    { ...M, ...I },
  ),
  f('listen-peer-urls', 'urls', 'http://localhost:2380', 'List of URLs to listen on for peer traffic.', { ...M, ...I }),
  f('listen-client-urls', 'urls', 'http://localhost:2379', 'List of URLs to listen on for client traffic.', {
    ...M,
    ...I,
  }),
  f('max-snapshots', 'uint', '5', 'Maximum number of snapshot files to retain (0 is unlimited).', { ...M, ...I }),
  f('max-wals', 'uint', '5', 'Maximum number of wal files to retain (0 is unlimited).', { ...M, ...I }),
  f(
    'quota-backend-bytes',
    'int64',
    '0',
    'Raise alarms when backend size exceeds the given quota (0 defaults to low space quota).',
    { ...M, ...I },
  ),
  f(
    'backend-batch-interval',
    'duration',
    '0s',
    'BackendBatchInterval is the maximum time before commit the backend transaction.',
    { ...M, ...I, hd: "''" },
  ),
  f(
    'backend-batch-limit',
    'int',
    '0',
    'BackendBatchLimit is the maximum operations before commit the backend transaction.',
    { ...M, ...I },
  ),
  f('max-txn-ops', 'uint', '128', 'Maximum number of operations permitted in a transaction.', { ...M, ...I }),
  f('max-request-bytes', 'uint', '1572864', 'Maximum client request size in bytes the server will accept.', {
    ...M,
    ...I,
  }),
  f(
    'max-concurrent-streams',
    'uint32',
    '4294967295',
    'Maximum concurrent streams that each client can open at a time.',
    { ...M, ...I, hd: q('math.MaxUint32') },
  ),
  f(
    'grpc-keepalive-min-time',
    'duration',
    '5s',
    'Minimum duration interval that a client should wait before pinging server.',
    { ...M, ...I },
  ),
  f(
    'grpc-keepalive-interval',
    'duration',
    '2h',
    'Frequency duration of server-to-client ping to check if a connection is alive (0 to disable).',
    { ...M, ...I },
  ),
  f(
    'grpc-keepalive-timeout',
    'duration',
    '20s',
    'Additional duration of wait before closing a non-responsive connection (0 to disable).',
    { ...M, ...I },
  ),

  f(
    'initial-advertise-peer-urls',
    'urls',
    'http://localhost:2380',
    "List of this member's peer URLs to advertise to the rest of the cluster.",
    { ...C, ...I },
  ),
  f('initial-cluster', 'string', 'default=http://localhost:2380', 'Initial cluster configuration for bootstrapping.', {
    ...C,
    ...I,
  }),
  f('initial-cluster-state', 'enum', 'new', "Initial cluster state ('new' or 'existing').", {
    ...C,
    ...I,
    values: ['new', 'existing'],
  }),
  f(
    'initial-cluster-token',
    'string',
    'etcd-cluster',
    'Initial cluster token for the etcd cluster during bootstrap.\nSpecifying this can protect you from unintended cross-cluster interaction when running multiple clusters.',
    { ...C, ...I },
  ),
  f(
    'advertise-client-urls',
    'urls',
    'http://localhost:2379',
    "List of this member's client URLs to advertise to the public.\nThe client URLs advertised should be accessible to machines that talk to etcd cluster. etcd client libraries parse these URLs to connect to the cluster.",
    { ...C, ...I },
  ),
  f('discovery', 'string', '', 'Discovery URL used to bootstrap the cluster.', C),
  f(
    'discovery-fallback',
    'enum',
    'proxy',
    "Expected behavior ('exit' or 'proxy') when discovery services fails.\n\"proxy\" supports v2 API only.",
    { ...C, values: ['proxy', 'exit'] },
  ),
  f('discovery-proxy', 'string', '', 'HTTP proxy to use for traffic to discovery service.', C),
  f('discovery-srv', 'string', '', 'DNS srv domain used to bootstrap the cluster.', C),
  f('discovery-srv-name', 'string', '', 'Suffix to the dns srv name queried when bootstrapping.', C),
  f('strict-reconfig-check', 'bool', 'true', 'Reject reconfiguration requests that would cause quorum loss.', {
    ...C,
    ...I,
  }),
  f('pre-vote', 'bool', 'false', 'Enable to run an additional Raft election phase.', { ...C, ...I }),
  f('auto-compaction-retention', 'string', '0', 'Auto compaction retention length. 0 means disable auto compaction.', {
    ...C,
    ...I,
  }),
  f(
    'auto-compaction-mode',
    'string',
    'periodic',
    "Interpret 'auto-compaction-retention' one of: periodic|revision. 'periodic' for duration based retention, defaulting to hours if no time unit is provided (e.g. '5m'). 'revision' for revision number based retention.",
    { ...C, ...I },
  ),
  f('enable-v2', 'bool', 'false', 'Accept etcd V2 client requests.', C),

  f('cert-file', 'string', '', 'Path to the client server TLS cert file.', { ...S, ...I, ...CLI }),
  f('key-file', 'string', '', 'Path to the client server TLS key file.', { ...S, ...I, ...CLI }),
  f('client-cert-auth', 'bool', 'false', 'Enable client cert authentication.', { ...S, ...I, ...CLI }),
  f('client-crl-file', 'string', '', 'Path to the client certificate revocation list file.', { ...S, ...I, ...CLI }),
  f('client-cert-allowed-hostname', 'string', '', 'Allowed TLS hostname for client cert authentication.', {
    ...S,
    ...I,
    ...CLI,
  }),
  f('trusted-ca-file', 'string', '', 'Path to the client server TLS trusted CA cert file.', { ...S, ...I, ...CLI }),
  f('auto-tls', 'bool', 'false', 'Client TLS using generated certificates.', { ...S, ...I, ...CLI }),
  f('peer-cert-file', 'string', '', 'Path to the peer server TLS cert file.', { ...S, ...I, ...CLI }),
  f('peer-key-file', 'string', '', 'Path to the peer server TLS key file.', { ...S, ...I, ...CLI }),
  f('peer-client-cert-auth', 'bool', 'false', 'Enable peer client cert authentication.', { ...S, ...I, ...CLI }),
  f('peer-trusted-ca-file', 'string', '', 'Path to the peer server TLS trusted CA file.', { ...S, ...I, ...CLI }),
  f('peer-cert-allowed-cn', 'string', '', 'Required CN for client certs connecting to the peer endpoint.', {
    ...S,
    ...I,
    ...CLI,
  }),
  f('peer-cert-allowed-hostname', 'string', '', 'Allowed TLS hostname for inter peer authentication.', {
    ...S,
    ...I,
    ...CLI,
  }),
  f(
    'peer-auto-tls',
    'bool',
    'false',
    'Peer TLS using self-generated certificates if --peer-key-file and --peer-cert-file are not provided.',
    { ...S, ...I, ...CLI },
  ),
  f('peer-crl-file', 'string', '', 'Path to the peer certificate revocation list file.', { ...S, ...I, ...CLI }),
  f(
    'cipher-suites',
    'strings',
    '',
    'Comma-separated list of supported TLS cipher suites between client/server and peers (empty will be auto-populated by Go).',
    { ...S, ...I },
  ),
  f(
    'cors',
    'cors',
    '*',
    'Comma-separated whitelist of origins for CORS, or cross-origin resource sharing, (empty or * means allow all).',
    { ...S, ...I },
  ),
  f(
    'host-whitelist',
    'unique-strings',
    '*',
    'Acceptable hostnames from HTTP client requests, if server is not secure (empty or * means allow all).',
    { ...S, ...I },
  ),

  f('auth-token', 'string', 'simple', "Specify a v3 authentication token type and its options ('simple' or 'jwt').", {
    ...A,
    ...I,
  }),
  f(
    'bcrypt-cost',
    'uint',
    '10',
    'Specify the cost / strength of the bcrypt algorithm for hashing auth passwords. Valid values are between 4 and 31.',
    { ...A, ...I, hd: '10' },
  ),
  f('auth-token-ttl', 'uint', '300', 'Time (in seconds) of the auth-token-ttl.', { ...A, ...I, hd: '300' }),

  f(
    'enable-pprof',
    'bool',
    'false',
    'Enable runtime profiling data via HTTP server. Address is at client URL + "/debug/pprof/"',
    P,
  ),
  f(
    'metrics',
    'string',
    'basic',
    "Set level of detail for exported metrics, specify 'extensive' to include histogram metrics.",
    { ...P, ...I },
  ),
  f('listen-metrics-urls', 'urls', '', 'List of URLs to listen on for the metrics and health endpoints.', {
    ...P,
    ...I,
  }),

  f(
    'logger',
    'string',
    'zap',
    "Specify 'zap' for structured logging or 'capnslog'. [WARN] 'capnslog' will be deprecated in v3.5.",
    { ...L, ...I },
  ),
  f(
    'log-outputs',
    'unique-strings',
    'default',
    "Specify 'stdout' or 'stderr' to skip journald logging even when running under systemd, or list of comma separated output targets.",
    { ...L, ...I },
  ),
  f('log-level', 'string', 'info', 'Configures log level. Only supports debug, info, warn, error, panic, or fatal.', {
    ...L,
    ...I,
  }),

  f('proxy', 'enum', 'off', "Proxy mode setting ('off', 'readonly' or 'on').", {
    ...X,
    values: ['off', 'readonly', 'on'],
  }),
  f('proxy-failure-wait', 'uint', '5000', 'Time (in milliseconds) an endpoint will be held in a failed state.', {
    ...X,
    hd: '5000',
  }),
  f('proxy-refresh-interval', 'uint', '30000', 'Time (in milliseconds) of the endpoints refresh interval.', {
    ...X,
    hd: '30000',
  }),
  f('proxy-dial-timeout', 'uint', '1000', 'Time (in milliseconds) for a dial to timeout.', { ...X, hd: '1000' }),
  f('proxy-write-timeout', 'uint', '5000', 'Time (in milliseconds) for a write to timeout.', { ...X, hd: '5000' }),
  f('proxy-read-timeout', 'uint', '0', 'Time (in milliseconds) for a read to timeout.', { ...X, hd: '0' }),

  f(
    'experimental-initial-corrupt-check',
    'bool',
    'false',
    'Enable to check data corruption before serving any client/peer traffic.',
    { ...E, ...I },
  ),
  f('experimental-corrupt-check-time', 'duration', '0s', 'Duration of time between cluster corruption check passes.', {
    ...E,
    ...I,
  }),
  f('experimental-enable-v2v3', 'string', '', 'Serve v2 requests through the v3 backend under a given prefix.', E),
  f(
    'experimental-backend-bbolt-freelist-type',
    'string',
    'array',
    'ExperimentalBackendFreelistType specifies the type of freelist that boltdb backend uses(array and map are supported types).',
    E,
  ),
  f(
    'experimental-enable-lease-checkpoint',
    'bool',
    'false',
    'ExperimentalEnableLeaseCheckpoint enables primary lessor to persist lease remainingTTL to prevent indefinite auto-renewal of long lived leases.',
    { ...E, ...I },
  ),
  f(
    'experimental-compaction-batch-limit',
    'int',
    '1000',
    'ExperimentalCompactionBatchLimit sets the maximum revisions deleted in each compaction batch.',
    { ...E, ...I, hd: '1000' },
  ),
  f(
    'experimental-peer-skip-client-san-verification',
    'bool',
    'false',
    'Skip verification of SAN field in client certificate for peer connections.',
    { ...E, ...CLI },
  ),
  f(
    'experimental-watch-progress-notify-interval',
    'duration',
    '10m',
    'Duration of periodical watch progress notification.',
    { ...E, ...I },
  ),
  f(
    'experimental-warning-apply-duration',
    'duration',
    '100ms',
    'Warning is generated if requests take more than this duration.',
    { ...E, ...I },
  ),

  f('force-new-cluster', 'bool', 'false', 'Force to create a new one-member cluster.', {
    group: 'Unsafe feature',
    ...I,
  }),

  f(
    'debug',
    'bool',
    'false',
    "Enable debug-level logging for etcd. [WARN] Will be deprecated in v3.5. Use '--log-level=debug' instead.",
    { group: 'TO BE DEPRECATED', ...I },
  ),
  f(
    'log-package-levels',
    'string',
    '',
    "Specify a particular log level for each etcd package (eg: 'etcdmain=CRITICAL,etcdserver=DEBUG').",
    { group: 'TO BE DEPRECATED', ...I },
  ),

  // Not listed by `etcd --help`, but accepted by etcd 3.4.23.
  f('config-file', 'string', '', 'Path to the server configuration file.', { ...I, ...CLI }),
  f('version', 'bool', 'false', 'Print the version and exit.', { ...I, ...CLI }),
  f('log-output', 'unique-strings', 'default', "[TO BE DEPRECATED IN v3.5] use '--log-outputs'.", I),
  f('enable-grpc-gateway', 'bool', 'true', 'Enable GRPC gateway.', I),
  f(
    'experimental-enable-lease-checkpoint-persist',
    'bool',
    'false',
    'Enable persisting remainingTTL to prevent indefinite auto-renewal of long lived leases.',
    I,
  ),
  f('unsafe-no-fsync', 'bool', 'false', 'Disables fsync, unsafe, will cause data loss.', I),
  ...IGNORED_FLAGS.map((n) => f(n, 'ignored', '', '', { ...I, ...CLI })),
];

export const FLAG_BY_NAME: ReadonlyMap<string, FlagSpec> = new Map(FLAGS.map((s) => [s.name, s]));

/** The environment variable etcd reads a flag from: ETCD_ + upper-case name with "-" → "_". */
export function flagEnvName(name: string): string {
  return `ETCD_${name.toUpperCase().replace(/-/g, '_')}`;
}
