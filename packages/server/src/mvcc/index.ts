// MVCC key-value store: etcd's multi-version store on the LMDB backend. Every write transaction
// gets a revision; the `key` sub-database maps revisions to protobuf mvccpb.KeyValue bytes, and an
// in-memory key index (key → generations of revisions) answers reads at any uncompacted revision.
// Provides range reads (decoded or as raw protobuf bytes), logical write transactions, compaction,
// HashKV, history for watchers and commit notifications.

export { MvccStore } from './store.js';
export { newMvccCounters } from './types.js';
export { WriteTxn } from './write-txn.js';
export { CompactedError, FutureRevisionError, MvccError, StoreClosedError } from './errors.js';
export { decodeKeyValue, encodeKeyValue, varintSize, writeVarint } from './kv-codec.js';
export { decodeRevKey, encodeRevKey, isTombstoneKey, type Revision } from './revision.js';
export { eventSize } from './history.js';
export type { RangeRefs, RefReader } from './range-refs.js';
export type {
  CommitListener,
  DeleteOptions,
  DeleteResult,
  HashKVResult,
  HistoryOptions,
  KeyValue,
  MvccCounters,
  MvccEvent,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeSelect,
  RangeResult,
} from './types.js';
