// The bounds one HTTP/2 connection enforces against a client that misbehaves: how many streams it
// may have open, how much request data the server holds for it, and how fast it may send frames
// that cost the server work without doing any (PING, SETTINGS, resets, empty frames). Defaults and
// the attacks each stops: docs/hardening.md.

/** Connection-level limits, set per server (some come from flags). */
export interface H2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS (--max-concurrent-streams): more open streams are refused (REFUSED_STREAM). */
  maxConcurrentStreams: number;
  /** Request bytes held for incomplete messages on all of a connection's streams together. */
  maxBufferedBytes: number;
}

/** The effective stream limit when --max-concurrent-streams is left at etcd's default (math.MaxUint32). */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 1000;

/**
 * The stream limit for --max-concurrent-streams: etcd's default (math.MaxUint32, no limit) becomes
 * Conclave's 1000 (each open stream holds memory; clients queue streams beyond the limit); any
 * other value is taken as given.
 */
export function effectiveMaxStreams(flag: number): number {
  return flag >= 0xffffffff ? DEFAULT_MAX_CONCURRENT_STREAMS : Math.max(1, flag);
}

export const DEFAULT_LIMITS: H2Limits = {
  maxConcurrentStreams: DEFAULT_MAX_CONCURRENT_STREAMS,
  maxBufferedBytes: 64 << 20,
};

/**
 * A token bucket: `burst` events at once, refilled at `perSecond`. take() says whether one more
 * event is within the rate. Only frames that do no useful work go through it, never a request.
 */
export class RateLimit {
  private tokens: number;
  private last = performance.now();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
  ) {
    this.tokens = burst;
  }

  take(): boolean {
    if (this.tokens < 1) {
      const now = performance.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000);
      this.last = now;
      if (this.tokens < 1) return false;
    }
    this.tokens--;
    return true;
  }
}

/** PING frames (acknowledged at once): a keep-alive client sends one every few seconds. */
export const pingLimit = (): RateLimit => new RateLimit(1000, 100);
/** SETTINGS frames (each acknowledged): clients send one or two per connection. */
export const settingsLimit = (): RateLimit => new RateLimit(100, 10);
/**
 * Streams that end before their request is answered: the client's RST_STREAM on an open stream, and
 * streams we refuse (REFUSED_STREAM). Rapid reset (CVE-2023-44487) opens and resets streams as fast
 * as it can to make the server start work it throws away.
 */
export const resetLimit = (): RateLimit => new RateLimit(1000, 200);
/** DATA frames with no data and no END_STREAM, CONTINUATION frames with no header data. */
export const emptyFrameLimit = (): RateLimit => new RateLimit(1000, 100);
