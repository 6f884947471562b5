// parseConfig(): `conclave`'s command line, ETCD_* environment and --config-file, turned into a
// validated ServerConfig the way etcd 3.4's etcdmain does it, in etcd's order:
//   1. Go flag parsing (syntax/value errors → exit 2 with usage; -h → help)
//   2. positional arguments → "'x' is not a valid flag"; --version → version text
//   3. --config-file (or ETCD_CONFIG_FILE): the file alone, flags and environment ignored;
//      otherwise ETCD_* variables fill flags not given on the command line
//   4. flags Conclave does not implement must have their default value
//   5. etcd's validation (logging, URLs, election timing, advertise URLs, compaction mode)
//   6. start-up derivations (data dir, initial cluster, compaction retention, auth token)
// configFromSettings() builds the same ServerConfig from typed values (embedding: startServer()),
// with steps 4 to 6 only.

import {
  checkLogOutputs,
  goQuote,
  goQuoteList,
  MSG,
  parseLogLevel,
  type Logger,
  type LogFormat,
  type LogLevel,
} from '../log/index.js';
import { convertFlagValue, parseArgv, type Assignment } from './argv.js';
import { ConfigFileError, readConfigFile } from './config-file.js';
import { applyEnv, ignoredFlagNotice } from './env.js';
import {
  CONFIG_CALLER,
  ConfigError,
  ERR_CONFLICT_BOOTSTRAP_FLAGS,
  ERR_UNSET_ADVERTISE_CLIENT_URLS,
  envConflict,
  helpExit,
  invalidConfig,
  panicExit,
  startupError,
  unsupported,
  usageError,
  versionExit,
} from './errors.js';
import { FLAG_BY_NAME, FLAGS, type FlagSpec, type FlagValue } from './flags.js';
import { isGoIP, parseGoDuration, parseGoInt, parseUrlList, splitHostPort, type EtcdUrl } from './go-values.js';
import type { ConfigNotice, ServerConfig } from './types.js';

export interface ParseOptions {
  /** Reads --config-file (default: fs.readFileSync; bytes must be UTF-8 or UTF-16 with a BOM). */
  readFile?: (path: string) => string | Uint8Array;
  /** Git commit printed by --version. */
  gitSha?: string;
}

export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;
export const MAX_QUOTA_BYTES = 8 * 1024 * 1024 * 1024;
const MAX_ELECTION_MS = 50000;

function defaultValue(spec: FlagSpec): FlagValue {
  switch (spec.kind) {
    case 'urls':
      return spec.default === '' ? [] : parseUrlList(spec.default);
    case 'cors':
    case 'unique-strings':
    case 'strings':
      return spec.default === '' ? [] : spec.default.split(',');
    case 'bool':
      return spec.default === 'true';
    case 'ignored':
      return false;
    case 'duration':
      return spec.default === '' ? 0 : Number((parseGoDuration(spec.default) as { ns: bigint }).ns) / 1e6;
    case 'uint':
    case 'uint64':
    case 'uint32':
    case 'int':
    case 'int64':
      return Number(spec.default);
    default:
      return spec.default;
  }
}

const DEFAULTS: ReadonlyMap<string, FlagValue> = new Map(FLAGS.map((s) => [s.name, defaultValue(s)]));

function canonical(v: FlagValue): string {
  if (Array.isArray(v))
    return (v as ReadonlyArray<string | EtcdUrl>).map((x) => (typeof x === 'string' ? x : x.href)).join(',');
  return String(v);
}

class State {
  readonly values = new Map<string, FlagValue>(DEFAULTS);
  readonly sources = new Map<string, 'flag' | 'env' | 'file'>();
  readonly notices: ConfigNotice[] = [];

  apply(assignments: readonly Assignment[], source: 'flag' | 'env'): void {
    for (const a of assignments) {
      if (a.spec.kind === 'ignored' && source === 'flag') this.notices.push(ignoredFlagNotice(a.spec.name));
      this.values.set(a.spec.name, a.value);
      this.sources.set(a.spec.name, source);
    }
  }

  str(name: string): string {
    return this.values.get(name) as string;
  }
  num(name: string): number {
    return this.values.get(name) as number;
  }
  bool(name: string): boolean {
    return this.values.get(name) as boolean;
  }
  urls(name: string): readonly EtcdUrl[] {
    return this.values.get(name) as readonly EtcdUrl[];
  }
  list(name: string): readonly string[] {
    return this.values.get(name) as readonly string[];
  }
  isSet(name: string): boolean {
    return this.sources.has(name);
  }
  /** The log format errors are printed in: the chosen --logger, else Conclave's default (zap). */
  format(): LogFormat {
    const l = this.values.get('logger');
    return l === 'capnslog' ? 'capnslog' : 'zap';
  }
}

