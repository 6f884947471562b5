// Waiting helpers shared by the recipes: combined abort signals, retries of idempotent steps with
// backoff, and waits on watch events (a key's deletion, the first put under a prefix).

import {
  AbortedError,
  CompactedError,
  ConclaveError,
  type Bytes,
  type KeySpace,
  type WatchEvent,
} from '@conclave/client';

/** The error to throw for an aborted signal: its reason when that is a ConclaveError (e.g. the session's loss), else AbortedError. */
export function abortedError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof ConclaveError) return reason;
  return new AbortedError({ message: 'the operation was aborted', code: 'Aborted', retriable: false, cause: reason });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

/** A signal that aborts when any of the given ones does (or after `timeoutMs`), with that one's reason. */
export function anySignal(signals: (AbortSignal | undefined)[], timeoutMs?: number): AbortSignal {
  const list = signals.filter((s): s is AbortSignal => s !== undefined);
  if (timeoutMs !== undefined) list.push(AbortSignal.timeout(timeoutMs));
  if (list.length === 1) return list[0]!;
  return AbortSignal.any(list);
}

/**
 * Resolves after `ms`; rejects with abortedError if `signal` aborts first. The timer holds the
 * process open, as the client's retry waits do: a recipe waiting to retry must not let it exit.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      reject(abortedError(signal!));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function isRetriable(e: unknown): boolean {
  return e instanceof ConclaveError && e.retriable && !(e instanceof AbortedError);
}

/**
 * Runs an idempotent step, retrying it with backoff (25 ms doubling to 1 s, jittered) while it fails
 * with a retriable error, until it succeeds, fails otherwise, `signal` aborts, or `deadlineMs` passes
 * (then the last error is thrown). Only for steps that may safely run twice, e.g. a create-if-absent
 * transaction on a key named after the session's lease, or a delete guarded by a create revision.
 */
export async function retrying<T>(
  fn: () => Promise<T>,
  signal: AbortSignal | undefined,
  deadlineMs = Infinity,
): Promise<T> {
  const end = performance.now() + deadlineMs;
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(signal);
    try {
      return await fn();
    } catch (e) {
      if (signal?.aborted) throw abortedError(signal);
      if (!isRetriable(e) || performance.now() >= end) throw e;
    }
    const base = Math.min(1000, 25 * 2 ** Math.min(attempt, 10));
    await sleep(Math.min(base / 2 + (Math.random() * base) / 2, Math.max(0, end - performance.now())), signal);
  }
}

function watchEnded(): ConclaveError {
  return new ConclaveError({
    message: 'watch ended before the awaited event (client closed?)',
    code: 'WatchEnded',
    retriable: false,
  });
}

/**
 * Waits until `key` is deleted at a revision ≥ `fromRevision`. Also returns when that history was
 * compacted (the caller must read the state again). Throws abortedError when `signal` aborts.
 */
export async function waitForDelete(
  kv: KeySpace,
  key: Bytes,
  fromRevision: bigint,
  signal: AbortSignal,
): Promise<void> {
  await waitForEvent(kv, key, { fromRevision, type: 'delete' }, signal);
}

/**
 * Waits for the first event of `type` on a key (or under a prefix) at a revision ≥ `fromRevision`;
 * returns it, or `undefined` when that history was compacted (re-read the state and wait again).
 */
export async function waitForEvent(
  kv: KeySpace,
  key: Bytes,
  opts: { fromRevision: bigint; type: 'put' | 'delete'; prefix?: boolean },
  signal: AbortSignal,
): Promise<WatchEvent | undefined> {
  throwIfAborted(signal);
  const w = kv.watch(key, {
    startRevision: opts.fromRevision,
    filters: [opts.type === 'put' ? 'noDelete' : 'noPut'],
    ...(opts.prefix ? { prefix: true } : {}),
    signal,
  });
  try {
    for await (const batch of w) {
      if (batch.type !== 'events') continue;
      const ev = batch.events.find((e) => e.type === opts.type);
      if (ev) return ev;
    }
  } catch (e) {
    if (e instanceof CompactedError) return undefined;
    throw e;
  } finally {
    w.close();
  }
  throwIfAborted(signal);
  throw watchEnded();
}
