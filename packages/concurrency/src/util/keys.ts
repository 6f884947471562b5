// Key naming shared with etcd's Go recipes (`prefix/<lease id in hex>`), range options they use
// (first / last by create revision), and an in-process lock per (session, key): two recipe objects on
// one session and prefix map to the same etcd key, so without it both would believe they hold it.

import type { RangeQuery } from '@conclave/client';
import { abortedError } from './async.js';

/** A lease ID as etcd's Go recipes print it (`%x`). */
export function leaseHex(id: bigint): string {
  return id.toString(16);
}

/** Go's `WithFirstCreate()`: the oldest key under a prefix. */
export const FIRST_CREATE: RangeQuery = { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1 };

/** Go's `WithLastCreate()` + `WithMaxCreateRev(rev)`: the newest key under a prefix created at or before `rev`. */
export function lastCreatedAtOrBefore(rev: bigint): RangeQuery {
  return { prefix: true, sort: { target: 'create', order: 'descend' }, limit: 1, maxCreateRevision: rev };
}

let seq = 0;
/** A key suffix unique across processes (it starts with the lease ID) and within this one. */
export function uniqueSuffix(lease: bigint): string {
  seq = (seq + 1) % Number.MAX_SAFE_INTEGER;
  return `${leaseHex(lease)}_${Date.now().toString(36)}${seq.toString(36)}`;
}

const locals = new WeakMap<object, Map<string, Promise<void>>>();

function table(owner: object): Map<string, Promise<void>> {
  let t = locals.get(owner);
  if (!t) {
    t = new Map();
    locals.set(owner, t);
  }
  return t;
}

/**
 * Waits for the in-process lock on `key` of `owner` (a session); resolves with its release function.
 * Waiters are served in call order; one that aborts still passes the lock on in order.
 */
export async function acquireLocal(owner: object, key: string, signal?: AbortSignal): Promise<() => void> {
  const t = table(owner);
  const prev = t.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const tail = prev.then(() => mine);
  t.set(key, tail);
  let released = false;
  const done = (): void => {
    if (released) return;
    released = true;
    release();
    if (t.get(key) === tail) t.delete(key);
  };
  if (!signal) {
    await prev;
    return done;
  }
  if (signal.aborted) {
    void prev.then(done);
    throw abortedError(signal);
  }
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, rej) => {
    onAbort = () => rej(abortedError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([prev, aborted]);
    return done;
  } catch (e) {
    void prev.then(done);
    throw e;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The in-process lock on `key` if nobody holds or awaits it, else undefined. */
export function tryAcquireLocal(owner: object, key: string): (() => void) | undefined {
  const t = table(owner);
  if (t.has(key)) return undefined;
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  t.set(key, mine);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    release();
    if (t.get(key) === mine) t.delete(key);
  };
}
