// The watchable store (etcd's mvcc.watchableStore) of one member: every watcher of every stream,
// in a synced group (fed live from the MVCC store's commit events) or an unsynced group (catching
// up from the stored history in bounded rounds, up to 512 watchers and 10,000 events a round, each
// watcher receiving at most 1,000 revisions per response; a round reads at most 4 MiB of history
// (beyond the 2 MiB at which a fragmenting watcher's response is split) and hands at most 8 MiB to
// streams, then yields the event loop). A watcher whose stream is congested becomes a victim, or
// (catching up) waits, until the stream drains, so a slow or catching-up watcher never delays the
// others or unary calls, and memory stays bounded. A watcher whose next revision was compacted away
// is canceled with the compaction revision. The hub sees each watcher's stream only as a
// WatcherSink (watcher.ts): it hands it responses and tells it when a watcher lags or catches up;
// the stream keeps its own counts.

import type { etcdserverpb, PartialMessage } from '@conclave/api';
import { eventSize, type MvccEvent, type MvccStore } from '../mvcc/index.js';
import type { Backend } from '../storage/backend/index.js';
import { EventBytes, encodeHeaderField } from './encode.js';
import type { Watcher } from './watcher.js';
import { WatcherGroup } from './watcher-group.js';

/** etcd's maxWatchersPerSync. */
const MAX_WATCHERS_PER_SYNC = 512;
/** etcd's watchBatchMaxRevs: revisions per catch-up response. */
const MAX_REVS_PER_BATCH = 1000;
/** Events read from history per catch-up round (etcd reads everything at once). */
const SYNC_EVENT_LIMIT = 10_000;
/**
 * Key and value bytes read from history per catch-up round, and bytes of events handed to streams
 * per round: a round's work (read, encode, copy into each stream's buffer) takes a few milliseconds
 * whatever the values' sizes, and the event loop serves other requests between rounds.
 */
const SYNC_BYTE_LIMIT = 4 << 20;
const ROUND_SEND_LIMIT = 8 << 20;

export interface WatchHubOptions {
  store: MvccStore;
  backend: Backend;
  /** Response header fields, read when a response is built. */
  clusterId(): bigint;
  memberId(): bigint;
  term(): number;
  /** Where events sent to watchers are counted (etcd_debugging_mvcc_events_total). */
  counters?: { events: number };
}

interface Batch {
  events: EventBytes[];
  revs: number;
  lastRev: number;
  /** First revision left out (the batch reached MAX_REVS_PER_BATCH); 0 = none. */
  moreRev: number;
}

export class WatchHub {
  private readonly synced = new WatcherGroup();
  private readonly unsynced = new WatcherGroup();
  private syncScheduled = false;
  private closed = false;
  private hdrRev = -1;
  private hdrTerm = -1;
  private hdrCluster = -1n;
  private hdrField: Buffer = Buffer.alloc(0);
  private readonly unsubscribe: Array<() => void> = [];

  constructor(private readonly o: WatchHubOptions) {
    this.unsubscribe.push(
      o.store.onCommit((rev, events) => this.notify(rev, events)),
      o.backend.onReplace((reason) => {
        if (reason === 'restore') this.restore();
      }),
    );
  }

  get currentRevision(): number {
    return this.o.store.currentRevision;
  }

  /** Number of watchers (synced, unsynced); victims are counted by their streams. */
  get counts(): { synced: number; unsynced: number } {
    return { synced: this.synced.size, unsynced: this.unsynced.size };
  }

  header(revision: number): PartialMessage<etcdserverpb.ResponseHeader> {
    return { clusterId: this.o.clusterId(), memberId: this.o.memberId(), revision, raftTerm: this.o.term() };
  }

  /** The encoded header field at `rev` (cached: every watcher of a revision shares it). */
  headerField(rev: number): Buffer {
    const term = this.o.term();
    const cluster = this.o.clusterId();
    if (rev !== this.hdrRev || term !== this.hdrTerm || cluster !== this.hdrCluster) {
      this.hdrField = encodeHeaderField({
        clusterId: cluster,
        memberId: this.o.memberId(),
        revision: rev,
        raftTerm: term,
      });
      this.hdrRev = rev;
      this.hdrTerm = term;
      this.hdrCluster = cluster;
    }
    return this.hdrField;
  }

