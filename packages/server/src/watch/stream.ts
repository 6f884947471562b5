// One client watch stream (etcd's serverWatchStream + mvcc.watchStream): the watchers created on
// it by ID, the responses queued for the transport, congestion tracking (a bounded number of
// responses may be queued while the transport is congested; past that the stream stops accepting
// and its watchers become victims), progress requests and periodic progress notifications. It is
// each of its watchers' WatcherSink, and counts for itself which of them lag.
//
// Progress as etcd 3.5.30 sends it (the guarantees kube-apiserver relies on for consistent reads
// from its watch cache, 3.4.31+ / 3.5.13+): a notification travels in order with the events, and
// its revision R promises that every event ≤ R of the watchers it speaks for was sent before it. A
// requested one (watch ID -1) speaks for the whole stream, so it is sent only when every watcher of
// the stream is synced and has reached its start revision; otherwise the request is dropped (the
// client asks again), and a stream without watchers gets nothing. A periodic one (progress_notify,
// the watcher's own ID) follows the same rule for its watcher.

import { etcdserverpb, type PartialMessage } from '@conclave/api';
import { controlResponse, eventResponseSize, writeEventResponse, type EventBytes } from './encode.js';
import { Watcher, type WatcherSink } from './watcher.js';

/** Responses a stream may queue while its transport is congested (etcd's chanBufLen). */
export const MAX_QUEUED_RESPONSES = 128;
/** etcd's minimum progress notify interval. */
export const MIN_PROGRESS_INTERVAL_MS = 100;

export const ERR_DUPLICATE_ID = 'mvcc: duplicate watch ID provided on the WatchStream';
export const ERR_EMPTY_RANGE = 'mvcc: watcher range is empty';
/** etcd 3.5.24+ refuses a negative start revision with the compaction error's text. */
export const ERR_NEGATIVE_START = 'etcdserver: mvcc: required revision has been compacted';

/** Where a stream's responses go: complete gRPC messages, possibly several concatenated. */
export interface WatchSink {
  /** Writes the messages; false when the transport is congested. */
  write(frames: Buffer): boolean;
  /** Calls `cb` once the transport has drained (after a write returned false). */
  onDrain(cb: () => void): void;
}

/** What a stream needs of the member's watchable store (WatchHub implements it). */
export interface WatchRegistry {
  readonly currentRevision: number;
  header(revision: number): PartialMessage<etcdserverpb.ResponseHeader>;
  /** Registers a new watcher (it reports whether it lags through its sink). */
  add(w: Watcher): void;
  /** Forgets a watcher. */
  remove(w: Watcher): void;
  /** The stream drained: its victims (in state "victim") become synced or unsynced. */
  resume(victims: readonly Watcher[]): void;
}

export interface WatchStreamOptions {
  /** Progress notification interval in ms (a tenth of it is added as jitter, as etcd does). */
  progressIntervalMs: number;
  /** Responses of fragmenting watchers are split above this size (etcd: max request bytes + 512 KiB). */
  fragmentBytes: number;
}

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** An events response waiting for the next flush (assembled then, straight into the write buffer). */
interface PendingEvents {
  header: Buffer;
  watchId: bigint;
  frames: Buffer[];
  fragment: boolean;
  /** Body size (without the 5-byte gRPC prefix). */
  body: number;
}

