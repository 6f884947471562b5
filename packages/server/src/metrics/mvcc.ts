// etcd's mvcc families (etcd_mvcc_*, etcd_debugging_mvcc_*): operation counts and compaction work the
// store counts (mvcc's MvccCounters), sizes and revisions of the store and backend, and the watch
// hub's watchers, streams and events, all read at scrape time.

import type { Registry } from 'prom-client';
import { type MvccCounters, newMvccCounters } from '../mvcc/index.js';
import { exponentialBuckets, histogram, scrapedCounter, scrapedGauge } from './scrape.js';

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

export function registerMvccFamilies(
  r: Registry,
  view: () => MvccView | null,
  watch: () => WatchView | null,
): { mvcc: MvccCounters; watch: WatchCounters } {
  const pauseIndex = histogram(
    r,
    'etcd_debugging_mvcc_index_compaction_pause_duration_milliseconds',
    'Bucketed histogram of index compaction pause duration.',
    exponentialBuckets(0.5, 2, 14),
  );
  const pauseDb = histogram(
    r,
    'etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds',
    'Bucketed histogram of db compaction pause duration.',
    exponentialBuckets(1, 2, 13),
  );
  const total = histogram(
    r,
    'etcd_debugging_mvcc_db_compaction_total_duration_milliseconds',
    'Bucketed histogram of db compaction total duration.',
    exponentialBuckets(100, 2, 14),
  );
  const hashRev = histogram(
    r,
    'etcd_mvcc_hash_rev_duration_seconds',
    'The latency distribution of storage hash by revision operation.',
    exponentialBuckets(0.01, 2, 15),
  );
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
  const ops: Array<[string, string, () => number]> = [
    ['range', 'ranges', () => c.range],
    ['put', 'puts', () => c.put],
    ['delete', 'deletes', () => c.delete],
    ['txn', 'txns', () => c.txn],
  ];
  for (const [op, what, read] of ops) {
    scrapedCounter(r, `etcd_mvcc_${op}_total`, `Total number of ${what} seen by this member.`, read);
    // etcd 3.4 also counts them under etcd_debugging_mvcc_* (3.5 keeps only range)
    scrapedCounter(r, `etcd_debugging_mvcc_${op}_total`, `Total number of ${what} seen by this member.`, read);
  }
  scrapedGauge(
    r,
    'etcd_debugging_mvcc_total_put_size_in_bytes',
    'The total size of put kv pairs seen by this member.',
    () => c.putBytes,
  );
  scrapedCounter(
    r,
    'etcd_debugging_mvcc_db_compaction_keys_total',
    'Total number of db keys compacted.',
    () => c.compactedKeys,
  );
  scrapedGauge(
    r,
    'etcd_debugging_mvcc_db_compaction_last',
    'The unix time of the last db compaction. Resets to 0 on start.',
    () => c.lastCompaction,
  );
  const v = (fn: (m: MvccView) => number) => (): number => {
    const m = view();
    return m ? fn(m) : 0;
  };
  scrapedGauge(
    r,
    'etcd_debugging_mvcc_keys_total',
    'Total number of keys.',
    v((m) => m.keyCount()),
  );
  scrapedGauge(
    r,
    'etcd_debugging_mvcc_current_revision',
    'The current revision of store.',
    v((m) => m.currentRevision()),
  );
  scrapedGauge(
    r,
    'etcd_debugging_mvcc_compact_revision',
    'The revision of the last compaction in store.',
    v((m) => Math.max(0, m.compactRevision())),
  );
  for (const prefix of ['etcd_mvcc', 'etcd_debugging_mvcc']) {
    scrapedGauge(
      r,
      `${prefix}_db_total_size_in_bytes`,
      'Total size of the underlying database physically allocated in bytes.',
      v((m) => m.dbSize()),
    );
  }
  scrapedGauge(
    r,
    'etcd_mvcc_db_total_size_in_use_in_bytes',
    'Total size of the underlying database logically in use in bytes.',
    v((m) => m.dbSizeInUse()),
  );
  scrapedGauge(
    r,
    'etcd_mvcc_db_open_read_transactions',
    'The number of currently open read transactions',
    v((m) => m.openReadTxns()),
  );
  const wv = (fn: (x: WatchView) => number) => (): number => {
    const x = watch();
    return x ? fn(x) : 0;
  };
  scrapedCounter(r, 'etcd_debugging_mvcc_events_total', 'Total number of events sent by this member.', () => w.events);
  scrapedGauge(
    r,
    'etcd_debugging_mvcc_watcher_total',
    'Total number of watchers.',
    wv((x) => x.watchers()),
  );
  scrapedGauge(
    r,
    'etcd_debugging_mvcc_slow_watcher_total',
    'Total number of unsynced slow watchers.',
    wv((x) => x.slowWatchers()),
  );
  scrapedGauge(
    r,
    'etcd_debugging_mvcc_watch_stream_total',
    'Total number of watch streams.',
    wv((x) => x.streams()),
  );
  scrapedGauge(
    r,
    'etcd_debugging_mvcc_pending_events_total',
    'Total number of pending events to be sent.',
    wv((x) => x.pendingEvents()),
  );
  return { mvcc: c, watch: w };
}
