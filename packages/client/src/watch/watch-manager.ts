// Runs every watch of a client over one shared Watch stream on one endpoint. When the stream is
// lost (endpoint down, connection dropped, member without leader), its watchers are re-created on a
// new stream on another endpoint, each starting at its own `nextRevision`, after a short jittered
// backoff (immediately for the first retry). Watch streams carry `hasleader` metadata so a member
// cut off from its leader cancels them instead of going quiet.

import type { Endpoint } from '../endpoint/endpoint.js';
import type { ConclaveError } from '../errors/base.js';
import { toConclaveError } from '../errors/map.js';
import type { Rpc } from '../rpc/rpc.js';
import { Reopen } from '../util/timers.js';
import { WatchStream } from './watch-stream.js';
import type { Watcher, WatcherHost } from './watcher.js';

/** Stream failures after which watches are resumed elsewhere (others end the watches with the error). */
function isTransient(err: ConclaveError): boolean {
  return err.retriable || err.code === 'Internal' || err.code === 'Unknown' || err.code === 'Canceled';
}

/** Fresh tokens a watch stream may be refused in a row before its watchers fail. */
const MAX_AUTH_REFRESHES = 2;

export class WatchManager implements WatcherHost {
  private stream: WatchStream | undefined;
  private connecting = false;
  /** Watchers waiting for a stream. */
  private readonly waiting = new Set<Watcher>();
  private readonly reopen = new Reopen(2000);
  private lastFailed: Endpoint | undefined;
  /** Fresh tokens fetched since a stream last worked (a member may not know a brand-new token yet). */
  private authRefreshes = 0;
  private closed = false;

  constructor(private readonly rpc: Rpc) {}

  add(w: Watcher): void {
    if (this.closed || w.closed) return;
    if (this.stream && !this.stream.isEnded) {
      this.stream.add(w);
      return;
    }
    this.waiting.add(w);
    this.connect();
  }

  remove(w: Watcher): void {
    this.waiting.delete(w);
    const s = this.stream;
    if (!s) return;
    s.remove(w);
    if (s.size === 0 && this.waiting.size === 0) {
      // nothing left to watch: end the stream (a new one is opened for the next watch)
      s.close();
      this.stream = undefined;
    }
  }

  requestProgress(_w: Watcher): void {
    this.stream?.requestProgress();
  }

  /** Ends every watch (iterations end) and the stream. */
  close(): void {
    this.closed = true;
    this.reopen.cancel();
    const s = this.stream;
    this.stream = undefined;
    s?.close();
    for (const w of this.waiting) w.close();
    this.waiting.clear();
  }

  /** Endpoint of the current stream (for tests and diagnostics). */
  get endpoint(): string | undefined {
    return this.stream?.endpoint.address;
  }

  private connect(): void {
    if (this.connecting || this.reopen.pending || this.closed) return;
    this.connecting = true;
    void this.open().finally(() => {
      this.connecting = false;
    });
  }

  private async open(): Promise<void> {
    const exclude = new Set<Endpoint>();
    if (this.lastFailed) exclude.add(this.lastFailed);
    const ep = this.rpc.pool.pick(exclude);
    let md;
    let token: string | undefined;
    try {
      ({ md, token } = await this.rpc.metadata(true));
    } catch (e) {
      const err = toConclaveError(e);
      if (isTransient(err)) this.retryLater();
      else {
        for (const w of this.waiting) w.fail(err);
        this.waiting.clear();
      }
      return;
    }
    if (this.closed) return;
    const stream = new WatchStream(
      ep,
      md,
      (s, err, ws) => this.onLost(s, err, ws),
      (s) => this.onHealthy(s),
      (err) => this.rpc.needsNewToken(err),
      token,
    );
    this.stream = stream;
    const ws = [...this.waiting];
    this.waiting.clear();
    for (const w of ws) if (!w.closed) stream.add(w);
  }

  private onLost(stream: WatchStream, err: ConclaveError, watchers: Watcher[]): void {
    if (this.stream === stream) this.stream = undefined;
    if (!this.closed && watchers.length > 0)
      this.rpc.settings.telemetry.logger.info(
        { stream: 'Watch', endpoint: stream.endpoint.address, error: err.message, watchers: watchers.length },
        'watch stream lost; resuming',
      );
    for (const w of watchers) w.onDisconnected(err);
    if (this.closed) return;
    const live = watchers.filter((w) => !w.closed);
    if (this.rpc.needsNewToken(err)) {
      // stale token: authenticate again (as unary calls do, at most twice in a row); if fresh
      // tokens are refused too, give up
      if (this.authRefreshes >= MAX_AUTH_REFRESHES) {
        for (const w of live) w.fail(err);
        return;
      }
      this.rpc.tokens?.invalidate(stream.token);
      this.authRefreshes++;
      for (const w of live) this.waiting.add(w);
      if (this.authRefreshes === 1) this.connect();
      else this.retryLater();
      return;
    }
    if (!isTransient(err)) {
      for (const w of live) w.fail(err);
      return;
    }
    this.rpc.pool.failed(stream.endpoint, err);
    this.lastFailed = stream.endpoint;
    for (const w of live) this.waiting.add(w);
    if (this.waiting.size > 0) this.retryLater();
  }

  /** Reconnects after a backoff. */
  private retryLater(): void {
    if (!this.closed) this.reopen.schedule(() => this.connect());
  }

  /** A watch was (re)created on `stream`: the stream works. */
  private onHealthy(stream: WatchStream): void {
    this.reopen.reset();
    this.authRefreshes = 0;
    this.lastFailed = undefined;
    this.rpc.pool.succeeded(stream.endpoint);
  }
}
