// --auto-compaction-mode / --auto-compaction-retention, run by the leader only (as etcd does).
//   revision: every 5 minutes, compact to (current revision - retention) when that moved forward.
//   periodic: sample the revision every retention/10 (at most hourly) and compact to the newest
//             sample that is at least `retention` old, keeping history for the retention window.
// As in etcd's compactors, a compaction that fails is tried again at the next check (an already
// compacted revision counts as done), and the log lines are etcd's.

import { encodeMessage, etcdserverpb } from '@conclave/api';
import type { AutoCompactionConfig } from '../config/index.js';
import { formatGoDuration, type Logger } from '../log/index.js';
import { RequestKind } from './raft-request.js';
import type { EtcdServer } from './server.js';

export interface AutoCompactor {
  stop(): void;
}

/** What the compactor needs from the member (an EtcdServer; a stand-in in tests). */
export type CompactionTarget = Pick<EtcdServer, 'isLeader' | 'propose'> & {
  readonly store: Pick<EtcdServer['store'], 'currentRevision' | 'compactRevision'>;
};

const REVISION_CHECK_MS = 5 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

const isCompacted = (err: unknown): boolean =>
  err instanceof Error && err.message.endsWith('required revision has been compacted');

export function startAutoCompaction(
  server: CompactionTarget,
  cfg: AutoCompactionConfig,
  logger: Logger,
  opts: { checkMs?: number } = {},
): AutoCompactor | null {
  const periodic = cfg.mode === 'periodic';
  if (periodic ? cfg.retentionMs <= 0 : cfg.retentionRevisions <= 0) return null;
  const kind = periodic ? 'periodic' : 'revision';
  const retentionField: Record<string, unknown> = periodic
    ? { 'compact-period': formatGoDuration(cfg.retentionMs) }
    : { 'revision-compaction-retention': cfg.retentionRevisions };
  /** The last revision compacted to (successfully, or found already compacted). */
  let done = 0;
  let running = false;
  let stopped = false;

  const compact = (rev: number): void => {
    if (stopped || running || !server.isLeader || rev <= done) return;
    if (rev <= server.store.compactRevision) {
      done = rev;
      return;
    }
    running = true;
    const started = Date.now();
    logger.info(`starting auto ${kind} compaction`, { revision: rev, ...retentionField });
    server
      .propose(RequestKind.Compaction, encodeMessage(etcdserverpb.CompactionRequest, { revision: rev }))
      .then(
        () => true,
        (err: unknown) => {
          if (isCompacted(err)) return true;
          logger.warn(`failed auto ${kind} compaction`, {
            revision: rev,
            ...retentionField,
            error: String((err as Error)?.message ?? err),
          });
          return false;
        },
      )
      .then((ok) => {
        running = false;
        if (!ok) return;
        done = Math.max(done, rev);
        logger.info(`completed auto ${kind} compaction`, {
          revision: rev,
          ...retentionField,
          took: formatGoDuration(Date.now() - started),
        });
      });
  };

  if (!periodic) {
    const timer = setInterval(() => {
      const target = server.store.currentRevision - cfg.retentionRevisions;
      if (target > 0) compact(target);
    }, opts.checkMs ?? REVISION_CHECK_MS);
    timer.unref();
    return {
      stop: () => {
        stopped = true;
        clearInterval(timer);
      },
    };
  }

  const interval = opts.checkMs ?? Math.min(HOUR_MS, Math.max(1000, Math.floor(cfg.retentionMs / 10)));
  const samples: Array<{ at: number; rev: number }> = [];
  let target = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    samples.push({ at: now, rev: server.store.currentRevision });
    while (samples.length > 0 && now - samples[0]!.at >= cfg.retentionMs) target = samples.shift()!.rev;
    // The target stays until it is compacted, so a failed compaction is tried again next time.
    if (target > 0) compact(target);
  }, interval);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