/**
 * Parses `conclave` arguments (without the program name) and environment into a ServerConfig.
 * Throws ConfigError for help, version and every failure; its exitCode/stdout/stderr are what
 * etcd 3.4 would exit with and print.
 */
export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  opts: ParseOptions = {},
): ServerConfig {
  const first = argv[0];
  if (first === 'gateway' || first === 'grpc-proxy') throw unsupported(`command "${first}"`);

  let st = new State();
  const parsed = parseArgv(argv, (n) => st.values.get(n) as FlagValue);
  if (parsed.kind === 'help') throw helpExit();
  if (parsed.kind === 'error') throw usageError(parsed.message);
  st.apply(parsed.assignments, 'flag');
  const positional = parsed.positional[0];
  if (positional !== undefined) throw invalidConfig(`'${positional}' is not a valid flag`, st.format());
  if (st.bool('version')) throw versionExit(opts.gitSha);

  const configFile = st.str('config-file') !== '' ? st.str('config-file') : (env['ETCD_CONFIG_FILE'] ?? '');
  let advertiseMissing = false;
  if (configFile !== '') {
    const carried = st.notices;
    st = new State();
    st.notices.push(...carried);
    try {
      const file = readConfigFile(configFile, opts.readFile);
      for (const [name, value] of file.values) {
        st.values.set(name, value);
        st.sources.set(name, 'file');
      }
      for (const key of file.unknownKeys)
        st.notices.push({ level: 'warn', msg: 'unknown configuration file key ignored', fields: { key } });
    } catch (e) {
      if (!(e instanceof ConfigFileError)) throw e;
      if (e.plain) throw new ConfigError('invalid', e.message, 1, '', `${e.message}\n`);
      throw invalidConfig(e.message, st.format());
    }
    st.notices.push({ level: 'info', msg: MSG.LOADED_CONFIG_FILE, fields: { path: configFile } });
  } else {
    const onCommandLine = new Set(parsed.assignments.map((a) => a.spec.name));
    const fromEnv = applyEnv(env, onCommandLine, (n) => st.values.get(n) as FlagValue);
    st.notices.push(...fromEnv.notices);
    if (fromEnv.conflict !== undefined) throw envConflict(fromEnv.conflict, st.format());
    if (fromEnv.error !== undefined) throw invalidConfig(fromEnv.error, st.format());
    st.apply(fromEnv.assignments, 'env');
    advertiseMissing = st.isSet('listen-client-urls') && !st.isSet('advertise-client-urls');
  }
  if ((st.str('discovery') !== '' || st.str('discovery-srv') !== '') && !st.isSet('initial-cluster')) {
    st.values.set('initial-cluster', '');
  }

  checkSupported(st);
  const logLevel = validate(st, advertiseMissing);
  return build(st, logLevel, configFile);
}

/**
 * A ServerConfig from typed values by etcd flag name (every other flag at its default): no command
 * line, environment or config file, but the same checks and derivations as parseConfig(). Throws
 * ConfigError for an unknown flag name or an invalid setting.
 */
export function configFromSettings(settings: ReadonlyMap<string, FlagValue>): ServerConfig {
  const st = new State();
  for (const [name, value] of settings) {
    if (!FLAG_BY_NAME.has(name)) throw usageError(`flag provided but not defined: -${name}`);
    st.values.set(name, value);
    st.sources.set(name, 'flag');
  }
  checkSupported(st);
  const logLevel = validate(st, false);
  return build(st, logLevel, '');
}

/** One flag's typed value from its text, as the command line would give it; throws etcd's ConfigError. */
export function flagValue(name: string, raw: string): FlagValue {
  const spec = FLAG_BY_NAME.get(name);
  if (spec === undefined) throw usageError(`flag provided but not defined: -${name}`);
  const r = convertFlagValue(spec, raw, DEFAULTS.get(name) as FlagValue);
  if ('error' in r) {
    const bool = spec.kind === 'bool' || spec.kind === 'ignored';
    throw usageError(
      bool
        ? `invalid boolean value ${goQuote(raw)} for -${name}: ${r.error}`
        : `invalid value ${goQuote(raw)} for flag -${name}: ${r.error}`,
    );
  }
  return r.value;
}

