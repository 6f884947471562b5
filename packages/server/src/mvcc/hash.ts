// HashKV, as etcd's store.HashByRev: a CRC-32C over the bucket name "key" and every stored
// (revision key, value) with revision ≤ rev, skipping revisions ≤ the compacted revision that
// compaction at rev would not keep. Members with identical histories get identical hashes, whether
// or not their physical compaction has finished.

import type { StoreCore } from './core.js';
import { Crc32c } from '../checksum/crc32c.js';
import { CompactedError, FutureRevisionError } from './errors.js';
import { REV_KEY_LEN, encodeRevKey, revKeyMain } from './revision.js';
import type { HashKVResult } from './types.js';

const BUCKET = Buffer.from('key');

export function hashKV(core: StoreCore, rev: number): HashKVResult {
  const compactRev = core.compactRev;
  const currentRev = core.rev;
  if (rev > 0 && rev <= compactRev) throw new CompactedError(compactRev);
  if (rev > currentRev) throw new FutureRevisionError(currentRev);
  if (rev <= 0) rev = currentRev;

  // Revisions ≤ compactRev that compaction at rev keeps (etcd's kvindex.Keep(rev)).
  const keep = new Set<string>();
  let anyKept = false;
  const index = core.index;
  for (const e of index.values()) {
    if (!index.keep(e, rev)) continue;
    anyKept = true;
    if (index.hitMain <= compactRev) keep.add(encodeRevKey(index.hitMain, index.hitSub).toString('latin1'));
  }

  const h = new Crc32c().update(BUCKET);
  for (const { key, value } of core.kvDb.getRange({ end: encodeRevKey(rev + 1, 0) })) {
    if (anyKept && revKeyMain(key) <= compactRev && !keep.has(key.toString('latin1', 0, REV_KEY_LEN))) continue;
    h.update(key).update(value);
  }
  return { hash: h.digest(), compactRevision: compactRev, revision: currentRev };
}
