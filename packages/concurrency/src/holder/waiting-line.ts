// The waiting-line protocol of etcd's Go recipes, shared by Mutex, RWMutex and Election. Each
// contender owns one key, created with its session's lease; contenders are ordered by the key's
// create revision. A contender waits only on its immediate predecessor (the newest key created
// before its own) — no thundering herd — and holds when none is left.
//
// Unlike etcd 3.4's Go recipe, the turn is only granted after one linearizable read that sees the
// contender's own key still present (with the same create revision) *and* no predecessor: a
// contender whose lease expired while it waited never believes it got the lock (Jepsen, etcd 3.4.3).

import { cmp, op, ConclaveError, type KeyValue, type RangeQuery, type TxnResult } from '@conclave/client';
import { retrying, waitForDelete } from '../util/async.js';
import { KeyDeletedError, SessionExpiredError } from '../util/errors.js';
import { lastCreatedAtOrBefore } from '../util/keys.js';
import type { Session } from '../session/session.js';

export interface Enqueued {
  /** Create revision of the contender's key. */
  rev: bigint;
  /** The key existed already (created by an earlier attempt with the same lease). */
  existed: KeyValue | undefined;
  /** Result of `probe` (read in the same transaction), if one was given. */
  probe: KeyValue[];
  /** Revision of the transaction. */
  revision: bigint;
}

/**
 * Creates `key` with the session's lease unless it exists, reading `probe` in the same transaction.
 * Idempotent (the key is the contender's own), so retried through ambiguous failures.
 *
 * `signal` is honoured before and between attempts, never by cutting an attempt short: a
 * transaction already sent may still be applied, and the next call of a round-robin client can
 * reach another member first, so a withdrawal sent after an abort could run before the creation
 * and leave the key behind (blocking every other contender until the session ends). Waiting for the
 * attempt's answer gives the key's create revision, and the withdrawal is ordered after it.
 */
export async function enqueue(
  session: Session,
  key: string,
  value: string,
  probe: { key: string; query: RangeQuery } | undefined,
  signal: AbortSignal,
): Promise<Enqueued> {
  const kv = session.client;
  const extra = probe ? [op.get(probe.key, probe.query)] : [];
  let r: TxnResult;
  try {
    r = await retrying(
      () =>
        kv
          .txn()
          .if(cmp.createRevision(key, '=', 0))
          .then(op.put(key, value, { lease: session.lease }), ...extra)
          .else(op.get(key), ...extra)
          .commit(),
      signal,
    );
  } catch (e) {
    throw session.mapError(e);
  }
  const probeResult = probe ? r.responses[1] : undefined;
  const probeKvs = probeResult?.type === 'get' ? probeResult.kvs : [];
  if (r.succeeded) return { rev: r.revision, existed: undefined, probe: probeKvs, revision: r.revision };
  const first = r.responses[0];
  const existing = first?.type === 'get' ? first.kvs[0] : undefined;
  if (!existing)
    throw new ConclaveError({
      message: `queue key ${key} vanished inside a transaction`,
      code: 'Internal',
      retriable: false,
    });
  return { rev: existing.createRevision, existed: existing, probe: probeKvs, revision: r.revision };
}

/**
 * Why `key` (held or awaited through the session's lease) is gone: the lease is gone (the session is
 * lost: SessionExpiredError), or someone deleted the key (KeyDeletedError).
 */
export async function keyLost(session: Session, key: string): Promise<Error> {
  try {
    const ttl = await session.client.lease.timeToLive(session.lease, { timeoutMs: 2000 });
    if (ttl.ttl < 0) return session.mapError(new SessionExpiredError(session.lease, 'expired')) as Error;
  } catch {
    // could not tell: report the loss of the key itself
  }
  return new KeyDeletedError(key);
}

/**
 * Waits until no key under `waitPrefix` created before `rev` remains, while `key` (created at `rev`)
 * still exists. Resolves with the revision at which both held. Throws SessionExpiredError /
 * KeyDeletedError if `key` disappears, or the abort reason when `signal` aborts.
 */
export async function waitTurn(
  session: Session,
  key: string,
  rev: bigint,
  waitPrefix: string,
  signal: AbortSignal,
): Promise<bigint> {
  const kv = session.client;
  for (;;) {
    const r = await retrying(
      () =>
        kv
          .txn()
          .then(op.get(key), op.get(waitPrefix, lastCreatedAtOrBefore(rev - 1n)))
          .commit({ signal }),
      signal,
    );
    const [mineRes, predRes] = r.responses;
    const mine = mineRes?.type === 'get' ? mineRes.kvs[0] : undefined;
    if (!mine || mine.createRevision !== rev) throw await keyLost(session, key);
    const pred = predRes?.type === 'get' ? predRes.kvs[0] : undefined;
    if (!pred) return r.revision;
    await waitForDelete(kv, pred.key, r.revision + 1n, signal);
  }
}

/**
 * Deletes `key` if it is still the one created at `rev` (a newer key of the same lease is left
 * alone). Retried through failures for up to the session's TTL, after which the lease is expired
 * anyway unless renewed. Resolves with whether a key was deleted.
 */
export async function release(session: Session, key: string, rev: bigint, signal?: AbortSignal): Promise<boolean> {
  const r = await retrying(
    () =>
      session.client
        .txn()
        .if(cmp.createRevision(key, '=', rev))
        .then(op.delete(key))
        .commit(signal ? { signal } : {}),
    signal,
    session.ttl * 1000,
  );
  return r.succeeded;
}

/**
 * Withdraws a contender's key on a failure path: guarded by its create revision when known, else by
 * the session's lease (the enqueue may have been applied although its answer never arrived; the key
 * is this contender's alone while it holds the in-process lock). Never throws; skipped once the
 * session has ended (its keys go with the lease).
 */
export async function releaseQuietly(session: Session, key: string, rev: bigint | undefined): Promise<void> {
  if (session.isDone) return;
  try {
    if (rev !== undefined) await release(session, key, rev);
    else
      await retrying(
        () =>
          session.client
            .txn()
            .if(cmp.lease(key, '=', session.lease))
            .then(op.delete(key))
            .commit(),
        undefined,
        session.ttl * 1000,
      );
  } catch {
    // the key goes with the lease
  }
}
