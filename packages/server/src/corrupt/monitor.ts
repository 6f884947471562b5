// --experimental-corrupt-check-time: every interval the leader compares HashKVs (etcd's
// monitorKVHash / checkHashKV). It hashes its store, asks every peer for its hash at that revision,
// does a ReadIndex round and hashes again; then raises the CORRUPT alarm (member ID 0: which member
// is wrong is not known) through Raft when
//   - its own two hashes at one revision differ (its data changed under it),
//   - a follower is ahead of it (revision or compact revision above the leader's),
//   - a follower with the same compact revision has a different hash.
// While CORRUPT is raised every member refuses writes (see AlarmStore.corrupt).

import { formatGoDuration, formatId } from '../log/index.js';
import { peerHashKVs, type CorruptCheckDeps } from './initial-check.js';

export interface CorruptMonitorDeps extends CorruptCheckDeps {
  intervalMs: number;
  isLeader(): boolean;
  /** Waits until this member applied everything committed before the call. */
  linearizableRead(): Promise<void>;
  /** Proposes ACTIVATE CORRUPT for member 0. */
  raiseCorruptAlarm(): Promise<unknown>;
}

/** One round of the leader's check (exported for tests). Resolves true when it raised the alarm. */
export async function checkHashKV(d: CorruptMonitorDeps): Promise<boolean> {
  const lg = d.logger;
  const first = d.hashKV(0);
  const { hash: h, revision: rev, compactRevision: crev } = first;
  const peers = await peerHashKVs(d, rev);
  await d.linearizableRead();
  const second = d.hashKV(0);
  const { hash: h2, revision: rev2, compactRevision: crev2 } = second;

  let alarmed = false;
  const mismatch = (): void => {
    if (alarmed) return;
    alarmed = true;
    d.raiseCorruptAlarm().catch((err: unknown) =>
      lg.warn('failed to raise the CORRUPT alarm', { error: String((err as Error)?.message ?? err) }),
    );
  };
  if (h2 >>> 0 !== h >>> 0 && rev2 === rev && crev === crev2) {
    lg.warn('found hash mismatch', {
      'revision-1': rev,
      'compact-revision-1': crev,
      'hash-1': h >>> 0,
      'revision-2': rev2,
      'compact-revision-2': crev2,
      'hash-2': h2 >>> 0,
    });
    mismatch();
  }
  let checked = 0;
  for (const p of peers) {
    if (!p.resp) continue;
    checked++;
    const peerId = formatId(p.peer.id);
    if (p.resp.revision > rev2) {
      lg.warn("revision from follower must be less than or equal to leader's", {
        'leader-revision': rev2,
        'follower-revision': p.resp.revision,
        'follower-peer-id': peerId,
      });
      mismatch();
    }
    if (p.resp.compactRevision > crev2) {
      lg.warn("compact revision from follower must be less than or equal to leader's", {
        'leader-compact-revision': crev2,
        'follower-compact-revision': p.resp.compactRevision,
        'follower-peer-id': peerId,
      });
      mismatch();
    }
    if (p.resp.compactRevision === crev && p.resp.hash >>> 0 !== h >>> 0) {
      lg.warn('same compact revision then hashes must match', {
        'leader-compact-revision': crev2,
        'leader-hash': h >>> 0,
        'follower-compact-revision': p.resp.compactRevision,
        'follower-hash': p.resp.hash >>> 0,
        'follower-peer-id': peerId,
      });
      mismatch();
    }
  }
  lg.info('finished peer corruption check', { 'number-of-peers-checked': checked });
  return alarmed;
}

export interface CorruptMonitor {
  stop(): void;
}

/** Runs checkHashKV every `intervalMs` while this member leads; nothing when the interval is 0. */
export function startCorruptMonitor(d: CorruptMonitorDeps): CorruptMonitor {
  if (d.intervalMs <= 0) return { stop() {} };
  d.logger.info('enabled corruption checking', {
    'local-member-id': formatId(d.memberId),
    interval: formatGoDuration(d.intervalMs),
  });
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      if (stopped) return;
      if (!d.isLeader()) return schedule();
      checkHashKV(d)
        .catch((err: unknown) =>
          d.logger.warn('failed to check hash KV', { error: String((err as Error)?.message ?? err) }),
        )
        .finally(schedule);
    }, d.intervalMs);
    timer.unref();
  };
  schedule();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
