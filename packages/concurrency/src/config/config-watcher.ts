// A typed, snapshot-consistent view of the keys under a prefix. The prefix is read once, then kept
// current by one watch; every state handed to the application is the whole prefix as it was at one
// revision (never a mix of two), parsed and validated by the application's own functions, and states
// only move forward in revision order. A transaction that changes several keys is seen as one step:
// a watch delivers each revision's events together, and they are applied together. After a
// reconnect the client resumes the watch where it stopped; if that history was compacted meanwhile,
// the prefix is read again (a resync) and the view jumps to that revision. A state that fails
// parse/validate is reported (`onInvalid`, 'invalid' event) and skipped: the last valid one stays.

import { ConclaveError, type KeySpace, type KeyValue, type WatchEvent } from '@conclave/client';
import { anySignal } from '../util/async.js';
import {
  AsyncQueue,
  Emitter,
  checkFunction,
  checkSignal,
  checkString,
  invalid,
  options,
} from '@conclave/client/internal';
import { checkKeySpace } from '../session/session.js';

/** The prefix's contents at one revision. */
export interface ConfigSnapshot {
  /** The store revision this is the state of the prefix at. */
  readonly revision: bigint;
  /** Key (relative to the prefix) → value, in key order. */
  readonly entries: ReadonlyMap<string, string>;
  /** The key-values (keys relative to the prefix), in key order. */
  readonly kvs: readonly KeyValue[];
}

/** A valid configuration: the parsed value and the snapshot it came from. */
export interface ConfigState<T> {
  readonly value: T;
  readonly revision: bigint;
  readonly snapshot: ConfigSnapshot;
}

/** Options of `ConfigWatcher.start`: how to parse and check a snapshot of the prefix. */
export interface ConfigWatcherOptions<T> {
  /** Builds the typed value from a snapshot; throwing rejects the snapshot. */
  parse: (snapshot: ConfigSnapshot) => T;
  /** Checks the parsed value: throw, or return false or a message, to reject it. */
  validate?: (value: T, snapshot: ConfigSnapshot) => void | boolean | string;
  /** Called for each rejected snapshot (the previous valid state stays current). */
  onInvalid?: (error: InvalidConfigError, snapshot: ConfigSnapshot) => void;
  /** Closes the watcher. */
  signal?: AbortSignal;
}

/** A snapshot was rejected by parse or validate; `cause` is what they threw or said. */
export class InvalidConfigError extends ConclaveError {
  constructor(
    readonly revision: bigint,
    cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super({
      message: `invalid configuration at revision ${revision}: ${why}`,
      code: 'InvalidConfig',
      retriable: false,
      cause,
    });
  }
}

/** The events of a ConfigWatcher. */
export interface ConfigWatcherEvents<T> extends Record<string, unknown[]> {
  change: [state: ConfigState<T>];
  invalid: [error: InvalidConfigError, snapshot: ConfigSnapshot];
  /** The history the watch needed was compacted: the prefix was read again at `revision`. */
  resync: [revision: bigint];
  /** The watch failed for good; the watcher is closed. */
  error: [error: Error];
}

/**
 * A typed, snapshot-consistent view of the keys under a prefix: every state handed out is the whole
 * prefix at one revision, parsed and validated by the application's functions, in revision order;
 * an invalid state is reported and skipped.
 *
 * ```ts
 * await using config = await ConfigWatcher.start(client, 'apps/billing/', {
 *   parse: (snap) => ({ limit: Number(snap.entries.get('limit') ?? 10) }),
 *   validate: (c) => c.limit > 0 || 'limit must be positive',
 * });
 * for await (const { value, revision } of config) reconfigure(value, revision);
 * ```
 */
export class ConfigWatcher<T> extends Emitter<ConfigWatcherEvents<T>> {
  private state: ConfigState<T>;
  private readonly subscribers = new Set<AsyncQueue<ConfigState<T>>>();
  private readonly controller = new AbortController();
  private failure: Error | undefined;

  private constructor(
    private readonly opts: ConfigWatcherOptions<T>,
    initial: ConfigState<T>,
  ) {
    super();
    this.state = initial;
  }

  /**
   * Reads the prefix, parses and validates it (rejecting with InvalidConfigError if the current
   * contents are invalid), and starts following it.
   */
  static async start<T>(client: KeySpace, prefix: string, opts: ConfigWatcherOptions<T>): Promise<ConfigWatcher<T>> {
    checkKeySpace(client, 'ConfigWatcher.start: client');
    checkString(prefix, 'ConfigWatcher.start: prefix');
    options(opts, 'ConfigWatcher.start: options');
    if (opts === undefined) invalid('ConfigWatcher.start: options', 'an object with a `parse` function', opts);
    checkFunction(opts.parse, 'ConfigWatcher.start: options.parse');
    if (opts.validate !== undefined) checkFunction(opts.validate, 'ConfigWatcher.start: options.validate');
    if (opts.onInvalid !== undefined) checkFunction(opts.onInvalid, 'ConfigWatcher.start: options.onInvalid');
    if (opts.signal !== undefined) checkSignal(opts.signal, 'ConfigWatcher.start: options.signal');
    const kv = client.namespace(prefix);
    const r = await kv.range('', { prefix: true, ...(opts.signal ? { signal: opts.signal } : {}) });
    const entries = new Map<string, KeyValue>();
    for (const e of r.kvs) entries.set(e.keyString, e);
    const first = snapshotOf(entries, r.revision);
    const value = evaluate(opts, first);
    if (value instanceof InvalidConfigError) throw value;
    const w = new ConfigWatcher<T>(opts, { value: value.ok, revision: r.revision, snapshot: first });
    w.follow(kv, entries, r.revision);
    return w;
  }

