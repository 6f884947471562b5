// Lease keepalive: one LeaseKeepAlive bidi stream per client renews every kept-alive lease.
//
// Each lease is renewed TTL/3 after its last successful renewal. A renewal's answer (TTL > 0) moves
// the lease's local deadline to "time the renewal was sent + TTL": the server cannot expire it
// before then. The stream carries `hasleader`, so a member without a leader ends it; a lost or
// unresponsive stream (no answer within TTL/3) is reopened on another endpoint with backoff, and
// renewals resume at once. A lease is reported lost only when the server answers TTL 0 (expired or
// revoked), or when its local deadline passes without a successful renewal: leader changes and
// endpoint failures in between are invisible to the holder.

import { GrpcCode, etcdserverpb } from '@conclave/api';
import type { Endpoint } from '../endpoint/endpoint.js';
import { type ConclaveError, LeaseLostError, UnavailableError } from '../errors/base.js';
import { errorFromStatus } from '../errors/map.js';
import { codecs } from '../rpc/codecs.js';
import type { Rpc } from '../rpc/rpc.js';
import { Emitter } from '../util/emitter.js';
import { Reopen } from '../util/timers.js';
import type { Metadata, StreamCall } from '../transport/transport.js';

const KEEPALIVE = etcdserverpb.LeaseService.LeaseKeepAlive;

/** The events of a LeaseKeepAlive. */
export interface KeepAliveEvents {
  /** A renewal succeeded; `ttl` is the TTL (seconds) the server granted. */
  renewed: [ttl: number];
  /** The lease is gone (see LeaseLostError.reason). */
  lost: [error: LeaseLostError];
}

/**
 * A handle on a kept-alive lease. `lost` resolves, `signal` aborts and the `lost` event fires when
 * the lease is lost. `close()` stops renewing (the lease then expires after its TTL); `signal` also
 * aborts then.
 */
export class LeaseKeepAlive extends Emitter<KeepAliveEvents> {
  readonly lost: Promise<LeaseLostError>;
  private readonly controller = new AbortController();
  private resolveLost!: (e: LeaseLostError) => void;
  private stopped = false;

  /** @internal Made by `lease.keepAlive()`. */
  constructor(
    readonly id: bigint,
    private readonly state: LeaseState,
    private readonly manager: KeepAliveManager,
  ) {
    super();
    this.lost = new Promise((res) => (this.resolveLost = res));
  }

  /** Aborts when the lease is lost (reason: the LeaseLostError) or the handle is closed. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** TTL in seconds granted by the last successful renewal (or the grant). */
  get ttl(): number {
    return this.state.ttlMs / 1000;
  }

  /** Local estimate (ms since the epoch) of when the lease expires if no renewal succeeds; Infinity before the first answer. */
  get expiresAt(): number {
    return Number.isFinite(this.state.deadline) ? Date.now() + (this.state.deadline - performance.now()) : Infinity;
  }

  get isClosed(): boolean {
    return this.stopped;
  }

  /** Stops renewing through this handle (the lease itself is not revoked). */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.manager.detach(this);
    this.controller.abort(new Error('keepalive closed'));
  }

  /** Stops renewing (`await using ka = client.lease.keepAlive(lease)`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** @internal */
  renewed(ttl: number): void {
    if (!this.stopped) this.emit('renewed', ttl);
  }

  /** @internal */
  markLost(err: LeaseLostError): void {
    if (this.stopped) return;
    this.stopped = true;
    this.resolveLost(err);
    this.controller.abort(err);
    this.emit('lost', err);
  }
}

interface LeaseState {
  id: bigint;
  handles: Set<LeaseKeepAlive>;
  /** TTL of the last answer (ms). */
  ttlMs: number;
  /** performance.now() time the lease expires if no renewal succeeds. */
  deadline: number;
  /** Send times of renewals not answered yet, oldest first. */
  sent: number[];
  /** Send time of the last renewal that succeeded (or of the grant): the next one is due TTL/3 later. */
  renewedAt: number;
  next: NodeJS.Timeout | undefined;
  expiry: NodeJS.Timeout | undefined;
}

