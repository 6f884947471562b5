// The exact messages etcd 3.4.23 logs at start-up and shutdown, which scripts, test harnesses and
// operators wait for or grep. Observed from `etcd --logger=zap` (the "msg" of the JSON line) and
// from the default capnslog output; Conclave logs the same strings at the same moments.

/** zap "msg" values, in the order a single-member etcd 3.4 prints them. */
export const MSG = {
  CONFIGURING_PEER_LISTENERS: 'configuring peer listeners',
  CONFIGURING_CLIENT_LISTENERS: 'configuring client listeners',
  STARTING_AN_ETCD_SERVER: 'starting an etcd server',
  OPENED_BACKEND_DB: 'opened backend db',
  STARTING_LOCAL_MEMBER: 'starting local member',
  SIMPLE_TOKEN_NOT_SIGNED: 'simple token is not cryptographically signed',
  ENABLED_BACKEND_QUOTA_DEFAULT: 'enabled backend quota with default value',
  ENABLED_BACKEND_QUOTA: 'enabled backend quota',
  DISABLED_BACKEND_QUOTA: 'disabled backend quota',
  STARTING_ETCD_SERVER: 'starting etcd server',
  STARTED_TO_PURGE_FILE: 'started to purge file',
  ADDED_MEMBER: 'added member',
  SINGLE_NODE_FAST_FORWARD: 'started as single-node; fast-forwarding election ticks',
  NOW_SERVING_PEER_CLIENT_METRICS: 'now serving peer/client/metrics',
  SERVING_PEER_TRAFFIC: 'serving peer traffic',
  PUBLISHED_LOCAL_MEMBER: 'published local member to cluster through raft',
  SETTING_UP_INITIAL_CLUSTER_VERSION: 'setting up initial cluster version',
  SET_INITIAL_CLUSTER_VERSION: 'set initial cluster version',
  ENABLED_CAPABILITIES: 'enabled capabilities for version',
  CLUSTER_VERSION_UPDATED: 'cluster version is updated',
  /** Printed by etcd 3.5+ with zap (3.4 prints it only with capnslog); Conclave prints it in both formats. */
  READY_TO_SERVE: 'ready to serve client requests',
  SERVING_CLIENT_INSECURE: 'serving client traffic insecurely; this is strongly discouraged!',
  SERVING_CLIENT_SECURE: 'serving client traffic securely',
  STARTING_WITH_CLIENT_TLS: 'starting with client TLS',
  STARTING_WITH_PEER_TLS: 'starting with peer TLS',
  CREATED_CERT_FILE: 'created cert file',
  CREATED_KEY_FILE: 'created key file',
  IGNORING_CLIENT_AUTO_TLS: 'ignoring client auto TLS since certs given',
  IGNORING_PEER_AUTO_TLS: 'ignoring peer auto TLS since certs given',
  DATA_DIR_EMPTY: "'data-dir' was empty; using default",
  LEASE_CHECKPOINT_WITHOUT_PERSIST:
    'Detected that checkpointing is enabled without persistence. Consider enabling experimental-enable-lease-checkpoint-persist',
  LOADED_CONFIG_FILE:
    'loaded server configuration, other configuration command line flags and environment variables will be ignored if provided',
  FAILED_TO_VERIFY_FLAGS: 'failed to verify flags',
  ADVERTISE_CLIENT_URLS_NOT_SET: 'advertise client URLs are not set',
  FAILED_TO_START: 'failed to start etcd',
  DISCOVERY_FAILED: 'discovery failed',
  RECEIVED_SIGNAL: 'received signal; shutting down',
  CLOSING_ETCD_SERVER: 'closing etcd server',
  SKIPPED_LEADERSHIP_TRANSFER: 'skipped leadership transfer for single voting member cluster',
  STOPPING_SERVING_PEER_TRAFFIC: 'stopping serving peer traffic',
  STOPPED_SERVING_PEER_TRAFFIC: 'stopped serving peer traffic',
  CLOSED_ETCD_SERVER: 'closed etcd server',
} as const;

/** capnslog texts (after "<ts> <L> | <pkg>: "), with their etcd package. `%s` marks a value. */
export const CAPNSLOG_MSG = {
  ETCD_VERSION: { pkg: 'etcdmain', text: 'etcd Version: %s' },
  PUBLISHED: { pkg: 'etcdserver', text: 'published {Name:%s ClientURLs:[%s]} to cluster %s' },
  READY_TO_SERVE: { pkg: 'embed', text: 'ready to serve client requests' },
  ENABLED_CAPABILITIES: { pkg: 'etcdserver/api', text: 'enabled capabilities for version %s' },
  SERVING_INSECURE: { pkg: 'embed', text: 'serving insecure client requests on %s, this is strongly discouraged!' },
  SERVING_SECURE: { pkg: 'embed', text: 'serving client requests on %s' },
  LISTENING_FOR_PEERS: { pkg: 'embed', text: 'listening for peers on %s' },
  RECEIVED_SIGNAL: { pkg: 'pkg/osutil', text: 'received %s signal, shutting down...' },
} as const;
