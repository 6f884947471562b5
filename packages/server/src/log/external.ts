// A Logger over an application's own logger (startServer({ logger })): each entry at or above the
// level becomes one call with the message and its fields (the caller module under "caller"), instead
// of a line written to stderr. Panic and fatal entries are logged as errors; fatal() does not exit
// the application's process, it throws like panic().

import type { LogFields } from './encode.js';
import { LEVEL_VALUE, type LogLevel } from './levels.js';
import type { Logger } from './logger.js';

/** What an embedding application hands to startServer() to receive the member's log entries. */
export interface ServerLogger {
  /** A debug entry: its message and fields (the logging module under "caller"). */
  debug(msg: string, fields: Readonly<Record<string, unknown>>): void;
  /** An info entry: its message and fields (the logging module under "caller"). */
  info(msg: string, fields: Readonly<Record<string, unknown>>): void;
  /** A warn entry: its message and fields (the logging module under "caller"). */
  warn(msg: string, fields: Readonly<Record<string, unknown>>): void;
  /** An error, panic or fatal entry: its message and fields (the logging module under "caller"). */
  error(msg: string, fields: Readonly<Record<string, unknown>>): void;
}

interface Shared {
  min: number;
  level: LogLevel;
}

class ExternalLogger implements Logger {
  readonly format = 'zap' as const;

  constructor(
    private readonly target: ServerLogger,
    private readonly shared: Shared,
    private readonly base: Readonly<Record<string, unknown>>,
  ) {}

  get level(): LogLevel {
    return this.shared.level;
  }

  enabled(level: LogLevel): boolean {
    return LEVEL_VALUE[level] >= this.shared.min;
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (LEVEL_VALUE[level] < this.shared.min) return;
    const all = fields === undefined ? this.base : { ...this.base, ...fields };
    switch (level) {
      case 'debug':
        return this.target.debug(msg, all);
      case 'info':
        return this.target.info(msg, all);
      case 'warn':
        return this.target.warn(msg, all);
      default:
        return this.target.error(msg, all);
    }
  }

  panic(msg: string, fields?: LogFields): never {
    this.log('panic', msg, fields);
    throw new Error(msg);
  }

  fatal(msg: string, fields?: LogFields): never {
    this.log('fatal', msg, fields);
    throw new Error(msg);
  }

  child(fields?: LogFields, opts?: { caller?: string }): Logger {
    const base = { ...this.base, ...fields, ...(opts?.caller !== undefined ? { caller: opts.caller } : {}) };
    return new ExternalLogger(this.target, this.shared, base);
  }

  named(caller: string): Logger {
    return new ExternalLogger(this.target, this.shared, { ...this.base, caller });
  }

  setLevel(level: LogLevel): void {
    this.shared.level = level;
    this.shared.min = LEVEL_VALUE[level];
  }

  flush(): void {}

  close(): void {}
}

/** A Logger handing entries at `level` and above to `target`. */
export function externalLogger(target: ServerLogger, level: LogLevel): Logger {
  return new ExternalLogger(target, { min: LEVEL_VALUE[level], level }, {});
}
