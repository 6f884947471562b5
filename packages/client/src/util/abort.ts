// Waiting on a caller's AbortSignal with one listener per signal, however many calls wait on it.
// A service passing one signal (a request's, a shutdown's) to more than ten concurrent calls got
// Node's MaxListenersExceededWarning ("11 abort listeners added to [AbortSignal]"), although every
// listener is removed when its call ends: the client fans an abort out to its calls itself.

interface Waiters {
  readonly fns: Set<{ fn: () => void }>;
  readonly dispatch: () => void;
}

const bySignal = new WeakMap<AbortSignal, Waiters>();

/**
 * Calls `fn` once when `signal` aborts (never if it already has: check `signal.aborted` first);
 * returns a function that stops waiting. The signal gets one listener for all its waiters.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let w = bySignal.get(signal);
  if (!w) {
    const fns = new Set<{ fn: () => void }>();
    const dispatch = (): void => {
      bySignal.delete(signal);
      for (const e of [...fns]) e.fn();
      fns.clear();
    };
    w = { fns, dispatch };
    bySignal.set(signal, w);
    signal.addEventListener('abort', dispatch, { once: true });
  }
  const entry = { fn };
  const waiters = w;
  waiters.fns.add(entry);
  return () => {
    if (!waiters.fns.delete(entry) || waiters.fns.size > 0) return;
    if (bySignal.get(signal) === waiters) bySignal.delete(signal);
    signal.removeEventListener('abort', waiters.dispatch);
  };
}
