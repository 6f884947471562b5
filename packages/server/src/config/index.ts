// config/ — the `conclave` command line: every flag etcd 3.4 accepts, with etcd's names, forms
// (--flag value, -flag=value, ...), defaults, ETCD_* environment variables, --config-file YAML,
// validation and error texts/exit codes; parsed into a typed ServerConfig. Flags Conclave does not
// implement are accepted only with their default value. Also the version identity Conclave reports.

export {
  parseConfig,
  configFromSettings,
  flagValue,
  reportNotices,
  DEFAULT_QUOTA_BYTES,
  MAX_QUOTA_BYTES,
  type ParseOptions,
} from './parse-config.js';
export type { ServerConfig, TlsConfig, AutoCompactionConfig, ConfigNotice } from './types.js';
export { ConfigError, startupError, type ConfigErrorKind } from './errors.js';
export {
  FLAGS,
  FLAG_BY_NAME,
  IGNORED_FLAGS,
  flagEnvName,
  type FlagSpec,
  type FlagKind,
  type FlagValue,
  type HelpGroup,
} from './flags.js';
export { usageText, flagsText, printUsage } from './usage.js';
export {
  versionText,
  CONCLAVE_VERSION,
  ETCD_COMPAT_VERSION,
  ETCD_CLUSTER_VERSION,
  ETCD_API_VERSION,
  type VersionInfo,
} from './version.js';
export {
  parseInitialCluster,
  initialClusterString,
  resolveInitialCluster,
  verifyBootstrap,
  type InitialCluster,
} from './bootstrap.js';
export { parseGoDuration, parseEtcdUrl, parseUrlList, type EtcdUrl, type UrlScheme } from './go-values.js';
export { formatGoDuration } from '../log/index.js';