/** @hidden Renews every kept-alive lease of a client on one LeaseKeepAlive stream. */
export class KeepAliveManager {
  private readonly leases = new Map<bigint, LeaseState>();
  private stream: StreamCall | undefined;
  private readonly codec = codecs(KEEPALIVE);
  private streamEndpoint: Endpoint | undefined;
  /** The auth token the stream was opened with. */
  private streamToken: string | undefined;
  private connecting = false;
  private readonly reopen = new Reopen(1000);
  private lastFailed: Endpoint | undefined;
  private closed = false;

  constructor(private readonly rpc: Rpc) {}

  /** Endpoint of the current stream (diagnostics and tests). */
  get endpoint(): string | undefined {
    return this.streamEndpoint?.address;
  }

  /**
   * Starts (or joins) keeping `id` alive. `ttlSeconds` and `grantedAt` (performance.now() before the
   * grant was sent), when known, set the deadline before the first renewal is answered.
   */
  keepAlive(id: bigint, ttlSeconds?: number, grantedAt?: number): LeaseKeepAlive {
    if (this.closed) throw this.rpc.closedError();
    let st = this.leases.get(id);
    if (!st) {
      st = {
        id,
        handles: new Set(),
        ttlMs: (ttlSeconds ?? 0) * 1000,
        deadline: Infinity,
        sent: [],
        renewedAt: grantedAt ?? performance.now(),
        next: undefined,
        expiry: undefined,
      };
      if (ttlSeconds !== undefined && grantedAt !== undefined) this.setDeadline(st, grantedAt + ttlSeconds * 1000);
      this.leases.set(id, st);
      this.tick(st);
    }
    const h = new LeaseKeepAlive(id, st, this);
    st.handles.add(h);
    return h;
  }

  /** @internal A handle was closed. */
  detach(h: LeaseKeepAlive): void {
    const st = this.leases.get(h.id);
    if (!st) return;
    st.handles.delete(h);
    if (st.handles.size === 0) this.drop(st);
  }

  close(): void {
    this.closed = true;
    this.reopen.cancel();
    for (const st of [...this.leases.values()]) for (const h of [...st.handles]) h.close();
    this.endStream();
  }

  private drop(st: LeaseState): void {
    if (st.next) clearTimeout(st.next);
    if (st.expiry) clearTimeout(st.expiry);
    this.leases.delete(st.id);
    if (this.leases.size === 0) {
      // nothing left to keep alive: the next lease starts afresh (no backoff left over from failures)
      this.endStream();
      this.reopen.reset();
      this.lastFailed = undefined;
    }
  }

  private setDeadline(st: LeaseState, deadline: number): void {
    st.deadline = deadline;
    if (st.expiry) clearTimeout(st.expiry);
    st.expiry = setTimeout(() => this.lose(st, 'ttl-elapsed'), Math.max(0, deadline - performance.now()));
  }

  private lose(st: LeaseState, reason: 'expired' | 'ttl-elapsed'): void {
    if (this.leases.get(st.id) !== st) return;
    this.drop(st);
    const message =
      reason === 'expired'
        ? `lease ${st.id.toString(16)} expired or was revoked`
        : `lease ${st.id.toString(16)} lost: its TTL passed without a successful renewal`;
    const err = new LeaseLostError({ message, code: 'LeaseLost', retriable: false }, st.id, reason);
    for (const h of [...st.handles]) h.markLost(err);
  }

  /** Sends a renewal now (if there is a stream) and schedules the next one. */
  private tick(st: LeaseState): void {
    if (st.next) clearTimeout(st.next);
    st.next = undefined;
    if (this.leases.get(st.id) !== st) return;
    const interval = Math.max(100, (st.ttlMs || 3000) / 3);
    const now = performance.now();
    if (this.stream && st.sent.length > 0 && now - st.sent[0]! > interval) {
      // the last renewal went unanswered for TTL/3: treat the stream as dead and move on
      this.lost(
        this.stream,
        new UnavailableError({
          message: `keepalive stream to ${this.endpoint} unresponsive`,
          code: 'Unavailable',
          retriable: true,
          endpoint: this.endpoint,
        }),
      );
      return;
    }
    if (this.stream) {
      st.sent.push(now);
      this.stream.write(this.codec.serialize({ ID: st.id }));
    } else this.connect();
    st.next = setTimeout(() => this.tick(st), interval);
  }

