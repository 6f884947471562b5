// Polling for tests against multi-member targets, where a member may briefly lag the others.

/**
 * Calls `fn` every 50 ms until `ok(result)` holds, for up to `ms`; returns the last result. Errors
 * count as "not yet" (e.g. a future-revision error from a lagging member) until the time is up.
 */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const v = await fn();
      if (ok(v) || Date.now() > deadline) return v;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
