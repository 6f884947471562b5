// ConfigError: every way `conclave` start-up ends before the server runs, with the exit code and
// the exact text etcd 3.4 prints in the same situation (what goes to stdout and to stderr):
//   help         -h/--help: usage on stderr, flag list on stdout, exit 0
//   version      --version: version text on stdout, exit 0
//   usage        Go flag-package errors (unknown flag, bad value, missing argument): message +
//                usage on stderr, exit 2
//   invalid      "error verifying flags" (positional args, env values, validation), exit 1
//   startup      errors etcd reports when starting (initial cluster, compaction retention,
//                auth token), exit 1
//   fatal        conflicting ETCD_* environment variable, exit 1
//   panic        unknown --log-level (etcd panics), exit 2
//   unsupported  a flag Conclave does not implement, set to a non-default value, exit 2

import { capnslogLine, encodeZapFields, nowMs, zapLine, type LogFormat, type LogLevel } from '../log/index.js';
import { flagsText, usageText } from './usage.js';
import { versionText } from './version.js';

/** Which way start-up ended: see {@link ConfigError} (`help` and `version` are not failures). */
export type ConfigErrorKind = 'help' | 'version' | 'usage' | 'invalid' | 'startup' | 'fatal' | 'panic' | 'unsupported';

/** The caller/package Conclave's config messages are logged under. */
export const CONFIG_CALLER = 'server/config';

/**
 * Start-up ended before the server ran: bad or unsupported flags, `--help`, `--version`, or an
 * error etcd reports while starting. {@link startServer} rejects with it when its `flags` are bad;
 * `exitCode`, `stdout` and `stderr` are what the `conclave` command (like etcd) would exit with and print.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Process exit code etcd uses for this case. */
  readonly exitCode: number;
  /** Which case this is. */
  readonly kind: ConfigErrorKind;
  /** Text to write to stdout (help and version only). */
  readonly stdout: string;
  /** Text to write to stderr, already formatted (log lines for invalid/startup/fatal). */
  readonly stderr: string;

  constructor(kind: ConfigErrorKind, message: string, exitCode: number, stdout: string, stderr: string) {
    super(message);
    this.kind = kind;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /** Writes the stderr and stdout texts; the `conclave` binary then exits with exitCode. */
  report(
    write = { stdout: (s: string) => process.stdout.write(s), stderr: (s: string) => process.stderr.write(s) },
  ): void {
    if (this.stderr !== '') write.stderr(this.stderr);
    if (this.stdout !== '') write.stdout(this.stdout);
  }
}

function line(
  format: LogFormat,
  level: LogLevel,
  msg: string,
  fields: Record<string, unknown>,
  capnsText: string,
  caller = CONFIG_CALLER,
): string {
  const ms = nowMs();
  if (format === 'zap') return zapLine(level, ms, caller, msg, encodeZapFields(fields));
  return capnslogLine(level, ms, caller, capnsText, '');
}

export function helpExit(): ConfigError {
  return new ConfigError('help', 'help requested', 0, `${flagsText()}\n`, `${usageText()}\n`);
}

export function versionExit(gitSha?: string): ConfigError {
  return new ConfigError('version', 'version requested', 0, versionText(gitSha === undefined ? {} : { gitSha }), '');
}

/** Go flag-package failure: the message, then the usage block. */
export function usageError(message: string): ConfigError {
  return new ConfigError('usage', message, 2, '', `${message}\n${usageText()}\n`);
}

/** etcd's "error verifying flags" (capnslog) / "failed to verify flags" (zap, at warn level). */
export function invalidConfig(message: string, format: LogFormat): ConfigError {
  let err = line(format, 'warn', 'failed to verify flags', { error: message }, '');
  if (format === 'capnslog') {
    err = line(format, 'error', '', {}, `error verifying flags, ${message}. See 'conclave --help'.`);
  }
  if (message === ERR_UNSET_ADVERTISE_CLIENT_URLS) {
    err += line(
      format,
      format === 'zap' ? 'warn' : 'error',
      'advertise client URLs are not set',
      { error: message },
      'When listening on specific address(es), this etcd process must advertise accessible url(s) to each connected client.',
    );
  }
  return new ConfigError('invalid', message, 1, '', err);
}

/**
 * Errors etcd reports while starting (after flag validation): "failed to start etcd" + fatal.
 * `caller` is the package capnslog names ("etcdmain: <id> found data inconsistency with peers").
 */
export function startupError(message: string, format: LogFormat, caller = CONFIG_CALLER): ConfigError {
  const err =
    format === 'zap'
      ? line(format, 'warn', 'failed to start etcd', { error: message }, '', caller) +
        line(format, 'fatal', 'discovery failed', { error: message }, '', caller)
      : line(format, 'fatal', '', {}, message, caller);
  return new ConfigError('startup', message, 1, '', err);
}

/** A conflicting environment variable: etcd's pkg/flags logs it at critical level and exits 1. */
export function envConflict(key: string, format: LogFormat): ConfigError {
  const text = `conflicting environment variable ${JSON.stringify(key)} is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`;
  const err = line(
    format,
    'fatal',
    'conflicting environment variable is shadowed by corresponding command-line flag (either unset environment variable or disable flag)',
    { 'environment-variable': key },
    text,
  );
  return new ConfigError('fatal', text, 1, '', err);
}

export function panicExit(message: string): ConfigError {
  return new ConfigError('panic', message, 2, '', `panic: ${message}\n`);
}

/** Conclave's own message for a flag it does not implement, set to a non-default value. */
export function unsupported(what: string): ConfigError {
  const message = `conclave: ${what} is not supported yet`;
  return new ConfigError('unsupported', message, 2, '', `${message}\n`);
}

export const ERR_UNSET_ADVERTISE_CLIENT_URLS =
  '--advertise-client-urls is required when --listen-client-urls is set explicitly';
export const ERR_CONFLICT_BOOTSTRAP_FLAGS =
  'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"';