function checkSupported(st: State): void {
  for (const spec of FLAGS) {
    if (spec.implemented || spec.kind === 'ignored') continue;
    const v = st.values.get(spec.name) as FlagValue;
    if (canonical(v) !== canonical(DEFAULTS.get(spec.name) as FlagValue)) throw unsupported(`flag --${spec.name}`);
  }
  if (st.list('log-outputs').includes('systemd/journal')) throw unsupported('flag --log-outputs=systemd/journal');
  // etcd applies package levels to capnslog's loggers only; Conclave's capnslog lines do not carry
  // etcd's package names, so that combination is refused rather than half-honoured
  if (st.str('log-package-levels') !== '' && st.str('logger') === 'capnslog') {
    throw unsupported('flag --log-package-levels with --logger=capnslog');
  }
}

function checkBindUrls(urls: readonly EtcdUrl[]): string | undefined {
  for (const u of urls) {
    if (u.scheme === 'unix' || u.scheme === 'unixs') continue;
    if (u.hostname === 'localhost') continue;
    if (!isGoIP(u.hostname)) return `expected IP in URL for binding (${u.href})`;
  }
  return undefined;
}

function checkHostUrls(urls: readonly EtcdUrl[]): string | undefined {
  for (const u of urls) {
    const hp = splitHostPort(u.host);
    if ('error' in hp) return hp.error;
    if (hp.host === '') return `unexpected empty host (${u.href})`;
  }
  return undefined;
}

/** etcd's embed.Config.Validate (with setupLogging first). Returns the effective log level. */
function validate(st: State, advertiseMissing: boolean): LogLevel {
  const logOutput = st.list('log-output');
  if (!(logOutput.length === 1 && logOutput[0] === 'default')) {
    st.notices.push({
      level: 'raw',
      msg: `[WARNING] Deprecated '--log-output' flag is set to ${goQuoteList(logOutput)}`,
    });
    st.notices.push({ level: 'raw', msg: "Please use '--log-outputs' flag" });
  }
  const debug = st.bool('debug');
  const level = st.str('log-level');
  if (debug)
    st.notices.push({
      level: 'raw',
      msg: "[WARNING] Deprecated '--debug' flag is set to true (use '--log-level=debug' instead",
    });
  if (debug && level !== 'debug') {
    st.notices.push({
      level: 'raw',
      msg: `[WARNING] Deprecated '--debug' flag is set to true with inconsistent '--log-level=${level}' flag`,
    });
  }
  const logger = st.str('logger');
  if (logger === 'capnslog') {
    st.notices.push({
      level: 'raw',
      msg: "[WARNING] Deprecated '--logger=capnslog' flag is set; use '--logger=zap' flag instead",
    });
  }
  const pkgLevels = st.str('log-package-levels');
  if (pkgLevels !== '') {
    // with zap (Conclave's default) etcd prints this and otherwise ignores the flag
    st.notices.push({
      level: 'raw',
      msg: `[WARNING] Deprecated '--log-package-levels=${pkgLevels}' flag is set; use '--logger=zap' flag instead`,
    });
  }
  if (logger !== 'zap' && logger !== 'capnslog') throw invalidConfig(`unknown logger option "${logger}"`, 'zap');
  const outputsProblem = checkLogOutputs(logger, st.list('log-outputs'));
  if (outputsProblem !== undefined) throw invalidConfig(outputsProblem, st.format());
  const parsedLevel = parseLogLevel(level);
  if (parsedLevel === undefined) throw panicExit(`unknown level "${level}"`);

  const fail = (msg: string): ConfigError => invalidConfig(msg, st.format());
  for (const name of ['listen-peer-urls', 'listen-client-urls', 'listen-metrics-urls']) {
    const problem = checkBindUrls(st.urls(name));
    if (problem !== undefined) throw fail(problem);
  }
  for (const name of ['initial-advertise-peer-urls', 'advertise-client-urls']) {
    if (name === 'advertise-client-urls' && advertiseMissing) continue;
    const problem = checkHostUrls(st.urls(name));
    if (problem !== undefined) {
      throw fail(
        `--${name} "${st
          .urls(name)
          .map((u) => u.href)
          .join(',')}" must be "host:port" (${problem})`,
      );
    }
  }
  const bootstrapFlags = [st.str('discovery'), st.str('initial-cluster'), st.str('discovery-srv')].filter(
    (s) => s !== '',
  );
  const state = st.str('initial-cluster-state');
  if (state !== 'new' && state !== 'existing') throw fail(`unexpected clusterState "${state}"`);
  if (bootstrapFlags.length > 1) throw fail(ERR_CONFLICT_BOOTSTRAP_FLAGS);
  const tick = st.num('heartbeat-interval');
  const election = st.num('election-timeout');
  if (tick <= 0) throw fail(`--heartbeat-interval must be >0 (set to ${tick}ms)`);
  if (election <= 0) throw fail(`--election-timeout must be >0 (set to ${election}ms)`);
  if (5 * tick > election) {
    throw fail(`--election-timeout[${election}ms] should be at least as 5 times as --heartbeat-interval[${tick}ms]`);
  }
  if (election > MAX_ELECTION_MS) {
    throw fail(`--election-timeout[${election}ms] is too long, and should be set less than ${MAX_ELECTION_MS}ms`);
  }
  if (advertiseMissing) throw fail(ERR_UNSET_ADVERTISE_CLIENT_URLS);
  const mode = st.str('auto-compaction-mode');
  if (mode !== '' && mode !== 'periodic' && mode !== 'revision') throw fail(`unknown auto-compaction-mode "${mode}"`);
  const checkpoint = st.bool('experimental-enable-lease-checkpoint');
  const persist = st.bool('experimental-enable-lease-checkpoint-persist');
  if (checkpoint && !persist) st.notices.push({ level: 'warn', msg: MSG.LEASE_CHECKPOINT_WITHOUT_PERSIST });
  if (persist && !checkpoint) {
    throw fail('setting experimental-enable-lease-checkpoint-persist requires experimental-enable-lease-checkpoint');
  }
  return debug ? 'debug' : parsedLevel;
}

