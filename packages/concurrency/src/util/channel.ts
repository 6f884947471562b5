// A single-consumer async channel for the recipes' streams. In `all` mode every value pushed is
// delivered in order (election observe: every leader change); in `latest` mode a value not yet
// consumed is replaced by a newer one (service sets, configuration: a slow consumer skips to the
// newest state but never sees an older one after a newer one). Leaving the consumer's loop calls
// `onReturn`, so the producer can stop.

export class Channel<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private finished = false;
  private error: { value: unknown } | undefined;

  constructor(
    private readonly mode: 'all' | 'latest',
    private readonly onReturn?: () => void,
  ) {}

  get ended(): boolean {
    return this.finished;
  }

  push(value: T): void {
    if (this.finished) return;
    const w = this.waiting;
    if (w) {
      this.waiting = undefined;
      w.resolve({ value, done: false });
    } else if (this.mode === 'latest') this.items = [value];
    else this.items.push(value);
  }

  end(): void {
    if (this.finished) return;
    this.finished = true;
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve({ value: undefined, done: true });
  }

  fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    const w = this.waiting;
    this.waiting = undefined;
    if (w) w.reject(error);
    else this.error = { value: error };
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.error) {
      const e = this.error.value;
      this.error = undefined;
      return Promise.reject(e);
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    if (this.waiting) return Promise.reject(new Error('Channel: concurrent next() calls'));
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    const was = this.finished;
    this.finished = true;
    this.items = [];
    this.error = undefined;
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve({ value: undefined, done: true });
    if (!was) this.onReturn?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