  /** The current (last valid) state. */
  current(): ConfigState<T> {
    return this.state;
  }

  /**
   * The states after this call, each a whole valid snapshot, in revision order (with
   * `includeCurrent`, the current one first). A slow consumer skips to the newest state. Ends when the
   * watcher closes (with the error, if it failed).
   */
  changes(opts: { signal?: AbortSignal; includeCurrent?: boolean } = {}): AsyncIterableIterator<ConfigState<T>> {
    const ch: AsyncQueue<ConfigState<T>> = new AsyncQueue<ConfigState<T>>(() => this.subscribers.delete(ch), 'latest');
    if (this.failure) ch.fail(this.failure);
    else if (this.controller.signal.aborted) ch.end();
    else {
      this.subscribers.add(ch);
      if (opts.includeCurrent) ch.push(this.state);
      opts.signal?.addEventListener('abort', () => void ch.return(), { once: true });
    }
    return ch;
  }

  /** The current state, then every change (`for await (const state of config)`). */
  [Symbol.asyncIterator](): AsyncIterableIterator<ConfigState<T>> {
    return this.changes({ includeCurrent: true });
  }

  /** Stops following the prefix; iterations end. */
  close(): void {
    this.finish(undefined);
  }

  /** Closes the watcher. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  private follow(kv: KeySpace, entries: Map<string, KeyValue>, revision: bigint): void {
    const signal = anySignal([this.controller.signal, this.opts.signal]);
    const w = kv.watch('', { prefix: true, startRevision: revision + 1n, onCompacted: 'resync', signal });
    void (async () => {
      for await (const batch of w) {
        let at: bigint;
        if (batch.type === 'resync') {
          entries.clear();
          for (const e of batch.kvs) entries.set(e.keyString, e);
          at = batch.revision;
          this.emit('resync', at);
        } else if (batch.type === 'events' && batch.events.length > 0) {
          for (const e of batch.events) apply(entries, e);
          at = batch.events[batch.events.length - 1]!.kv.modRevision;
        } else continue;
        this.offer(snapshotOf(entries, at));
      }
    })().then(
      () => this.finish(undefined),
      (e: unknown) => this.finish(signal.aborted ? undefined : (e as Error)),
    );
  }

  private offer(snap: ConfigSnapshot): void {
    if (snap.revision <= this.state.revision) return;
    const v = evaluate(this.opts, snap);
    if (v instanceof InvalidConfigError) {
      this.opts.onInvalid?.(v, snap);
      this.emit('invalid', v, snap);
      return;
    }
    this.state = { value: v.ok, revision: snap.revision, snapshot: snap };
    for (const s of this.subscribers) s.push(this.state);
    this.emit('change', this.state);
  }

  private finish(err: Error | undefined): void {
    if (this.controller.signal.aborted && this.subscribers.size === 0) return;
    if (!this.controller.signal.aborted) this.controller.abort();
    if (err && !this.failure) {
      this.failure = err;
      this.emit('error', err);
    }
    for (const s of this.subscribers) err ? s.fail(err) : s.end();
    this.subscribers.clear();
  }
}

function apply(entries: Map<string, KeyValue>, e: WatchEvent): void {
  if (e.type === 'delete') entries.delete(e.kv.keyString);
  else entries.set(e.kv.keyString, e.kv);
}

function snapshotOf(entries: Map<string, KeyValue>, revision: bigint): ConfigSnapshot {
  const kvs = [...entries.values()].sort((a, b) =>
    a.keyString < b.keyString ? -1 : a.keyString > b.keyString ? 1 : 0,
  );
  return { revision, kvs, entries: new Map(kvs.map((kv) => [kv.keyString, kv.valueString])) };
}

function evaluate<T>(opts: ConfigWatcherOptions<T>, snap: ConfigSnapshot): { ok: T } | InvalidConfigError {
  try {
    const value = opts.parse(snap);
    const verdict = opts.validate?.(value, snap);
    if (verdict === false) return new InvalidConfigError(snap.revision, 'rejected by validate');
    if (typeof verdict === 'string') return new InvalidConfigError(snap.revision, verdict);
    return { ok: value };
  } catch (e) {
    return new InvalidConfigError(snap.revision, e);
  }
}