  private onData(res: etcdserverpb.LeaseKeepAliveResponse): void {
    const st = this.leases.get(res.ID);
    if (!st) return;
    const sentAt = st.sent.shift() ?? performance.now();
    if (res.TTL <= 0n) {
      this.lose(st, 'expired');
      return;
    }
    this.reopen.reset();
    this.lastFailed = undefined;
    const now = performance.now();
    const t = this.rpc.settings.telemetry;
    // due TTL/3 after the last success; past 2/3 of the TTL the lease came close to being lost
    const late = Math.max(0, now - (st.renewedAt + (st.ttlMs || 3000) / 3));
    if (t.measuring) {
      t.record('conclave.lease.keepalive.rtt', now - sentAt);
      t.record('conclave.lease.keepalive.lateness', late);
    }
    if (late > (st.ttlMs || 3000) / 3)
      t.logger.warn(
        { lease: st.id.toString(16), ttlMs: st.ttlMs, lateMs: Math.round(late), leftMs: Math.round(st.deadline - now) },
        'lease renewal late',
      );
    st.renewedAt = sentAt;
    st.ttlMs = Number(res.TTL) * 1000;
    const deadline = sentAt + st.ttlMs;
    if (deadline > st.deadline || !Number.isFinite(st.deadline)) this.setDeadline(st, deadline);
    if (st.next) clearTimeout(st.next);
    st.next = setTimeout(() => this.tick(st), Math.max(100, st.ttlMs / 3));
    const ttl = Number(res.TTL);
    for (const h of st.handles) h.renewed(ttl);
  }

  private connect(): void {
    if (this.stream || this.connecting || this.reopen.pending || this.closed || this.leases.size === 0) return;
    this.connecting = true;
    void this.open().finally(() => (this.connecting = false));
  }

  private async open(): Promise<void> {
    const exclude = new Set<Endpoint>();
    if (this.lastFailed) exclude.add(this.lastFailed);
    const ep = this.rpc.pool.pick(exclude);
    let md: Metadata;
    let token: string | undefined;
    try {
      ({ md, token } = await this.rpc.metadata(true));
    } catch {
      // could not get an auth token now; try again after a backoff
      this.retryLater();
      return;
    }
    if (this.closed || this.leases.size === 0) return;
    const stream: StreamCall = ep.transport.bidi(KEEPALIVE.path, md, {
      onMessage: (b) => {
        if (this.stream !== stream) return;
        let res: etcdserverpb.LeaseKeepAliveResponse;
        try {
          res = this.codec.deserialize(b);
        } catch {
          this.lost(
            stream,
            errorFromStatus({ code: GrpcCode.INTERNAL, details: 'Failed to parse server response' }, ep.address),
          );
          return;
        }
        this.onData(res);
      },
      onEnd: (st) => {
        if (st.code !== GrpcCode.OK) this.lost(stream, errorFromStatus(st, ep.address, st));
        else
          this.lost(
            stream,
            new UnavailableError({
              message: `keepalive stream ended by ${ep.address}`,
              code: 'Unavailable',
              retriable: true,
              endpoint: ep.address,
            }),
          );
      },
    });
    this.stream = stream;
    this.streamEndpoint = ep;
    this.streamToken = token;
    for (const st of this.leases.values()) this.tick(st);
  }

  private lost(stream: StreamCall, err: ConclaveError): void {
    if (this.stream !== stream) return;
    const ep = this.streamEndpoint!;
    this.stream = undefined;
    this.streamEndpoint = undefined;
    stream.cancel();
    for (const st of this.leases.values()) st.sent = [];
    if (this.closed) return;
    this.rpc.settings.telemetry.logger.info(
      { stream: 'LeaseKeepAlive', endpoint: ep.address, error: err.message, leases: this.leases.size },
      'keepalive stream lost; reopening',
    );
    if (err.code === 'InvalidAuthToken') this.rpc.tokens?.invalidate(this.streamToken);
    else this.rpc.pool.failed(ep, err);
    this.lastFailed = ep;
    this.retryLater();
  }

  /** Reopens the stream after a backoff. */
  private retryLater(): void {
    if (this.closed || this.leases.size === 0) return;
    this.reopen.schedule(() => this.connect());
  }

  private endStream(): void {
    const s = this.stream;
    this.stream = undefined;
    this.streamEndpoint = undefined;
    if (s) {
      s.end();
      s.cancel();
    }
  }
}
