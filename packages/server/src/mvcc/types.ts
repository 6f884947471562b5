// Public data types of the MVCC store.

/** mvccpb.KeyValue. Buffers handed out are owned by the caller; do not mutate those handed in. */
export interface KeyValue {
  key: Buffer;
  /** Main revision of the put that created the key in its current generation. */
  createRevision: number;
  /** Main revision of the last modification. */
  modRevision: number;
  /** 1 on creation, +1 per put; a delete resets it. */
  version: number;
  value: Buffer;
  /** Lease id (int64); 0n = no lease. */
  lease: bigint;
}

/**
 * One change, as etcd's mvccpb.Event. For a delete, `kv` carries the key and the deleting
 * revision as modRevision (other fields zero), like etcd's tombstone event.
 */
export interface MvccEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
  /** The previous KeyValue, when it was asked for. */
  prevKv?: KeyValue;
  /**
   * Lease the key had before this change (0n if none or the key did not exist), for the lessor.
   * Always set on events of write transactions; on history() events only with `prevKv`.
   */
  prevLease?: bigint;
}

export interface RangeOptions {
  /** Revision to read at; 0 or absent = current. */
  rev?: number;
  /** Maximum number of kvs returned; 0 or absent = all. `count` is not affected. */
  limit?: number;
  /** Only count; `kvs` is empty. */
  countOnly?: boolean;
  /** Return kvs without values. */
  keysOnly?: boolean;
  /**
   * Filter and order keys by what the key index knows (create and mod revisions) before any value
   * is read, so that only the first `limit` are fetched: the lock and election recipes ask for the
   * oldest or newest key of a prefix. `count` still counts every key in the range.
   */
  select?: RangeSelect;
}

export interface RangeSelect {
  /** Order of the result: by key, create revision or mod revision (ties keep key order). */
  by: 'key' | 'create' | 'mod';
  descending: boolean;
  /** Bounds on the key's create and mod revisions at the read revision (0 = no bound). */
  minCreate: number;
  maxCreate: number;
  minMod: number;
  maxMod: number;
}

export interface RangeResult<T = KeyValue> {
  /** Keys in ascending byte order, at most `limit`. */
  kvs: T[];
  /** Number of keys in the range at `rev`. */
  count: number;
  /** The revision read at (the current revision when none was given). */
  rev: number;
}

export interface PutOptions {
  /** Read and return the previous KeyValue (costs one read). */
  prevKv?: boolean;
}

export interface PutResult {
  /** The previous KeyValue, when asked for and the key existed. */
  prevKv?: KeyValue;
  /** Lease the key had before (0n if none or new). */
  prevLease: bigint;
}

export interface DeleteOptions {
  /** Read and return the deleted KeyValues (costs one read per key). */
  prevKv?: boolean;
}

export interface DeleteResult {
  /** Number of keys deleted. */
  deleted: number;
  /** The deleted KeyValues (only when asked for), in key order. */
  prevKvs: KeyValue[];
}

export interface HistoryOptions {
  /** Attach the previous KeyValue (value at mod_revision - 1) to each event. */
  prevKv?: boolean;
  /** Stop once this many events are collected, at the end of a revision (0 = no limit). */
  limit?: number;
  /** Stop once the events' key and value bytes reach this, at the end of a revision (0 = no limit). */
  limitBytes?: number;
}

export interface HashKVResult {
  /** CRC-32C over the key bucket name and every kept (revision key, value) up to the revision. */
  hash: number;
  compactRevision: number;
  /** The store's current revision. */
  revision: number;
}

/** Receives each committed logical transaction: its revision and its events (in write order). */
export type CommitListener = (rev: number, events: readonly MvccEvent[]) => void;

/**
 * What the store counts for etcd's mvcc metrics: operations (each range, put and delete call, txns
 * of more than one operation), put bytes and compaction work. Plain numbers, read at scrape time.
 */
export interface MvccCounters {
  range: number;
  put: number;
  delete: number;
  txn: number;
  putBytes: number;
  compactedKeys: number;
  /** Unix time (s) of the last finished compaction, 0 before one. */
  lastCompaction: number;
  /** Told each compaction's index pause, each physical batch pause and its total duration (ms). */
  readonly compaction: {
    indexPauseMs(ms: number): void;
    dbPauseMs(ms: number): void;
    totalMs(ms: number): void;
  } | null;
  /** Told how long each HashKV took (s). */
  readonly hashSeconds: ((s: number) => void) | null;
}

export function newMvccCounters(): MvccCounters {
  return {
    range: 0,
    put: 0,
    delete: 0,
    txn: 0,
    putBytes: 0,
    compactedKeys: 0,
    lastCompaction: 0,
    compaction: null,
    hashSeconds: null,
  };
}
