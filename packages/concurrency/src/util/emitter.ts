// A minimal typed event emitter (listener errors are not caught: they surface in the emitting code).

type Listener = (...args: unknown[]) => void;

export class Emitter<E extends Record<string, unknown[]>> {
  private readonly listeners = new Map<keyof E, Set<Listener>>();

  on<K extends keyof E>(event: K, fn: (...args: E[K]) => void): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as unknown as Listener);
    return this;
  }

  off<K extends keyof E>(event: K, fn: (...args: E[K]) => void): this {
    this.listeners.get(event)?.delete(fn as unknown as Listener);
    return this;
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    for (const fn of [...(this.listeners.get(event) ?? [])]) fn(...args);
  }
}
