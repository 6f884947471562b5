// log/ — the server's structured logger, printing what etcd's loggers print: zap JSON lines
// (Conclave's default: {"level","ts","caller","msg",...fields}) or capnslog text lines
// (--logger=capnslog), to stderr/stdout/files per --log-outputs, at --log-level. Also the exact
// milestone messages etcd logs (tooling waits for them) and the Go-style value formatting etcd's
// messages use (durations, quoted strings, hex member IDs, timestamps).

export { createLogger, checkLogOutputs, type Logger, type LoggerOptions, type LogFormat } from './logger.js';
export type { LogFields } from './encode.js';
export { LOG_LEVELS, LEVEL_VALUE, parseLogLevel, type LogLevel } from './levels.js';
export { flushAllLogs, flushLogsOnSignals } from './sink.js';
export { externalLogger, type ServerLogger } from './external.js';
export { MSG, CAPNSLOG_MSG } from './milestones.js';
export * from './format.js';
export { zapLine, capnslogLine, encodeZapFields, capnslogFields } from './encode.js';