  /** Registers a new watcher: synced if it starts after the current revision, else it catches up. */
  add(w: Watcher): void {
    if (this.closed) return;
    if (w.minRev > this.currentRevision) {
      w.state = 'synced';
      this.synced.add(w);
      return;
    }
    w.state = 'unsynced';
    w.stream.behind(w);
    this.unsynced.add(w);
    this.scheduleSync();
  }

  /** Forgets `w` (canceled, or its stream ended); its stream settles its own counts. */
  remove(w: Watcher): void {
    if (w.state === 'synced') this.synced.delete(w);
    else if (w.state === 'unsynced') this.unsynced.delete(w);
    w.state = 'done';
  }

  /**
   * A congested stream drained: its victims rejoin the synced group (state "synced") if nothing
   * was committed for them meanwhile, else they catch up from history (state "unsynced").
   */
  resume(victims: readonly Watcher[]): void {
    const cur = this.currentRevision;
    for (const w of victims) {
      if (w.minRev > cur) {
        w.state = 'synced';
        this.synced.add(w);
      } else {
        w.state = 'unsynced';
        this.unsynced.add(w);
      }
    }
    if (this.unsynced.size > 0) this.scheduleSync();
  }

  close(): void {
    this.closed = true;
    for (const u of this.unsubscribe.splice(0)) u();
  }

  /** Live fan-out of one committed transaction to the synced watchers. */
  private notify(rev: number, events: readonly MvccEvent[]): void {
    if (this.synced.size === 0 || this.closed) return;
    let batches: Map<Watcher, EventBytes[]> | null = null;
    for (const ev of events) {
      const key = ev.kv.key.toString('latin1');
      const isPut = ev.type === 'put';
      let eb: EventBytes | null = null;
      this.synced.forEachWatching(key, (w) => {
        if (rev < w.minRev || (isPut ? w.noPut : w.noDelete)) return;
        eb ??= new EventBytes(ev);
        batches ??= new Map();
        const b = batches.get(w);
        if (b) b.push(eb);
        else batches.set(w, [eb]);
      });
    }
    if (batches === null) return;
    const hdr = this.headerField(rev);
    for (const [w, evs] of batches as Map<Watcher, EventBytes[]>) {
      const s = w.stream;
      if (!s.accepting) {
        // The stream's queue is full: the watcher resumes from history (at `rev`) once it drains.
        this.synced.delete(w);
        w.state = 'victim';
        w.minRev = rev;
        s.stalled(w);
        continue;
      }
      if (w.prevKv) this.lookupPrev(evs);
      s.sendEvents(w, hdr, evs);
      if (this.o.counters) this.o.counters.events += evs.length;
      w.minRev = rev + 1;
    }
  }

  /** etcd sends prev_kv as the key's value at mod_revision - 1 (none for creations or if compacted). */
  private lookupPrev(evs: readonly EventBytes[]): void {
    for (const e of evs) {
      if (e.prev !== undefined) continue;
      if (e.isCreate || e.rev <= 1) {
        e.prev = null;
        continue;
      }
      if (e.ev.prevKv) {
        e.prev = e.ev.prevKv;
        continue;
      }
      try {
        e.prev = this.o.store.range(e.ev.kv.key, null, { rev: e.rev - 1 }).kvs[0] ?? null;
      } catch {
        e.prev = null;
      }
    }
  }

  private scheduleSync(): void {
    if (this.syncScheduled || this.closed) return;
    this.syncScheduled = true;
    setImmediate(() => this.sync());
  }

