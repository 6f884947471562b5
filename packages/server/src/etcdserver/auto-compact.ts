// --auto-compaction-mode / --auto-compaction-retention, run by the leader only (as etcd does).
//   revision: every 5 minutes, compact to (current revision - retention) when that moved forward.
//   periodic: sample the revision every retention/10 (at most hourly) and compact to the newest
//             sample that is at least `retention` old, keeping history for the retention window.

import { encodeMessage, etcdserverpb } from '@conclave/api';
import type { AutoCompactionConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { RequestKind } from './raft-request.js';
import type { EtcdServer } from './server.js';

export interface AutoCompactor {
  stop(): void;
}

const REVISION_CHECK_MS = 5 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

export function startAutoCompaction(server: EtcdServer, cfg: AutoCompactionConfig, logger: Logger, opts: { checkMs?: number } = {}): AutoCompactor | null {
  const periodic = cfg.mode === 'periodic';
  if (periodic ? cfg.retentionMs <= 0 : cfg.retentionRevisions <= 0) return null;
  let last = 0;
  const compact = (rev: number): void => {
    if (!server.isLeader || rev <= last || rev <= server.store.compactRevision) return;
    last = rev;
    logger.info('starting auto compaction', { revision: rev, mode: cfg.mode, retention: cfg.retention });
    server
      .propose(RequestKind.Compaction, encodeMessage(etcdserverpb.CompactionRequest, { revision: rev }))
      .then(() => logger.info('completed auto compaction', { revision: rev }))
      .catch((err: unknown) => logger.warn('failed auto compaction', { revision: rev, error: String(err) }));
  };

  if (!periodic) {
    const timer = setInterval(() => {
      const target = server.store.currentRevision - cfg.retentionRevisions;
      if (target > 0) compact(target);
    }, opts.checkMs ?? REVISION_CHECK_MS);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  const interval = opts.checkMs ?? Math.min(HOUR_MS, Math.max(1000, Math.floor(cfg.retentionMs / 10)));
  const samples: Array<{ at: number; rev: number }> = [];
  const timer = setInterval(() => {
    const now = Date.now();
    samples.push({ at: now, rev: server.store.currentRevision });
    let target = 0;
    while (samples.length > 0 && now - samples[0]!.at >= cfg.retentionMs) target = samples.shift()!.rev;
    if (target > 0) compact(target);
  }, interval);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
