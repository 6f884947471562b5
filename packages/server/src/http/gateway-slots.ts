// The stream limit as etcd's JSON gateway meets it. etcd's gateway is a gRPC client of its own
// server over one HTTP/2 connection, so --max-concurrent-streams bounds how many gateway calls run
// at once: grpc-go makes a call beyond the limit wait for a stream to end (it does not fail it).
// Conclave's gateway calls the handlers directly; these slots give it the same bound. One set per
// member (etcd has one connection per client URL; with several client URLs etcd allows that many
// times the limit). A request whose client goes away while it waits leaves the queue.

/** Counting semaphore over gateway calls, first come first served. */
export class GatewaySlots {
  private used = 0;
  private readonly waiting = new Set<() => void>();

  constructor(private readonly max: number) {}

  /**
   * Runs `start` as soon as a slot is free (at once when one is); `start` gets the function that
   * gives the slot back (idempotent). Returns a function that withdraws a call still waiting.
   */
  take(start: (release: () => void) => void): () => void {
    const go = (): void => {
      this.used++;
      let released = false;
      start(() => {
        if (released) return;
        released = true;
        this.used--;
        this.next();
      });
    };
    if (this.used < this.max && this.waiting.size === 0) {
      go();
      return () => {};
    }
    this.waiting.add(go);
    return () => this.waiting.delete(go);
  }

  /** Calls running and calls waiting (for tests and metrics). */
  get counts(): { running: number; waiting: number } {
    return { running: this.used, waiting: this.waiting.size };
  }

  private next(): void {
    if (this.used >= this.max) return;
    const first = this.waiting.values().next();
    if (first.done) return;
    this.waiting.delete(first.value);
    first.value();
  }
}
