// Per-endpoint circuit breaker. Closed: the endpoint takes traffic. After `failureThreshold`
// consecutive failures it opens for a cooldown that doubles (with jitter) on each failed probe, up to
// `maxCooldownMs`; the pool probes it when the cooldown ends and closes it on a successful probe or
// call. Time comes from `now()` so tests can drive it.

/** When an endpoint is taken out of rotation and probed back (the `circuitBreaker` client option). */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (default 1: a refused connection is conclusive). */
  failureThreshold?: number;
  /** First cooldown (default 200 ms). */
  minCooldownMs?: number;
  /** Longest cooldown (default 5000 ms). */
  maxCooldownMs?: number;
}

export type BreakerState = 'closed' | 'open';

export class CircuitBreaker {
  private _state: BreakerState = 'closed';
  private failures = 0;
  private opens = 0;
  /** While open: when the next probe is due. */
  openUntil = 0;
  readonly threshold: number;
  readonly minCooldownMs: number;
  readonly maxCooldownMs: number;

  constructor(
    opts: CircuitBreakerOptions = {},
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.threshold = Math.max(1, opts.failureThreshold ?? 1);
    this.minCooldownMs = opts.minCooldownMs ?? 200;
    this.maxCooldownMs = Math.max(this.minCooldownMs, opts.maxCooldownMs ?? 5000);
  }

  get state(): BreakerState {
    return this._state;
  }

  /** True when the endpoint may take regular traffic. */
  get closed(): boolean {
    return this._state === 'closed';
  }

  /** Records a success; returns true if this closed an open circuit. */
  success(): boolean {
    this.failures = 0;
    if (this._state === 'closed') return false;
    this._state = 'closed';
    this.opens = 0;
    return true;
  }

  /** Records a failure; returns true if this opened a closed circuit (a failure while open extends the cooldown). */
  failure(): boolean {
    this.failures++;
    if (this._state === 'closed' && this.failures < this.threshold) return false;
    const wasClosed = this._state === 'closed';
    const base = Math.min(this.maxCooldownMs, this.minCooldownMs * 2 ** Math.min(this.opens, 20));
    this.opens++;
    this.openUntil = this.now() + Math.round(base * (0.75 + this.random() * 0.5));
    this._state = 'open';
    return wasClosed;
  }

  /** Milliseconds until the next probe is due (0 when closed or due). */
  msUntilProbe(): number {
    return this._state === 'open' ? Math.max(0, this.openUntil - this.now()) : 0;
  }
}