  /** One catch-up round. */
  private sync(): void {
    this.syncScheduled = false;
    if (this.closed || this.unsynced.size === 0) return;
    const store = this.o.store;
    const cur = store.currentRevision;
    const compactRev = store.compactRevision;
    const active: Watcher[] = [];
    let minRev = Number.POSITIVE_INFINITY;
    let chosen = 0;
    // Another round follows only if this one can make progress; watchers waiting for their stream
    // to drain are rescheduled by resume() when it does.
    let again = false;
    for (const w of [...this.unsynced.watchers]) {
      if (chosen >= MAX_WATCHERS_PER_SYNC) {
        again = true;
        break;
      }
      if (!w.stream.accepting || (w.stream.congested && w.minRev <= cur && w.minRev >= compactRev)) continue;
      chosen++;
      if (w.minRev > cur) {
        this.toSynced(w);
      } else if (w.minRev < compactRev) {
        this.compacted(w, compactRev);
      } else {
        active.push(w);
        if (w.minRev < minRev) minRev = w.minRev;
      }
    }
    if (active.length > 0) {
      this.catchUp(active, minRev, cur);
      again = true;
    }
    if (again && this.unsynced.size > 0) this.scheduleSync();
  }

  private catchUp(active: Watcher[], minRev: number, cur: number): void {
    const events = this.o.store.history(minRev, cur, { limit: SYNC_EVENT_LIMIT, limitBytes: SYNC_BYTE_LIMIT });
    let read = 0;
    for (const ev of events) read += eventSize(ev);
    const cut = events.length >= SYNC_EVENT_LIMIT || read >= SYNC_BYTE_LIMIT;
    const readTo = cut ? events[events.length - 1]!.kv.modRevision : cur;
    let group = this.unsynced;
    if (active.length !== this.unsynced.size) {
      group = new WatcherGroup();
      for (const w of active) group.add(w);
    }
    const batches = new Map<Watcher, Batch>();
    for (const ev of events) {
      const key = ev.kv.key.toString('latin1');
      const rev = ev.kv.modRevision;
      const isPut = ev.type === 'put';
      let eb: EventBytes | null = null;
      group.forEachWatching(key, (w) => {
        if (rev < w.minRev) return;
        let b = batches.get(w);
        if (!b) batches.set(w, (b = { events: [], revs: 0, lastRev: 0, moreRev: 0 }));
        if (b.moreRev !== 0) return;
        if (rev !== b.lastRev) {
          if (b.revs === MAX_REVS_PER_BATCH) {
            b.moreRev = rev;
            return;
          }
          b.revs++;
          b.lastRev = rev;
        }
        if (isPut ? w.noPut : w.noDelete) return;
        b.events.push((eb ??= new EventBytes(ev)));
      });
    }
    const hdr = this.headerField(cur);
    let sent = 0;
    for (const w of active) {
      // Past the round's budget the rest wait for the next round, first in line.
      if (sent >= ROUND_SEND_LIMIT) break;
      const b = batches.get(w);
      if (b && b.events.length > 0) {
        if (w.prevKv) this.lookupPrev(b.events);
        w.stream.sendEvents(w, hdr, b.events);
        if (this.o.counters) this.o.counters.events += b.events.length;
        for (const e of b.events) sent += eventSize(e.ev);
      }
      w.minRev = b && b.moreRev !== 0 ? b.moreRev : readTo + 1;
      if (w.minRev > cur) {
        this.toSynced(w);
      } else {
        // Still behind: go to the back of the line so every lagging watcher gets its turn.
        this.unsynced.watchers.delete(w);
        this.unsynced.watchers.add(w);
      }
    }
  }

  private toSynced(w: Watcher): void {
    this.unsynced.delete(w);
    w.state = 'synced';
    this.synced.add(w);
    w.stream.caughtUp(w);
  }

  /** The watcher's next revision was compacted: canceled with the compaction revision (etcd: no reason text). */
  private compacted(w: Watcher, compactRev: number): void {
    this.unsynced.delete(w);
    w.state = 'done';
    w.stream.control({ header: this.header(0), watchId: w.id, canceled: true, compactRevision: compactRev });
    w.stream.caughtUp(w);
  }

  /** The backend was restored from a snapshot: every synced watcher re-checks against history. */
  private restore(): void {
    for (const w of [...this.synced.watchers]) {
      this.synced.delete(w);
      w.state = 'unsynced';
      w.stream.behind(w);
      this.unsynced.add(w);
    }
    this.scheduleSync();
  }
}
