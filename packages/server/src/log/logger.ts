// The server's structured logger: zap-style JSON lines (Conclave's default) or capnslog-style text
// (etcd 3.4's default, --logger=capnslog). A disabled level costs one comparison; child loggers
// pre-encode their fields once; the level is shared by a logger and all its children.

import { capnslogFields, capnslogLine, encodeZapFields, zapLine, type LogFields } from './encode.js';
import { goQuoteList, nowMs } from './format.js';
import { LEVEL_VALUE, type LogLevel } from './levels.js';
import { customSink, flushAllLogs, openSink, type Sink } from './sink.js';

export type LogFormat = 'zap' | 'capnslog';

export interface LoggerOptions {
  /** Lowest level written; default "info". */
  level?: LogLevel;
  /** "zap" (JSON lines, default) or "capnslog" (text lines). */
  format?: LogFormat;
  /** --log-outputs values: "default" (= stderr), "stderr", "stdout" or file paths. Default ["default"]. */
  outputs?: readonly string[];
  /** Writes batches to this function instead of `outputs` (tests, embedding). */
  write?: (data: string) => void;
  /** The "caller" of the root logger, e.g. "server/raft"; children may set their own. */
  caller?: string;
  /** Fields added to every entry. */
  fields?: LogFields;
  /** zap adds a "stacktrace" field to error-and-above entries; default true. */
  stacktrace?: boolean;
  /** Called by fatal() after the entry is flushed; default process.exit. */
  exit?: (code: number) => void;
}

export interface Logger {
  readonly level: LogLevel;
  readonly format: LogFormat;
  enabled(level: LogLevel): boolean;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  /** Logs, flushes and throws an Error with `msg` (zap's Panic). */
  panic(msg: string, fields?: LogFields): never;
  /** Logs, flushes every sink and exits with status 1 (zap's Fatal). */
  fatal(msg: string, fields?: LogFields): never;
  /** A logger adding `fields` to every entry, optionally with its own caller (module name). */
  child(fields?: LogFields, opts?: { caller?: string }): Logger;
  /** Shorthand for child(undefined, { caller }). */
  named(caller: string): Logger;
  /** Changes the level of this logger, its parent and all its children. */
  setLevel(level: LogLevel): void;
  /** Writes pending lines now. */
  flush(): void;
  /** Flushes and releases the outputs; later entries are dropped. */
  close(): void;
}

interface Core {
  min: number;
  levelName: LogLevel;
  readonly format: LogFormat;
  readonly sinks: Sink[];
  readonly stacktrace: boolean;
  readonly exit: (code: number) => void;
  closed: boolean;
}

/** Checks --logger/--log-outputs the way etcd's setupLogging does; returns the error text or undefined. */
export function checkLogOutputs(format: LogFormat, outputs: readonly string[]): string | undefined {
  if (format === 'capnslog') {
    if (outputs.length !== 1) {
      return `--logger=capnslog supports only 1 value in '--log-outputs', got ${goQuoteList(outputs)}`;
    }
    const o = outputs[0] ?? '';
    if (o !== 'default' && o !== 'stderr' && o !== 'stdout') {
      return `unknown log-output "${o}" (only supports "default", "stderr", "stdout")`;
    }
    return undefined;
  }
  if (outputs.length > 1 && outputs.includes('default')) return 'multi logoutput for "default" is not supported yet';
  if (outputs.includes('')) return 'open sink "": open : no such file or directory';
  return undefined;
}

function stackOf(skip: (...args: never[]) => unknown): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, skip);
  return (holder.stack ?? '')
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .join('\n');
}

class LoggerImpl implements Logger {
  constructor(
    private readonly core: Core,
    private readonly caller: string | undefined,
    private readonly prefix: string,
  ) {}

  get level(): LogLevel {
    return this.core.levelName;
  }

  get format(): LogFormat {
    return this.core.format;
  }

  enabled(level: LogLevel): boolean {
    return LEVEL_VALUE[level] >= this.core.min;
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.core.min <= -1) this.emit('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    if (this.core.min <= 0) this.emit('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    if (this.core.min <= 1) this.emit('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    if (this.core.min <= 2) this.emit('error', msg, fields, this.error);
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (LEVEL_VALUE[level] >= this.core.min) this.emit(level, msg, fields, this.log);
  }

  panic(msg: string, fields?: LogFields): never {
    if (this.core.min <= 4) this.emit('panic', msg, fields, this.panic);
    this.flush();
    throw new Error(msg);
  }

  fatal(msg: string, fields?: LogFields): never {
    if (this.core.min <= 5) this.emit('fatal', msg, fields, this.fatal);
    flushAllLogs();
    this.core.exit(1);
    throw new Error(msg);
  }

  child(fields?: LogFields, opts?: { caller?: string }): Logger {
    const extra = this.core.format === 'zap' ? encodeZapFields(fields) : capnslogFields(fields);
    return new LoggerImpl(this.core, opts?.caller ?? this.caller, this.prefix + extra);
  }

  named(caller: string): Logger {
    return new LoggerImpl(this.core, caller, this.prefix);
  }

  setLevel(level: LogLevel): void {
    this.core.levelName = level;
    this.core.min = LEVEL_VALUE[level];
  }

  flush(): void {
    for (const s of this.core.sinks) s.flush();
  }

  close(): void {
    if (this.core.closed) return;
    this.core.closed = true;
    for (const s of this.core.sinks) s.release();
  }

  private emit(
    level: LogLevel,
    msg: string,
    fields: LogFields | undefined,
    from?: (...args: never[]) => unknown,
  ): void {
    const core = this.core;
    if (core.closed) return;
    const ms = nowMs();
    let line: string;
    if (core.format === 'zap') {
      let tail = this.prefix + encodeZapFields(fields);
      if (core.stacktrace && from !== undefined && LEVEL_VALUE[level] >= LEVEL_VALUE.error) {
        tail += `,"stacktrace":${JSON.stringify(stackOf(from))}`;
      }
      line = zapLine(level, ms, this.caller, msg, tail);
    } else {
      line = capnslogLine(level, ms, this.caller, msg, this.prefix + capnslogFields(fields));
    }
    for (const s of core.sinks) s.write(line);
  }
}

/** Creates a root logger. Throws an Error with etcd's wording for invalid output combinations. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? 'zap';
  const levelName = opts.level ?? 'info';
  const sinks: Sink[] = [];
  if (opts.write !== undefined) {
    sinks.push(customSink(opts.write));
  } else {
    const outputs = opts.outputs ?? ['default'];
    const problem = checkLogOutputs(format, outputs);
    if (problem !== undefined) throw new Error(problem);
    if (outputs.includes('systemd/journal'))
      throw new Error('conclave: --log-outputs=systemd/journal is not supported yet');
    const targets = new Set(outputs.map((o) => (o === 'default' ? 'stderr' : o)));
    for (const t of targets) sinks.push(openSink(t));
  }
  const core: Core = {
    min: LEVEL_VALUE[levelName],
    levelName,
    format,
    sinks,
    stacktrace: opts.stacktrace ?? true,
    exit: opts.exit ?? ((code) => process.exit(code)),
    closed: false,
  };
  const root = new LoggerImpl(core, opts.caller, '');
  return opts.fields === undefined ? root : root.child(opts.fields);
}
