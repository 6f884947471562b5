// Installing a snapshot received from the leader: the backend database that came with it replaces
// this member's state (MVCC store, membership, alarms and other stores reload from it), and the
// applier continues from the database's applied index.

import type { Applier } from '../apply/applier.js';
import type { Snapshot } from '../raft/types.js';
import { formatId, type Logger } from '../log/index.js';
import type { Backend } from '../storage/backend/index.js';

/** What a snapshot replaces on this member. */
export interface SnapshotInstallTarget {
  memberId: bigint;
  backend: Backend;
  applier: Applier;
  logger: Logger;
  /** The stores that keep state in memory re-read it from the restored backend. */
  reload(): void;
}

export async function installSnapshot(
  t: SnapshotInstallTarget,
  snap: Snapshot,
  dbPath: string | undefined,
): Promise<void> {
  const log = t.logger;
  if (!dbPath) {
    // A snapshot from our own log (restart) needs no database: the backend already holds that state.
    log.warn('snapshot without database; keeping the local backend', { 'snapshot-index': snap.metadata.index });
    return;
  }
  log.info('applying snapshot', {
    'local-member-id': formatId(t.memberId),
    'snapshot-index': snap.metadata.index,
  });
  await t.backend.restoreFrom(dbPath);
  t.reload();
  t.applier.appliedIndex = t.backend.appliedIndex();
  t.applier.appliedTerm = t.backend.appliedTerm();
  t.applier.confState = snap.metadata.confState;
  t.applier.membershipChanged = true;
  log.info('applied snapshot', { 'snapshot-index': snap.metadata.index, 'applied-index': t.applier.appliedIndex });
}
