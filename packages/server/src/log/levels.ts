// Log levels, named as zap names them (etcd's --log-level values), with their order and the
// one-letter codes capnslog prints.

/** The log levels, least severe first (etcd's `--log-level` values). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'dpanic', 'panic', 'fatal'] as const;
/** A log level (one of {@link LOG_LEVELS}); a logger writes entries at its level and above. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Severity order (zap's numeric levels): a logger at level L writes entries whose value is >= L's. */
export const LEVEL_VALUE: Readonly<Record<LogLevel, number>> = {
  debug: -1,
  info: 0,
  warn: 1,
  error: 2,
  dpanic: 3,
  panic: 4,
  fatal: 5,
};

/** capnslog's level letters: C(ritical) E W N I D T. zap's panic/fatal map to C, dpanic to E. */
export const CAPNSLOG_LETTER: Readonly<Record<LogLevel, string>> = {
  debug: 'D',
  info: 'I',
  warn: 'W',
  error: 'E',
  dpanic: 'E',
  panic: 'C',
  fatal: 'C',
};

/** Parses a --log-level value exactly as etcd does (lower case only: "DEBUG" is rejected). */
export function parseLogLevel(s: string): LogLevel | undefined {
  return (LOG_LEVELS as readonly string[]).includes(s) ? (s as LogLevel) : undefined;
}
