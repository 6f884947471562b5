// Log outputs: stderr, stdout, files (appended, as zap opens them) or a caller-supplied function.
// Lines are buffered and written in one batch on the next turn of the event loop (or at once when
// 64 KiB are pending), so logging never costs a syscall per line. Every sink is flushed
// synchronously when the process exits ('exit' event), by flushAllLogs(), by a logger's
// fatal()/panic(), and — in a process that owns its signals, the `conclave` binary, which calls
// flushLogsOnSignals() — on SIGINT/SIGTERM. A library embedding the server installs no signal
// handler: signals belong to its application. Sinks for the same target are shared by all loggers,
// so lines from different loggers keep their order.

import { closeSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';

const FLUSH_BYTES = 64 * 1024;

export interface Sink {
  /** The target: "stderr", "stdout", an absolute file path, or "custom". */
  readonly target: string;
  write(line: string): void;
  /** Writes every pending line now, synchronously. */
  flush(): void;
  /** Drops this reference; the last one flushes and closes a file. */
  release(): void;
}

class SharedSink {
  refs = 0;
  private pending: string[] = [];
  private bytes = 0;
  private scheduled: NodeJS.Immediate | undefined;

  constructor(
    readonly target: string,
    private readonly out: (data: string) => void,
    private readonly onClose?: () => void,
  ) {}

  write(line: string): void {
    this.pending.push(line);
    this.bytes += line.length;
    if (this.bytes >= FLUSH_BYTES) {
      this.flush();
    } else if (this.scheduled === undefined) {
      this.scheduled = setImmediate(() => {
        this.scheduled = undefined;
        this.flush();
      });
      this.scheduled.unref();
    }
  }

  flush(): void {
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    if (this.pending.length === 0) return;
    const data = this.pending.length === 1 ? (this.pending[0] ?? '') : this.pending.join('');
    this.pending = [];
    this.bytes = 0;
    try {
      this.out(data);
    } catch {
      // A closed stdout/stderr (EPIPE) must not take the server down with it.
    }
  }

  close(): void {
    this.flush();
    this.onClose?.();
  }
}

const shared = new Map<string, SharedSink>();
const live = new Set<SharedSink>();
let exitHook = false;
let signalHook = false;

function onSignal(signal: NodeJS.Signals): void {
  flushAllLogs();
  // This listener was registered with once(): if no other listener handles the signal, Node has
  // restored the default action, and re-raising it ends the process as if we had not been here.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', flushAllLogs);
}

/**
 * For a process that owns its signals (the `conclave` binary): on SIGINT/SIGTERM every sink is
 * flushed; if nothing else handles the signal, it is then re-raised so that its default action
 * still ends the process. Idempotent.
 */
export function flushLogsOnSignals(): void {
  if (signalHook) return;
  signalHook = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, onSignal);
}

/** Flushes every open sink synchronously. Safe to call at any time, e.g. from a signal handler. */
export function flushAllLogs(): void {
  for (const s of live) s.flush();
}

function writeAllSync(fd: number, data: string): void {
  const buf = Buffer.from(data, 'utf8');
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

function handle(s: SharedSink, onRelease: () => void): Sink {
  s.refs++;
  let released = false;
  return {
    target: s.target,
    write: (line) => s.write(line),
    flush: () => s.flush(),
    release: () => {
      if (released) return;
      released = true;
      if (--s.refs === 0) onRelease();
      else s.flush();
    },
  };
}

/** Opens (or shares) the sink for one --log-outputs target: "stderr", "stdout" or a file path. */
export function openSink(target: string): Sink {
  installExitHook();
  const key = target === 'stderr' || target === 'stdout' ? target : resolve(target);
  let s = shared.get(key);
  if (s === undefined) {
    if (key === 'stderr') s = new SharedSink(key, (d) => process.stderr.write(d));
    else if (key === 'stdout') s = new SharedSink(key, (d) => process.stdout.write(d));
    else {
      const fd = openSync(key, 'a', 0o666);
      s = new SharedSink(
        key,
        (d) => writeAllSync(fd, d),
        () => closeSync(fd),
      );
    }
    shared.set(key, s);
    live.add(s);
  }
  const sink = s;
  return handle(sink, () => {
    shared.delete(key);
    live.delete(sink);
    sink.close();
  });
}

/** A sink writing batches to a function (tests, or embedding applications with their own logging). */
export function customSink(write: (data: string) => void): Sink {
  installExitHook();
  const s = new SharedSink('custom', write);
  live.add(s);
  return handle(s, () => {
    live.delete(s);
    s.close();
  });
}
