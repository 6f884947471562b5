// Closing peer connections from which nothing arrives (limits.ts sessionIdleMs, streamIdleMs). A check
// every fifth of the bound counts the checks in a row that saw no new bytes and gives up after five:
// the connection is closed between one and 1.2 bounds after its last byte. Counting checks rather than
// reading the clock keeps a member whose event loop was held up (a long fsync, a large apply) from
// closing connections whose bytes are waiting to be read: the first check after the stall counts one,
// and the reads that follow it reset the count.

/** Checks in a row without a new byte before a connection counts as idle. */
export const IDLE_CHECKS = 5;

/**
 * Calls `onIdle` once `activity()` (a count that grows with every byte or frame received) has not
 * changed for `idleMs`. Returns a function that stops watching.
 */
export function watchIdle(activity: () => number, idleMs: number, onIdle: () => void): () => void {
  let last = activity();
  let quiet = 0;
  const timer = setInterval(
    () => {
      const now = activity();
      if (now !== last) {
        last = now;
        quiet = 0;
      } else if (++quiet >= IDLE_CHECKS) {
        clearInterval(timer);
        onIdle();
      }
    },
    Math.max(10, Math.floor(idleMs / IDLE_CHECKS)),
  );
  timer.unref();
  return () => clearInterval(timer);
}