export class WatchStream implements WatcherSink {
  readonly watchers = new Map<bigint, Watcher>();
  /** Watchers waiting for this stream to drain. */
  private readonly victimSet = new Set<Watcher>();
  /** Watchers of this stream that are not synced (unsynced or victims). */
  private laggingCount = 0;
  closed = false;
  private nextId = 0n;
  /** Queued responses: complete gRPC messages (control) or events responses to assemble. */
  private out: Array<Buffer | PendingEvents> = [];
  private outBytes = 0;
  private flushScheduled = false;
  /** The transport refused more (a write returned false) and has not drained yet. */
  congested = false;
  private queued = 0;
  private readonly progressWatchers = new Set<Watcher>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly hub: WatchRegistry,
    private readonly sink: WatchSink,
    private readonly o: WatchStreamOptions,
  ) {}

  /** Watchers of this stream that are not synced (unsynced or victims): etcd's slow watchers. */
  get lagging(): number {
    return this.laggingCount;
  }

  /** Watchers waiting for this stream to drain. */
  get victims(): ReadonlySet<Watcher> {
    return this.victimSet;
  }

  /** Events queued on this stream and not sent yet (etcd_debugging_mvcc_pending_events_total). */
  get pendingEvents(): number {
    let n = 0;
    for (const o of this.out) if (!Buffer.isBuffer(o)) n += o.frames.length;
    return n;
  }

  /** False once the transport is congested and the queue is full: new events make victims. */
  get accepting(): boolean {
    return !this.congested || this.queued < MAX_QUEUED_RESPONSES;
  }

  /**
   * WatchCreateRequest. `denied`: the verdict of the caller's permission check (etcd's
   * isWatchPermitted), null to allow or the cancel reason (e.g. "etcdserver: permission denied")
   * to refuse it with watch ID -1.
   */
  create(req: etcdserverpb.WatchCreateRequest, denied: string | null = null): void {
    if (this.closed) return;
    const rev = this.hub.currentRevision;
    if (req.startRevision < 0n) {
      this.control({
        header: this.hub.header(rev),
        watchId: -1,
        created: true,
        canceled: true,
        cancelReason: ERR_NEGATIVE_START,
      });
      return;
    }
    if (denied !== null) {
      this.control({ header: this.hub.header(rev), watchId: -1, created: true, canceled: true, cancelReason: denied });
      return;
    }
    // An empty key is the smallest key, "\0"; range_end "\0" means every key ≥ key.
    const key = req.key.length === 0 ? '\0' : latin1(req.key);
    const single = req.rangeEnd.length === 0;
    const end = single || (req.rangeEnd.length === 1 && req.rangeEnd[0] === 0) ? null : latin1(req.rangeEnd);
    let err: string | null = null;
    let id = req.watchId;
    if (end !== null && key >= end) err = ERR_EMPTY_RANGE;
    else if (id === 0n) {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watchers.has(id)) err = ERR_DUPLICATE_ID;
    if (err !== null) {
      this.control({ header: this.hub.header(rev), watchId: -1, created: true, canceled: true, cancelReason: err });
      return;
    }
    const startRev = req.startRevision === 0n ? rev + 1 : Number(req.startRevision);
    const F = etcdserverpb.WatchCreateRequest_FilterType;
    const w = new Watcher(
      this,
      id,
      key,
      end,
      single,
      startRev,
      req.filters.includes(F.NOPUT),
      req.filters.includes(F.NODELETE),
      req.prevKv,
      req.fragment,
      req.progressNotify,
    );
    w.startRev = Number(req.startRevision);
    this.watchers.set(id, w);
    // The created response goes out before anything the watcher can receive.
    this.control({ header: this.hub.header(rev), watchId: id, created: true });
    this.hub.add(w);
    if (w.progressNotify) {
      this.progressWatchers.add(w);
      this.startProgressTimer();
    }
  }

  /** WatchCancelRequest: an unknown ID is ignored (no response), as in etcd. */
  cancel(id: bigint): void {
    const w = this.watchers.get(id);
    if (!w || this.closed) return;
    this.watchers.delete(id);
    this.progressWatchers.delete(w);
    this.forget(w);
    this.control({ header: this.hub.header(this.hub.currentRevision), watchId: id, canceled: true });
  }

  /**
   * WatchProgressRequest: answered with watch ID -1 and the current revision when every watcher of
   * the stream is synced and at its start revision (so the client has every event up to that
   * revision); dropped otherwise, and on a stream without watchers, as etcd 3.5.30 does.
   */
  requestProgress(): void {
    if (this.closed || this.watchers.size === 0 || this.laggingCount > 0) return;
    const rev = this.hub.currentRevision;
    for (const w of this.watchers.values()) if (rev < w.startRev) return;
    this.control({ header: this.hub.header(rev), watchId: -1 });
  }

  /** The stream ended: every watcher goes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const w of this.watchers.values()) this.forget(w);
    this.watchers.clear();
    this.progressWatchers.clear();
    this.victimSet.clear();
    this.out = [];
    this.outBytes = 0;
  }

  // ---- the WatcherSink, called by the hub ----

  /** Queues an events response for `w` (fragmented if it asked for it and the response is large). */
  sendEvents(w: Watcher, header: Buffer, events: readonly EventBytes[]): void {
    const frames = events.map((e) => (w.prevKv ? e.framedWithPrev() : e.framed()));
    w.progressIdle = false;
    let total = 0;
    for (const f of frames) total += f.length;
    const body = eventResponseSize(header, w.id, total, false);
    if (!w.fragment || frames.length < 2 || body < this.o.fragmentBytes) {
      this.push({ header, watchId: w.id, frames, fragment: false, body });
      return;
    }
    // etcd's sendFragments: fill each part until it reaches the limit (at least one event each).
    let i = 0;
    while (i < frames.length) {
      const part: Buffer[] = [];
      let size = 0;
      for (; i < frames.length; i++) {
        const f = frames[i]!;
        if (part.length > 0 && eventResponseSize(header, w.id, size + f.length, true) >= this.o.fragmentBytes) break;
        part.push(f);
        size += f.length;
      }
      const fragment = i < frames.length;
      this.push({
        header,
        watchId: w.id,
        frames: part,
        fragment,
        body: eventResponseSize(header, w.id, size, fragment),
      });
    }
  }

  /** Queues a control response (never subject to the queue bound) and flushes soon. */
  control(r: PartialMessage<etcdserverpb.WatchResponse>): void {
    this.push(controlResponse(r));
  }

  behind(_w: Watcher): void {
    this.laggingCount++;
  }

  stalled(w: Watcher): void {
    this.victimSet.add(w);
    this.laggingCount++;
  }

  caughtUp(_w: Watcher): void {
    this.laggingCount--;
  }

  // ---- internals ----

  /** Takes `w` out of the hub, and out of this stream's lag counts if it lagged. */
  private forget(w: Watcher): void {
    const lagged = w.state === 'unsynced' || w.state === 'victim';
    this.victimSet.delete(w);
    this.hub.remove(w);
    if (lagged) this.laggingCount--;
  }

  /** The transport drained: victims go back to the hub (those that rejoin the synced group no longer lag). */
  private drained(): void {
    const victims = [...this.victimSet];
    this.victimSet.clear();
    this.hub.resume(victims);
    for (const w of victims) if (w.state === 'synced') this.laggingCount--;
  }

  private push(r: Buffer | PendingEvents): void {
    if (this.closed) return;
    this.out.push(r);
    this.outBytes += Buffer.isBuffer(r) ? r.length : 5 + r.body;
    if (this.congested) this.queued++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.out.length === 0) return;
    const out = this.out;
    const first = out[0]!;
    let buf: Buffer;
    if (out.length === 1 && Buffer.isBuffer(first)) {
      buf = first;
    } else {
      // One buffer per flush, every response copied into it once.
      buf = Buffer.allocUnsafe(this.outBytes);
      let p = 0;
      for (const r of out) {
        if (Buffer.isBuffer(r)) {
          buf.set(r, p);
          p += r.length;
        } else {
          p = writeEventResponse(buf, p, r.header, r.watchId, r.frames, r.fragment, r.body);
        }
      }
    }
    this.out = [];
    this.outBytes = 0;
    const ok = this.sink.write(buf);
    if (!ok && !this.congested) {
      this.congested = true;
      this.sink.onDrain(() => {
        this.congested = false;
        this.queued = 0;
        if (!this.closed) this.drained();
      });
    }
  }

  private startProgressTimer(): void {
    if (this.timer) return;
    const base = Math.max(this.o.progressIntervalMs, MIN_PROGRESS_INTERVAL_MS);
    this.timer = setInterval(() => this.progressTick(), base + Math.floor(Math.random() * (base / 10)));
    this.timer.unref();
  }

  /** Every interval: a progress notification to each progress_notify watcher that got no event since the last. */
  private progressTick(): void {
    if (this.closed) return;
    const rev = this.hub.currentRevision;
    for (const w of this.progressWatchers) {
      if (w.progressIdle && w.state === 'synced' && rev >= w.startRev && this.accepting) {
        this.control({ header: this.hub.header(rev), watchId: w.id });
      }
      w.progressIdle = true;
    }
  }
}
