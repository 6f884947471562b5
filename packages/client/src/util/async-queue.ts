// A single-consumer async queue: producers push values, end or fail it; the consumer iterates with
// `for await`. Leaving the loop early (break, return, throw) calls `onReturn`, so the producer can
// release what feeds the queue (a watch, a status subscription). In `all` mode every value is
// delivered in order (watch batches, election changes); in `latest` mode a value not yet consumed
// is replaced by a newer one (service sets, configuration: a slow consumer skips to the newest
// state but never sees an older one after a newer one). Shared by @conclave/concurrency.

export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private done = false;
  private error: unknown;
  private hasError = false;

  constructor(
    private readonly onReturn?: () => void,
    private readonly mode: 'all' | 'latest' = 'all',
  ) {}

  /** Values pushed and not yet consumed. */
  get size(): number {
    return this.items.length - this.head;
  }

  get ended(): boolean {
    return this.done;
  }

  push(value: T): void {
    if (this.done) return;
    const w = this.waiting;
    if (w) {
      this.waiting = undefined;
      w.resolve({ value, done: false });
      return;
    }
    if (this.mode === 'latest' && this.head < this.items.length) {
      this.items.length = 0;
      this.head = 0;
    }
    this.items.push(value);
  }

  /** Ends the queue: the consumer gets the values already pushed, then the end. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.settleWaiter();
  }

  /** Ends the queue with an error, thrown after the values already pushed. */
  fail(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.hasError = true;
    this.error = error;
    this.settleWaiter();
  }

  private settleWaiter(): void {
    const w = this.waiting;
    if (!w) return;
    this.waiting = undefined;
    if (this.hasError) {
      this.hasError = false;
      w.reject(this.error);
    } else w.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head]!;
      this.items[this.head] = undefined as T;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.done) {
      if (this.hasError) {
        this.hasError = false;
        return Promise.reject(this.error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.waiting) return Promise.reject(new Error('AsyncQueue: concurrent next() calls'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    const wasDone = this.done;
    this.done = true;
    this.hasError = false;
    this.items.length = 0;
    this.head = 0;
    this.settleWaiter();
    if (!wasDone) this.onReturn?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
