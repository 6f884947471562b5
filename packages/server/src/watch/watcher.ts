// One watcher: a key or key range on one watch stream, the next revision it must receive
// (minRev), its options (filters, prev_kv, fragment, progress_notify) and where it stands in the
// watchable store: synced (receives live events), unsynced (catching up from history), victim
// (its stream is congested: it will catch up from history once the stream drains), or done
// (canceled, or ended by compaction). Also the one interface the hub sees of a watcher's stream.

import type { etcdserverpb, PartialMessage } from '@conclave/api';
import type { EventBytes } from './encode.js';

/**
 * What the hub sees of the stream a watcher belongs to (WatchStream implements it): where the
 * watcher's responses go, whether it takes more, and the lag events the stream counts for itself.
 */
export interface WatcherSink {
  /** False once the stream is congested and its queue is full: new events make the watcher a victim. */
  readonly accepting: boolean;
  /** The transport refused more and has not drained: catch-up waits (the stream tells the hub when it drains). */
  readonly congested: boolean;
  /** Queues an events response for `w`. */
  sendEvents(w: Watcher, header: Buffer, events: readonly EventBytes[]): void;
  /** Queues a control response (created, canceled, progress). */
  control(r: PartialMessage<etcdserverpb.WatchResponse>): void;
  /** `w` is behind: it catches up from history (created at a past revision, or the backend was restored). */
  behind(w: Watcher): void;
  /** `w` met a full queue: it waits for the stream to drain, then catches up from history. */
  stalled(w: Watcher): void;
  /** `w` caught up (or was canceled by compaction): it no longer lags. */
  caughtUp(w: Watcher): void;
}

export type WatcherState = 'synced' | 'unsynced' | 'victim' | 'done';

export class Watcher {
  state: WatcherState = 'unsynced';
  /** The lowest revision not yet sent: events at revision ≥ minRev are this watcher's to send. */
  minRev: number;
  /** No event was sent since the last progress tick (progress_notify). */
  progressIdle = true;
  /**
   * The start revision the client asked for (0: from the next one). Until the store reaches it, the
   * watcher's stream gets no progress notification (etcd 3.5.22+).
   */
  startRev = 0;

  constructor(
    readonly stream: WatcherSink,
    readonly id: bigint,
    /** First key, as a latin1 string of its bytes. */
    readonly key: string,
    /** Exclusive range end as a latin1 string; null = every key ≥ key. Ignored when `single`. */
    readonly end: string | null,
    /** Watches exactly `key`. */
    readonly single: boolean,
    startRev: number,
    readonly noPut: boolean,
    readonly noDelete: boolean,
    readonly prevKv: boolean,
    readonly fragment: boolean,
    readonly progressNotify: boolean,
  ) {
    this.minRev = startRev;
  }

  get filtered(): boolean {
    return this.noPut || this.noDelete;
  }

  /** True if `key` (latin1) is in this watcher's key or range. */
  covers(key: string): boolean {
    if (this.single) return key === this.key;
    return key >= this.key && (this.end === null || key < this.end);
  }
}