function compaction(st: State): ServerConfig['autoCompaction'] {
  const mode = st.str('auto-compaction-mode') === 'revision' ? 'revision' : 'periodic';
  const retention = st.str('auto-compaction-retention');
  const int = /^[+-]?[0-9]+$/.test(retention) ? parseGoInt(retention, 64) : undefined;
  if (int?.ok === true && int.value >= 0n) {
    const n = Number(int.value);
    return mode === 'revision'
      ? { mode, retention, retentionMs: 0, retentionRevisions: n }
      : { mode, retention, retentionMs: n * 3_600_000, retentionRevisions: 0 };
  }
  if (mode === 'revision') {
    // etcd would read a duration here as a revision count in nanoseconds; Conclave refuses it.
    throw startupError(
      `error parsing CompactionRetention: revision retention must be a non-negative integer: "${retention}"`,
      st.format(),
    );
  }
  const d = parseGoDuration(retention);
  if (!d.ok) throw startupError(`error parsing CompactionRetention: ${d.error}`, st.format());
  return { mode, retention, retentionMs: Number(d.ns) / 1e6, retentionRevisions: 0 };
}

function authToken(st: State): Pick<ServerConfig, 'authToken' | 'authTokenOptions'> {
  const spec = st.str('auth-token');
  const [type = '', ...rest] = spec.split(',');
  const options: Record<string, string> = {};
  for (const opt of rest) {
    const pair = opt.split('=');
    if (pair.length !== 2 || (pair[0] ?? '') in options) throw startupError('auth: invalid auth options', st.format());
    options[pair[0] ?? ''] = pair[1] ?? '';
  }
  if (type === '') throw unsupported('flag --auth-token=""');
  if (type !== 'simple' && type !== 'jwt') throw startupError('auth: invalid auth options', st.format());
  return { authToken: type, authTokenOptions: options };
}

