// A watch handle: an async iterable of batches (`for await (const batch of watcher)`) or of single
// events (`watcher.events()`), with lifecycle (`created`, `revision`, events, `close()`).
//
// The watcher keeps `nextRevision`, the first revision it has not delivered: set from the creation
// response when no start revision was given, advanced past each delivered event and by progress
// notifications. When its stream is lost, the manager re-creates it on another connection starting
// at `nextRevision`, and events below it are dropped, so nothing is delivered twice or skipped.

import type { etcdserverpb, mvccpb, PartialMessage } from '@conclave/api';
import { onAbort } from '../util/abort.js';
import { AsyncQueue } from '../util/async-queue.js';
import { Emitter } from '../util/emitter.js';
import { keyValueFrom, type KeyValue } from '../kv/key-value.js';
import type { RangeResult } from '../kv/requests.js';
import type { CompactedError } from '../errors/etcd.js';
import type { ConclaveError } from '../errors/base.js';
import type { WatchBatch, WatchEvent, WatcherEvents } from './types.js';
import type { Telemetry } from '../telemetry/telemetry.js';

/** @hidden What a Watcher needs of the watch streams. */
export interface WatcherHost {
  add(w: Watcher): void;
  remove(w: Watcher): void;
  requestProgress(w: Watcher): void;
}

/**
 * A watch on a key or range, made by `watch()`: an async iterable of batches (`for await (const
 * batch of watcher)`) or of single events (`watcher.events()`), with lifecycle events. It resumes on
 * another endpoint after a failure without gaps or duplicates; `close()` (or the signal) ends it.
 *
 * ```ts
 * const w = client.watch('config/', { prefix: true, prevKv: true });
 * await w.created;
 * for await (const e of w.events()) console.log(e.type, e.kv.keyString, e.kv.valueString);
 * ```
 */
export class Watcher extends Emitter<WatcherEvents> implements AsyncIterable<WatchBatch> {
  /** @internal First revision not yet delivered (0n until the watch is first created without a start revision). */
  nextRevision: bigint;
  /** @internal The server's watch ID on the current stream. */
  serverId: bigint | undefined;
  /** @internal Fragments of a response split by the server, awaiting the last part. */
  fragments: mvccpb.Event[] = [];
  private readonly queue: AsyncQueue<WatchBatch>;
  private everCreated = false;
  private progressRequests = 0;
  private done = false;
  private detachSignal: (() => void) | undefined;
  private resolveCreated!: (rev: bigint) => void;
  private rejectCreated!: (e: unknown) => void;
  /** Resolves with the watch's starting point (the last revision it will not report) once it is first created. */
  readonly created: Promise<bigint>;

  /** @internal Watchers are made by `watch()`. */
  constructor(
    private readonly host: WatcherHost,
    /** The create request without start revision (key and range end already namespaced). */
    private readonly request: PartialMessage<etcdserverpb.WatchCreateRequest>,
    startRevision: bigint,
    private readonly prefixLength: number,
    private readonly progressNotify: boolean,
    private readonly onCompacted: 'error' | 'resync',
    private readonly relist: (() => Promise<RangeResult>) | undefined,
    signal: AbortSignal | undefined,
    private readonly telemetry?: Telemetry,
  ) {
    super();
    this.nextRevision = startRevision;
    this.queue = new AsyncQueue(() => this.close());
    this.created = new Promise<bigint>((res, rej) => {
      this.resolveCreated = res;
      this.rejectCreated = rej;
    });
    this.created.catch(() => undefined);
    if (signal) {
      if (signal.aborted) queueMicrotask(() => this.close());
      else {
        this.detachSignal = onAbort(signal, () => this.close());
      }
    }
  }

  /** The last revision whose changes have all been delivered (0n before creation). */
  get revision(): bigint {
    return this.nextRevision > 0n ? this.nextRevision - 1n : 0n;
  }

  get closed(): boolean {
    return this.done;
  }

  /** @internal The create request to send now: resumes at `nextRevision`. */
  createRequest(): PartialMessage<etcdserverpb.WatchCreateRequest> {
    return { ...this.request, startRevision: this.nextRevision };
  }

