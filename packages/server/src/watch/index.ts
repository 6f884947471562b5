// Watch (etcd's watchable store and watch streams): every watcher of a member, fed live from the
// MVCC store's commit events when synced and from the stored history while catching up, with
// etcd's guarantees — events in revision order, never duplicated or skipped, a revision's events in
// one response, a created response before any event, compaction cancels — and bounded memory: a
// congested stream's watchers become victims and catch up from history once it drains.

export { WatchHub, type WatchHubOptions } from './hub.js';
export {
  WatchStream,
  MAX_QUEUED_RESPONSES,
  ERR_DUPLICATE_ID,
  ERR_EMPTY_RANGE,
  type WatchSink,
  type WatchStreamOptions,
} from './stream.js';
export { Watcher, type WatcherState } from './watcher.js';
export { WatcherGroup } from './watcher-group.js';
export { EventBytes, controlResponse, eventResponse, encodeHeaderField } from './encode.js';
