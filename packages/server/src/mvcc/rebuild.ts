// Rebuilds the in-memory state of the store from the backend: the key index (scanning the `key`
// sub-database in revision order, as etcd's restore), the current revision and the compaction
// revisions recorded in `meta`.

import { META } from '../storage/backend/index.js';
import type { StoreCore } from './core.js';
import { KeyIndex } from './key-index.js';
import { EMPTY, decodeKvHeader, type KvHeader } from './kv-codec.js';
import { isTombstoneKey, revKeyMain, revKeySub } from './revision.js';

export interface RebuildResult {
  /** A compaction that was scheduled but not finished (to resume), or null. */
  resumeCompaction: number | null;
}

function metaRev(core: StoreCore, name: string): number | null {
  const b = core.backend.getMeta(name);
  return b && b.length >= 8 ? revKeyMain(b) : null;
}

/** Replaces core's index and revisions with what the backend holds. */
export function rebuild(core: StoreCore): RebuildResult {
  const index = new KeyIndex();
  const hdr: KvHeader = { key: EMPTY, createRevision: 0, version: 0, lease: 0n };
  let maxRev = 0;
  for (const { key, value } of core.kvDb.getRange({})) {
    const main = revKeyMain(key);
    decodeKvHeader(value, hdr);
    index.restore(
      hdr.key.toString('latin1'),
      main,
      revKeySub(key),
      isTombstoneKey(key),
      hdr.createRevision,
      hdr.version,
      hdr.lease,
    );
    maxRev = main;
  }
  const finished = metaRev(core, META.finishedCompactRev);
  const scheduled = metaRev(core, META.scheduledCompactRev);
  core.index = index;
  core.compactRev = finished ?? -1;
  // A compaction can remove the newest revisions (tombstones), so the compaction revisions are floors.
  core.rev = Math.max(1, maxRev, finished ?? 0, scheduled ?? 0);
  core.clearUndo();
  if (scheduled !== null && scheduled > core.compactRev) {
    core.compactRev = scheduled;
    return { resumeCompaction: scheduled };
  }
  return { resumeCompaction: null };
}
