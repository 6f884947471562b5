// Public types of watches.

import type { RangeSpec } from '../util/bytes.js';
import type { KeyValue } from '../kv/key-value.js';

export interface WatchOptions extends RangeSpec {
  /** First revision to report (default: changes after the watch is created). */
  startRevision?: bigint | number;
  /** Include each event's previous key-value (`prevKv`). */
  prevKv?: boolean;
  /** Event types to leave out. */
  filters?: ('noPut' | 'noDelete')[];
  /** Ask the server for periodic progress notifications; they are yielded as `progress` batches. */
  progressNotify?: boolean;
  /** Closes the watch: the iteration ends. */
  signal?: AbortSignal;
  /**
   * What to do when the revision to (re)start from has been compacted: `error` (default) ends the
   * iteration with CompactedError (its `compactRevision` says where history begins); `resync` reads
   * the watched range again, yields it as a `resync` batch, and continues watching after it.
   */
  onCompacted?: 'error' | 'resync';
}

/** One change of a watched key. */
export interface WatchEvent {
  type: 'put' | 'delete';
  /** The key-value after the event (for a delete: the key, empty value, modRevision = the deletion's revision). */
  kv: KeyValue;
  /** The key-value before the event, when the watch asked for `prevKv` and there was one. */
  prevKv: KeyValue | undefined;
}

/**
 * What a watch yields: events, a progress notification, or (after compaction, with `onCompacted: 'resync'`) the
 * whole range again.
 */
export type WatchBatch =
  /** Events of one or more revisions, in revision order; `revision` is the store revision when they were sent. */
  | { type: 'events'; revision: bigint; events: WatchEvent[] }
  /** Every change up to `revision` has been delivered. */
  | { type: 'progress'; revision: bigint }
  /** After compaction with `onCompacted: 'resync'`: the range's full contents at `revision`; events continue after it. */
  | { type: 'resync'; revision: bigint; kvs: KeyValue[] };

/** The lifecycle events of a Watcher (`watcher.on('created', …)`). */
export interface WatcherEvents {
  /** The watch was first created on a server; `revision` is the last revision it will not report. */
  created: [revision: bigint];
  /** The stream carrying the watch failed; it will be resumed. */
  disconnected: [error: Error];
  /** The watch was re-created after a disconnection, starting at `revision`. */
  resumed: [endpoint: string, revision: bigint];
  /** The watch ended (closed, aborted, client closed, or failed with `error`). */
  closed: [error: Error | undefined];
}
