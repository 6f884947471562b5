// --experimental-initial-corrupt-check: before a member serves anything, compare its HashKV with
// every reachable peer's at the member's own current revision (etcd's CheckInitialHashKV). A peer
// with the same compact revision and a different hash means this member's data differs from the
// cluster's: the member refuses to start. Unreachable, lagging or compacted peers only log.

import type { ConnectionOptions } from 'node:tls';
import type { HashKVResult } from '../mvcc/index.js';
import { formatGoDuration, formatId, type Logger } from '../log/index.js';
import { getPeerHashKVs, type PeerHashResult, type PeerInfo } from './peer-hashkv.js';

export interface CorruptCheckDeps {
  memberId: bigint;
  /** This member's HashKV at `rev` (0 = current). */
  hashKV(rev: number): HashKVResult;
  /** The other members (this one may be included; it is skipped). */
  peers(): readonly PeerInfo[];
  logger: Logger;
  /** etcd's request timeout (5 s + 2 × election timeout), per peer URL. */
  timeoutMs: number;
  /** Client TLS for https peer URLs (--peer-* files). */
  tls?: ConnectionOptions | undefined;
}

/** The error start-up fails with when a peer's hash differs ("<id> found data inconsistency with peers"). */
export class DataInconsistencyError extends Error {
  override readonly name = 'DataInconsistencyError';
}

/** Every other peer's HashKV at `rev`; each peer URL that fails is logged (etcd's getPeerHashKVs). */
export function peerHashKVs(d: CorruptCheckDeps, rev: number): Promise<PeerHashResult[]> {
  return getPeerHashKVs(
    d.peers().filter((p) => p.id !== d.memberId),
    rev,
    {
      timeoutMs: d.timeoutMs,
      tls: d.tls,
      onFailure: (url, err) =>
        d.logger.warn('failed hash kv request', {
          'local-member-id': formatId(d.memberId),
          'requested-revision': rev,
          'remote-peer-endpoint': url,
          error: err.message,
        }),
    },
  );
}

export async function checkInitialHashKV(d: CorruptCheckDeps): Promise<void> {
  const id = formatId(d.memberId);
  const lg = d.logger;
  lg.info('starting initial corruption check', { 'local-member-id': id, timeout: formatGoDuration(d.timeoutMs) });
  let local: HashKVResult;
  try {
    local = d.hashKV(0);
  } catch (err) {
    throw new Error(`${id} failed to fetch hash (${(err as Error).message})`);
  }
  const { hash: h, revision: rev, compactRevision: crev } = local;
  const results = await peerHashKVs(d, rev);
  let mismatch = 0;
  const localFields = {
    'local-member-id': id,
    'local-member-revision': rev,
    'local-member-compact-revision': crev,
    'local-member-hash': h >>> 0,
  };
  for (const p of results) {
    if (p.resp) {
      if (p.resp.hash >>> 0 === h >>> 0) continue;
      const fields = {
        ...localFields,
        'remote-peer-id': formatId(p.peer.id),
        'remote-peer-endpoints': p.peer.peerUrls,
        'remote-peer-revision': p.resp.revision,
        'remote-peer-compact-revision': p.resp.compactRevision,
        'remote-peer-hash': p.resp.hash >>> 0,
      };
      if (crev === p.resp.compactRevision) {
        lg.warn('found different hash values from remote peer', fields);
        mismatch++;
      } else {
        lg.warn('found different compact revision values from remote peer', fields);
      }
      continue;
    }
    const kind = (p.err as { kind?: string } | null)?.kind;
    const fields = {
      ...localFields,
      'remote-peer-id': formatId(p.peer.id),
      'remote-peer-endpoints': p.peer.peerUrls,
      error: p.err?.message ?? '',
    };
    if (kind === 'future') lg.warn('cannot fetch hash from slow remote peer', fields);
    else if (kind === 'compacted') lg.warn('cannot fetch hash from remote peer; local member is behind', fields);
  }
  if (mismatch > 0) throw new DataInconsistencyError(`${id} found data inconsistency with peers`);
  lg.info('initial corruption checking passed; no corruption', { 'local-member-id': id });
}
