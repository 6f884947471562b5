// grpc-go's server keepalive as etcd configures it on its client URLs (--grpc-keepalive-min-time,
// --grpc-keepalive-interval, --grpc-keepalive-timeout): the enforcement policy that sends a client
// pinging too often away (GOAWAY ENHANCE_YOUR_CALM, debug data "too_many_pings"), and the server's
// own PINGs on a connection it has read nothing from, which close it when they go unanswered.
// Behaviour and defaults as grpc-go's transport has them (docs/operator-flags.md).

/** What one connection's keepalive does; durations in milliseconds. */
export interface KeepaliveOptions {
  /** Enforcement: a client PING sooner than this after its previous one is a strike. */
  minTimeMs: number;
  /** Enforcement: pings on a connection without open streams are allowed at minTimeMs (etcd: false). */
  permitWithoutStream: boolean;
  /** The server PINGs a connection it has read no frame from for this long. */
  timeMs: number;
  /** ...and closes it when no frame arrives within this long after that PING. */
  timeoutMs: number;
}

/** grpc-go's maxPingStrikes: the third ping too soon in a row ends the connection. */
export const MAX_PING_STRIKES = 2;
/** The debug data of grpc-go's GOAWAY for a client that pings too often. */
export const TOO_MANY_PINGS = Buffer.from('too_many_pings');
/** grpc-go's defaults: EnforcementPolicy.MinTime, ServerParameters.Time and .Timeout. */
const GRPC_MIN_TIME_MS = 5 * 60_000;
const GRPC_TIME_MS = 2 * 3600_000;
const GRPC_TIMEOUT_MS = 20_000;
/** Without streams (and without PermitWithoutStream) a client should not ping more than every 2 h. */
const NO_STREAM_PING_MS = 2 * 3600_000;
/** grpc-go raises a ServerParameters.Time below 1 s to 1 s. */
const MIN_SERVER_PING_MS = 1000;
/** Longest delay setTimeout takes; longer waits are done in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The keepalive etcd's flags give (values in ms, as parsed). As in etcd, a min-time of 0 sets no
 * enforcement policy, which leaves grpc-go's own (5 minutes); an interval or timeout of 0 sets no
 * server parameters, which leaves grpc-go's (2 hours, 20 seconds): "0 to disable" disables nothing.
 */
export function etcdKeepalive(minTimeMs: number, intervalMs: number, timeoutMs: number): KeepaliveOptions {
  const params = intervalMs > 0 && timeoutMs > 0;
  return {
    minTimeMs: minTimeMs > 0 ? minTimeMs : GRPC_MIN_TIME_MS,
    permitWithoutStream: false,
    timeMs: params ? Math.max(intervalMs, MIN_SERVER_PING_MS) : GRPC_TIME_MS,
    timeoutMs: params ? timeoutMs : GRPC_TIMEOUT_MS,
  };
}

/** etcd's defaults: --grpc-keepalive-min-time 5s, --grpc-keepalive-interval 2h, --grpc-keepalive-timeout 20s. */
export const ETCD_KEEPALIVE: KeepaliveOptions = etcdKeepalive(5000, 2 * 3600_000, 20_000);

/**
 * The enforcement policy of one connection (grpc-go's handlePing). A ping is a strike when it comes
 * sooner than minTimeMs after the previous one (2 hours when no stream is open and pings without
 * streams are not permitted); any HEADERS or DATA the server sent since the previous ping clear the
 * strikes instead (the client may be measuring the bandwidth of that data). A third strike in a row
 * ends the connection.
 */
export class PingPolicy {
  private lastPingAt = -Infinity;
  private strikes = 0;

  constructor(private readonly o: KeepaliveOptions) {}

  /**
   * A PING (not an ack) arrived at `now` (performance.now()) with `openStreams` streams open;
   * `sentStreamFrames`: the server sent HEADERS or DATA since the previous one. Returns false when
   * the client has struck out.
   */
  onPing(now: number, openStreams: number, sentStreamFrames: boolean): boolean {
    const last = this.lastPingAt;
    this.lastPingAt = now;
    if (sentStreamFrames) {
      this.strikes = 0;
      return true;
    }
    const min = openStreams < 1 && !this.o.permitWithoutStream ? NO_STREAM_PING_MS : this.o.minTimeMs;
    if (last + min > now) this.strikes++;
    return this.strikes <= MAX_PING_STRIKES;
  }
}

/** What the pinger needs of its connection. */
export interface PingedConnection {
  /** performance.now() of the last read from the client. */
  lastRead(): number;
  /** Sends the keepalive PING (8 zero bytes, as grpc-go's). */
  sendPing(): void;
  /** The client went silent: close the connection (grpc-go closes it without a GOAWAY). */
  kill(): void;
}

/**
 * The server side of keepalive (grpc-go's keepalive loop): after timeMs without reading anything the
 * connection gets a PING; if nothing at all is read within timeoutMs after it, the connection is
 * closed. Any frame read counts, not only the PING's ack.
 */
export class KeepalivePinger {
  private timer: NodeJS.Timeout | null = null;
  private due = 0;
  private outstanding = false;
  private timeoutLeft = 0;
  private prevRead: number;
  private stopped = false;

  constructor(
    private readonly o: KeepaliveOptions,
    private readonly conn: PingedConnection,
  ) {
    this.prevRead = performance.now();
    this.arm(o.timeMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.due = performance.now() + ms;
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(0, ms), MAX_TIMER_MS));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    if (this.stopped) return;
    const now = performance.now();
    if (now < this.due - 1) {
      // a wait longer than one timer allows
      this.timer = setTimeout(() => this.fire(), Math.min(this.due - now, MAX_TIMER_MS));
      this.timer.unref();
      return;
    }
    const lastRead = this.conn.lastRead();
    if (lastRead > this.prevRead) {
      // The client was heard from: the next check is timeMs after that.
      this.outstanding = false;
      this.prevRead = lastRead;
      this.arm(lastRead + this.o.timeMs - now);
      return;
    }
    if (this.outstanding && this.timeoutLeft <= 0) {
      this.stop();
      this.conn.kill();
      return;
    }
    if (!this.outstanding) {
      this.conn.sendPing();
      this.timeoutLeft = this.o.timeoutMs;
      this.outstanding = true;
    }
    const sleep = Math.min(this.o.timeMs, this.timeoutLeft);
    this.timeoutLeft -= sleep;
    this.arm(sleep);
  }
}
