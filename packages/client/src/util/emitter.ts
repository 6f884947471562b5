// A minimal typed event emitter (listeners are called synchronously; a throwing listener does not
// stop the others).

/** A listener of an event: called with the event's arguments. */
export type Listener<A extends unknown[]> = (...args: A) => void;

/** Typed events: `on(event, fn)` returns a function that removes the listener. */
export class Emitter<E extends { [K in keyof E]: unknown[] }> {
  private readonly listeners = new Map<keyof E, Set<Listener<unknown[]>>>();

  /**
   * Calls `fn` on every `event`; returns a function that removes it. A listener that throws does
   * not stop the others (its error is rethrown on a microtask).
   */
  on<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as unknown as Listener<unknown[]>);
    return () => this.off(event, fn);
  }

  /** Calls `fn` on the next `event` only; returns a function that removes it. */
  once<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    const off = this.on(event, ((...args: E[K]) => {
      off();
      fn(...args);
    }) as Listener<E[K]>);
    return off;
  }

  /** Removes a listener added with `on` or `once`. */
  off<K extends keyof E>(event: K, fn: Listener<E[K]>): void {
    this.listeners.get(event)?.delete(fn as unknown as Listener<unknown[]>);
  }

  /** Calls the listeners of `event` (for the class that emits). */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
