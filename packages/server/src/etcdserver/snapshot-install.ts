// Installing a snapshot received from the leader: the backend database that came with it replaces
// this member's state (MVCC store, membership, alarms and other stores reload from it), and the
// applier continues from the database's applied index.

import type { Snapshot } from '../raft/types.js';
import { formatId } from '../log/index.js';
import type { EtcdServer } from './server.js';

export async function installSnapshot(server: EtcdServer, snap: Snapshot, dbPath: string | undefined): Promise<void> {
  const st = server.storageHandles;
  const log = server.logger;
  if (!dbPath) {
    // A snapshot from our own log (restart) needs no database: the backend already holds that state.
    log.warn('snapshot without database; keeping the local backend', { 'snapshot-index': snap.metadata.index });
    return;
  }
  log.info('applying snapshot', {
    'local-member-id': formatId(server.memberId),
    'snapshot-index': snap.metadata.index,
  });
  await st.backend.restoreFrom(dbPath);
  server.membership.load();
  server.alarms.load();
  server.applier.appliedIndex = st.backend.appliedIndex();
  server.applier.appliedTerm = st.backend.appliedTerm();
  server.applier.confState = snap.metadata.confState;
  server.applier.membershipChanged = true;
  for (const l of server.snapshotListeners) l();
  log.info('applied snapshot', { 'snapshot-index': snap.metadata.index, 'applied-index': server.applier.appliedIndex });
}
