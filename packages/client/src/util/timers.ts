// Small timing helpers: unref'd sleeps that honour an AbortSignal, and jittered backoff.

import { onAbort } from './abort.js';

/**
 * Resolves after `ms`; rejects with the signal's reason if it aborts first. The timer holds the
 * process open unless `unref` (a call waiting to retry must not let the program exit).
 */
export function sleep(ms: number, signal?: AbortSignal, unref = false): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const t = setTimeout(() => {
      stopWaiting?.();
      resolve();
    }, ms);
    if (unref) t.unref();
    const stopWaiting = signal
      ? onAbort(signal, () => {
          clearTimeout(t);
          reject(signal.reason);
        })
      : undefined;
  });
}

/** Exponential backoff with full jitter in [base/2, base]: attempt 0 gives about `minMs`. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (Math.random() * base) / 2);
}

/**
 * Reopening a stream after failures: the first retry at once, then exponential backoff with
 * jitter from 50 ms up to `maxMs`, until `reset()` (a success). The timer is not unref'd: a program
 * waiting on a watch or keeping a lease alive must not exit because the stream is between two
 * connections.
 */
export class Reopen {
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly maxMs: number) {}

  /** A retry is scheduled. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** Runs `fn` after the next backoff, unless a retry is already scheduled. */
  schedule(fn: () => void): void {
    if (this.timer) return;
    const attempt = this.failures++;
    const delay = attempt === 0 ? 0 : backoffDelay(attempt - 1, 50, this.maxMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      fn();
    }, delay);
  }

  /** The stream works again (or is no longer needed): the next failure retries at once. */
  reset(): void {
    this.cancel();
    this.failures = 0;
  }

  /** Drops a scheduled retry. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