  /** Asks the server to report progress; answered with a `progress` batch once every watch on the stream is in sync. */
  requestProgress(): void {
    if (this.done) return;
    this.progressRequests++;
    this.host.requestProgress(this);
  }

  /** Stops the watch; the iteration ends after the batches already received. */
  close(): void {
    this.finish(undefined);
  }

  /** The batches of the watch, in revision order; ends when the watch is closed (or throws its error). */
  [Symbol.asyncIterator](): AsyncIterator<WatchBatch> {
    return this.queue;
  }

  /** Closes the watch (`await using w = client.watch(…)`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** The events of every batch, one at a time (progress and resync batches are skipped). */
  async *events(): AsyncGenerator<WatchEvent, void, undefined> {
    for await (const batch of this) {
      if (batch.type === 'events') yield* batch.events;
    }
  }

  // ---- called by the stream / manager ----

  /** @internal */
  onCreated(headerRevision: bigint, endpoint: string): void {
    if (this.done) return;
    if (this.nextRevision === 0n) this.nextRevision = headerRevision + 1n;
    if (!this.everCreated) {
      this.everCreated = true;
      this.resolveCreated(this.nextRevision - 1n);
      this.emit('created', this.nextRevision - 1n);
    } else this.emit('resumed', endpoint, this.nextRevision);
  }

  /** @internal */
  onEvents(events: mvccpb.Event[], headerRevision: bigint): void {
    if (this.done) return;
    const out: WatchEvent[] = [];
    for (const ev of events) {
      const kv = ev.kv;
      if (!kv || kv.modRevision < this.nextRevision) continue; // already delivered before a resume
      out.push({
        type: ev.type === 1 ? 'delete' : 'put',
        kv: keyValueFrom(kv, this.prefixLength),
        prevKv: ev.prevKv ? keyValueFrom(ev.prevKv, this.prefixLength) : undefined,
      });
    }
    if (out.length === 0) {
      if (events.length === 0) this.onProgress(headerRevision);
      return;
    }
    this.nextRevision = out[out.length - 1]!.kv.modRevision + 1n;
    // how far behind the store this batch is delivered
    if (this.telemetry?.measuring)
      this.telemetry.record('conclave.watch.lag', Number(headerRevision - this.nextRevision + 1n));
    this.queue.push({ type: 'events', revision: headerRevision, events: out });
  }

  /** @internal A progress notification: every change up to `headerRevision` has been sent. */
  onProgress(headerRevision: bigint): void {
    if (this.done) return;
    if (headerRevision + 1n > this.nextRevision) this.nextRevision = headerRevision + 1n;
    if (this.progressNotify || this.progressRequests > 0) {
      if (this.progressRequests > 0) this.progressRequests--;
      this.queue.push({ type: 'progress', revision: headerRevision });
    }
  }

  /** @internal The stream carrying the watch was lost; it will be resumed. */
  onDisconnected(err: Error): void {
    this.serverId = undefined;
    this.fragments = [];
    if (!this.done) this.emit('disconnected', err);
  }

  /** @internal The server canceled the watch because its start revision was compacted. */
  onCompactedCancel(compactRevision: bigint, err: CompactedError): void {
    if (this.done) return;
    this.serverId = undefined;
    this.fragments = [];
    if (this.onCompacted !== 'resync' || !this.relist) {
      err.compactRevision = compactRevision;
      this.fail(err);
      return;
    }
    this.host.remove(this);
    this.relist().then(
      (r) => {
        if (this.done) return;
        this.queue.push({ type: 'resync', revision: r.revision, kvs: r.kvs as KeyValue[] });
        this.nextRevision = r.revision + 1n;
        this.host.add(this);
      },
      (e: unknown) => this.fail(e as ConclaveError),
    );
  }

  /** @internal Ends the watch with an error. */
  fail(err: Error): void {
    this.finish(err);
  }

  private finish(err: Error | undefined): void {
    if (this.done) return;
    this.done = true;
    this.detachSignal?.();
    this.host.remove(this);
    if (err) {
      this.queue.fail(err);
      this.rejectCreated(err);
    } else {
      this.queue.end();
      this.rejectCreated(new Error('watch closed before it was created'));
    }
    this.emit('closed', err);
  }
}