function build(st: State, logLevel: ServerConfig['logLevel'], configFile: string): ServerConfig {
  const name = st.str('name');
  let dataDir = st.str('data-dir');
  if (dataDir === '') {
    dataDir = `${name}.etcd`;
    st.notices.push({ level: 'warn', msg: MSG.DATA_DIR_EMPTY, fields: { 'data-dir': dataDir } });
  }
  const advertisePeer = st.urls('initial-advertise-peer-urls');
  let initialCluster = st.str('initial-cluster');
  if (!st.isSet('initial-cluster') && initialCluster !== '') {
    initialCluster = advertisePeer.map((u) => `${name === '' ? 'default' : name}=${u.href}`).join(',');
  }
  const quota = st.num('quota-backend-bytes');
  let bcryptCost = st.num('bcrypt-cost');
  if (bcryptCost < 4 || bcryptCost > 31) {
    st.notices.push({
      level: 'warn',
      msg: 'use default bcrypt cost instead of the invalid given cost',
      fields: { 'min-cost': 4, 'max-cost': 31, 'default-cost': 10, 'given-cost': bcryptCost },
    });
    bcryptCost = 10;
  }
  const autoCompaction = compaction(st);
  const auth = authToken(st);
  const tick = st.num('heartbeat-interval');
  const election = st.num('election-timeout');
  return {
    name,
    dataDir,
    walDir: st.str('wal-dir'),
    snapshotCount: st.num('snapshot-count'),
    maxSnapshots: st.num('max-snapshots'),
    maxWals: st.num('max-wals'),
    heartbeatIntervalMs: tick,
    electionTimeoutMs: election,
    electionTicks: Math.floor(election / tick),
    initialElectionTickAdvance: st.bool('initial-election-tick-advance'),
    listenPeerUrls: st.urls('listen-peer-urls'),
    listenClientUrls: st.urls('listen-client-urls'),
    listenMetricsUrls: st.urls('listen-metrics-urls'),
    initialAdvertisePeerUrls: advertisePeer,
    advertiseClientUrls: st.urls('advertise-client-urls'),
    initialCluster,
    initialClusterState: st.str('initial-cluster-state') === 'existing' ? 'existing' : 'new',
    initialClusterToken: st.str('initial-cluster-token'),
    strictReconfigCheck: st.bool('strict-reconfig-check'),
    preVote: st.bool('pre-vote'),
    forceNewCluster: st.bool('force-new-cluster'),
    quotaBackendBytes: quota < 0 ? null : quota === 0 ? DEFAULT_QUOTA_BYTES : quota,
    maxTxnOps: st.num('max-txn-ops'),
    maxRequestBytes: st.num('max-request-bytes'),
    maxConcurrentStreams: st.num('max-concurrent-streams'),
    grpcKeepalive: {
      minTimeMs: st.num('grpc-keepalive-min-time'),
      intervalMs: st.num('grpc-keepalive-interval'),
      timeoutMs: st.num('grpc-keepalive-timeout'),
    },
    backendBatch: { intervalMs: st.num('backend-batch-interval'), limit: st.num('backend-batch-limit') },
    autoCompaction,
    clientTls: {
      certFile: st.str('cert-file'),
      keyFile: st.str('key-file'),
      trustedCaFile: st.str('trusted-ca-file'),
      clientCertAuth: st.bool('client-cert-auth'),
      autoTls: st.bool('auto-tls'),
      allowedCn: '',
      allowedHostname: st.str('client-cert-allowed-hostname'),
      crlFile: st.str('client-crl-file'),
    },
    peerTls: {
      certFile: st.str('peer-cert-file'),
      keyFile: st.str('peer-key-file'),
      trustedCaFile: st.str('peer-trusted-ca-file'),
      clientCertAuth: st.bool('peer-client-cert-auth'),
      autoTls: st.bool('peer-auto-tls'),
      allowedCn: st.str('peer-cert-allowed-cn'),
      allowedHostname: st.str('peer-cert-allowed-hostname'),
      crlFile: st.str('peer-crl-file'),
    },
    cipherSuites: st.list('cipher-suites'),
    ...auth,
    authTokenTtlSeconds: st.num('auth-token-ttl'),
    bcryptCost,
    logger: st.format(),
    logLevel,
    logOutputs: st.list('log-outputs'),
    metrics: st.str('metrics'),
    enablePprof: st.bool('enable-pprof'),
    enableV2: st.bool('enable-v2'),
    experimentalWatchProgressNotifyIntervalMs: st.num('experimental-watch-progress-notify-interval'),
    experimentalEnableLeaseCheckpoint: st.bool('experimental-enable-lease-checkpoint'),
    experimentalInitialCorruptCheck: st.bool('experimental-initial-corrupt-check'),
    experimentalCorruptCheckTimeMs: st.num('experimental-corrupt-check-time'),
    configFile,
    flags: st.values,
    sources: st.sources,
    notices: st.notices,
  };
}

/** Logs a ServerConfig's notices (caller "server/config") once the logger exists; "raw" ones go to `raw` (stderr) verbatim. */
export function reportNotices(
  notices: readonly ConfigNotice[],
  logger: Logger,
  raw: (line: string) => void = (l) => process.stderr.write(l),
): void {
  const log = logger.named(CONFIG_CALLER);
  for (const n of notices) {
    if (n.level === 'raw') raw(`${n.msg}\n`);
    else log[n.level](n.msg, n.fields);
  }
}
