// etcd's mvcc families (etcd_mvcc_*, etcd_debugging_mvcc_*): operation counts and compaction work the
// store counts (mvcc's MvccCounters), sizes and revisions of the store and backend, and the watch
// hub's watchers, streams and events, all read at scrape time.

import type { Registry } from 'prom-client';
import { type MvccCounters, newMvccCounters } from '../mvcc/index.js';
import { exponentialBuckets, families } from './scrape.js';

export interface MvccView {
  keyCount(): number;
  currentRevision(): number;
  compactRevision(): number;
  dbSize(): number;
  dbSizeInUse(): number;
  /** Read transactions open on the backend (LMDB readers in use). */
  openReadTxns(): number;
}

/** The watch side: registered by the Watch service once it exists. */
export interface WatchView {
  /** Watchers on this member (synced, catching up or waiting for a congested stream). */
  watchers(): number;
  /** Watchers not synced (etcd's slow watchers). */
  slowWatchers(): number;
  streams(): number;
  /** Events queued on streams and not sent yet. */
  pendingEvents(): number;
}

/** Counts the watch side bumps. */
export interface WatchCounters {
  /** Events sent to watchers. */
  events: number;
}

const HELP = {
  etcd_debugging_mvcc_index_compaction_pause_duration_milliseconds:
    'Bucketed histogram of index compaction pause duration.',
  etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds: 'Bucketed histogram of db compaction pause duration.',
  etcd_debugging_mvcc_db_compaction_total_duration_milliseconds: 'Bucketed histogram of db compaction total duration.',
  etcd_mvcc_hash_rev_duration_seconds: 'The latency distribution of storage hash by revision operation.',
  // etcd 3.4 also counts the operations under etcd_debugging_mvcc_* (3.5 keeps only range)
  etcd_mvcc_range_total: 'Total number of ranges seen by this member.',
  etcd_debugging_mvcc_range_total: 'Total number of ranges seen by this member.',
  etcd_mvcc_put_total: 'Total number of puts seen by this member.',
  etcd_debugging_mvcc_put_total: 'Total number of puts seen by this member.',
  etcd_mvcc_delete_total: 'Total number of deletes seen by this member.',
  etcd_debugging_mvcc_delete_total: 'Total number of deletes seen by this member.',
  etcd_mvcc_txn_total: 'Total number of txns seen by this member.',
  etcd_debugging_mvcc_txn_total: 'Total number of txns seen by this member.',
  etcd_debugging_mvcc_total_put_size_in_bytes: 'The total size of put kv pairs seen by this member.',
  etcd_debugging_mvcc_db_compaction_keys_total: 'Total number of db keys compacted.',
  etcd_debugging_mvcc_db_compaction_last: 'The unix time of the last db compaction. Resets to 0 on start.',
  etcd_debugging_mvcc_keys_total: 'Total number of keys.',
  etcd_debugging_mvcc_current_revision: 'The current revision of store.',
  etcd_debugging_mvcc_compact_revision: 'The revision of the last compaction in store.',
  etcd_mvcc_db_total_size_in_bytes: 'Total size of the underlying database physically allocated in bytes.',
  etcd_debugging_mvcc_db_total_size_in_bytes: 'Total size of the underlying database physically allocated in bytes.',
  etcd_mvcc_db_total_size_in_use_in_bytes: 'Total size of the underlying database logically in use in bytes.',
  etcd_mvcc_db_open_read_transactions: 'The number of currently open read transactions',
  etcd_debugging_mvcc_events_total: 'Total number of events sent by this member.',
  etcd_debugging_mvcc_watcher_total: 'Total number of watchers.',
  etcd_debugging_mvcc_slow_watcher_total: 'Total number of unsynced slow watchers.',
  etcd_debugging_mvcc_watch_stream_total: 'Total number of watch streams.',
  etcd_debugging_mvcc_pending_events_total: 'Total number of pending events to be sent.',
} as const;

export function registerMvccFamilies(
  r: Registry,
  view: () => MvccView | null,
  watch: () => WatchView | null,
): { mvcc: MvccCounters; watch: WatchCounters } {
  const f = families(r, HELP);
  const pauseIndex = f.histogram(
    'etcd_debugging_mvcc_index_compaction_pause_duration_milliseconds',
    exponentialBuckets(0.5, 2, 14),
  );
  const pauseDb = f.histogram(
    'etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds',
    exponentialBuckets(1, 2, 13),
  );
  const total = f.histogram(
    'etcd_debugging_mvcc_db_compaction_total_duration_milliseconds',
    exponentialBuckets(100, 2, 14),
  );
  const hashRev = f.histogram('etcd_mvcc_hash_rev_duration_seconds', exponentialBuckets(0.01, 2, 15));
  const c: MvccCounters = {
    ...newMvccCounters(),
    compaction: {
      indexPauseMs: (ms) => pauseIndex.observe(ms),
      dbPauseMs: (ms) => pauseDb.observe(ms),
      totalMs: (ms) => total.observe(ms),
    },
    hashSeconds: (s) => hashRev.observe(s),
  };
  const w: WatchCounters = { events: 0 };
  f.counter('etcd_mvcc_range_total', () => c.range);
  f.counter('etcd_debugging_mvcc_range_total', () => c.range);
  f.counter('etcd_mvcc_put_total', () => c.put);
  f.counter('etcd_debugging_mvcc_put_total', () => c.put);
  f.counter('etcd_mvcc_delete_total', () => c.delete);
  f.counter('etcd_debugging_mvcc_delete_total', () => c.delete);
  f.counter('etcd_mvcc_txn_total', () => c.txn);
  f.counter('etcd_debugging_mvcc_txn_total', () => c.txn);
  f.gauge('etcd_debugging_mvcc_total_put_size_in_bytes', () => c.putBytes);
  f.counter('etcd_debugging_mvcc_db_compaction_keys_total', () => c.compactedKeys);
  f.gauge('etcd_debugging_mvcc_db_compaction_last', () => c.lastCompaction);
  f.gauge('etcd_debugging_mvcc_keys_total', () => view()?.keyCount() ?? 0);
  f.gauge('etcd_debugging_mvcc_current_revision', () => view()?.currentRevision() ?? 0);
  f.gauge('etcd_debugging_mvcc_compact_revision', () => Math.max(0, view()?.compactRevision() ?? 0));
  f.gauge('etcd_mvcc_db_total_size_in_bytes', () => view()?.dbSize() ?? 0);
  f.gauge('etcd_debugging_mvcc_db_total_size_in_bytes', () => view()?.dbSize() ?? 0);
  f.gauge('etcd_mvcc_db_total_size_in_use_in_bytes', () => view()?.dbSizeInUse() ?? 0);
  f.gauge('etcd_mvcc_db_open_read_transactions', () => view()?.openReadTxns() ?? 0);
  f.counter('etcd_debugging_mvcc_events_total', () => w.events);
  f.gauge('etcd_debugging_mvcc_watcher_total', () => watch()?.watchers() ?? 0);
  f.gauge('etcd_debugging_mvcc_slow_watcher_total', () => watch()?.slowWatchers() ?? 0);
  f.gauge('etcd_debugging_mvcc_watch_stream_total', () => watch()?.streams() ?? 0);
  f.gauge('etcd_debugging_mvcc_pending_events_total', () => watch()?.pendingEvents() ?? 0);
  return { mvcc: c, watch: w };
}
