// One Watch bidi stream on one connection, multiplexing many watchers. Create requests go out one
// at a time: etcd answers them in order and assigns IDs itself, so the next `created` response
// belongs to the create in flight (as in etcd's Go client). Responses split by the server
// (`fragment`) are reassembled before delivery.

import { etcdserverpb, GrpcCode, type PartialMessage } from '@conclave/api';
import type { Endpoint } from '../endpoint/endpoint.js';
import { type ConclaveError, UnavailableError } from '../errors/base.js';
import { type CompactedError, WatchCanceledError } from '../errors/etcd.js';
import { errorFromStatus, statusMessage } from '../errors/map.js';
import { codecs } from '../rpc/codecs.js';
import type { Metadata, StreamCall } from '../transport/transport.js';
import type { Watcher } from './watcher.js';

const WATCH = etcdserverpb.WatchService.Watch;

export type StreamLost = (stream: WatchStream, err: ConclaveError, watchers: Watcher[]) => void;

export class WatchStream {
  /** The Watch call, on the endpoint's transport. */
  private readonly call: StreamCall;
  private readonly serialize: (req: PartialMessage<etcdserverpb.WatchRequest>) => Buffer;
  /** Watchers waiting to send their create request. */
  private readonly queue: Watcher[] = [];
  /** The watcher whose create request is in flight. */
  private inflight: Watcher | undefined;
  /** The in-flight watcher was removed; cancel it once its ID is known. */
  private inflightRemoved = false;
  private readonly active = new Map<bigint, Watcher>();
  private ended = false;

  constructor(
    readonly endpoint: Endpoint,
    metadata: Metadata,
    private readonly onLost: StreamLost,
    private readonly onHealthy: (stream: WatchStream) => void,
    /** Cancel reasons that mean the stream's credentials are stale: the whole stream is lost with them instead. */
    private readonly isStreamError: (err: ConclaveError) => boolean,
    /** The auth token the stream was opened with (forgotten if the server refuses it). */
    readonly token?: string,
  ) {
    const c = codecs(WATCH);
    this.serialize = c.serialize;
    this.call = endpoint.transport.bidi(WATCH.path, metadata, {
      onMessage: (b) => {
        let res: etcdserverpb.WatchResponse;
        try {
          res = c.deserialize(b);
        } catch {
          this.lose(
            errorFromStatus({ code: GrpcCode.INTERNAL, details: 'Failed to parse server response' }, endpoint.address),
          );
          return;
        }
        try {
          this.onData(res);
        } catch (e) {
          // an exception from a listener is the program's, not the connection's (as with grpc-js,
          // where it escaped from the stream's 'data' event)
          process.nextTick(() => {
            throw e;
          });
        }
      },
      onEnd: (st) => {
        if (st.code === GrpcCode.OK) {
          this.lose(
            new UnavailableError({
              message: `watch stream ended by ${endpoint.address}`,
              code: 'Unavailable',
              retriable: true,
              endpoint: endpoint.address,
            }),
          );
        } else this.lose(errorFromStatus(st, endpoint.address, st));
      },
    });
  }

  /** Watchers on this stream (created, being created, or queued). */
  get size(): number {
    return this.active.size + this.queue.length + (this.inflight && !this.inflightRemoved ? 1 : 0);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  add(w: Watcher): void {
    if (this.ended) throw new Error('watch stream already ended');
    this.queue.push(w);
    this.sendNext();
  }

  remove(w: Watcher): void {
    const i = this.queue.indexOf(w);
    if (i >= 0) this.queue.splice(i, 1);
    if (this.inflight === w) this.inflightRemoved = true;
    if (w.serverId !== undefined && this.active.get(w.serverId) === w) {
      this.active.delete(w.serverId);
      this.write({ cancelRequest: { watchId: w.serverId } });
      w.serverId = undefined;
    }
  }

  requestProgress(): void {
    this.write({ progressRequest: {} });
  }

  /** Ends the stream without reporting a loss. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.call.cancel();
  }

  private write(req: PartialMessage<etcdserverpb.WatchRequest>): void {
    if (!this.ended) this.call.write(this.serialize(req));
  }

  private sendNext(): void {
    if (this.inflight || this.ended) return;
    const w = this.queue.shift();
    if (!w) return;
    this.inflight = w;
    this.inflightRemoved = false;
    this.write({ createRequest: w.createRequest() });
  }

  private onData(res: etcdserverpb.WatchResponse): void {
    if (this.ended) return;
    const rev = res.header?.revision ?? 0n;
    if (res.created) {
      const w = this.inflight;
      const removed = this.inflightRemoved;
      this.inflight = undefined;
      this.inflightRemoved = false;
      if (w) {
        if (res.canceled) {
          if (!removed) {
            // the watcher goes back to the queue first, so a stream-level loss re-creates it too
            if (this.onCanceled(w, res) === 'lost') return;
          }
        } else if (removed) {
          this.write({ cancelRequest: { watchId: res.watchId } });
        } else {
          w.serverId = res.watchId;
          this.active.set(res.watchId, w);
          this.onHealthy(this);
          w.onCreated(rev, this.endpoint.address);
        }
      }
      this.sendNext();
      return;
    }
    if (res.watchId === -1n) {
      // answer to a progress request: every watcher on the stream is in sync up to `rev`
      if (res.events.length === 0) for (const w of this.active.values()) w.onProgress(rev);
      return;
    }
    const w = this.active.get(res.watchId);
    if (!w) return;
    if (res.canceled) {
      this.active.delete(res.watchId);
      w.serverId = undefined;
      this.onCanceled(w, res);
      return;
    }
    if (res.fragment) {
      for (const e of res.events) w.fragments.push(e);
      return;
    }
    let events = res.events;
    if (w.fragments.length > 0) {
      events = w.fragments.concat(events);
      w.fragments = [];
    }
    w.onEvents(events, rev);
  }

  private onCanceled(w: Watcher, res: etcdserverpb.WatchResponse): 'lost' | undefined {
    if (res.compactRevision > 0n) {
      const err = errorFromStatus(
        { code: GrpcCode.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' },
        this.endpoint.address,
      ) as CompactedError;
      w.onCompactedCancel(res.compactRevision, err);
      return undefined;
    }
    const reason = statusMessage(res.cancelReason);
    const err = reason
      ? errorFromStatus({ code: GrpcCode.UNKNOWN, details: reason }, this.endpoint.address)
      : new WatchCanceledError({
          message: `watch canceled by ${this.endpoint.address}`,
          code: 'WatchCanceled',
          retriable: false,
          endpoint: this.endpoint.address,
        });
    if (this.isStreamError(err)) {
      this.queue.unshift(w);
      this.lose(err);
      return 'lost';
    }
    w.fail(err);
    return undefined;
  }

  private lose(err: ConclaveError): void {
    if (this.ended) return;
    this.ended = true;
    const watchers: Watcher[] = [...this.active.values()];
    if (this.inflight && !this.inflightRemoved) watchers.push(this.inflight);
    watchers.push(...this.queue);
    this.active.clear();
    this.queue.length = 0;
    this.inflight = undefined;
    this.call.cancel();
    // a stream canceled by the server with CANCELLED is as transient as a dropped one
    const e =
      err.grpcCode === GrpcCode.CANCELLED
        ? new UnavailableError({
            message: err.message,
            code: 'Unavailable',
            retriable: true,
            cause: err,
            endpoint: err.endpoint,
          })
        : err;
    this.onLost(this, e, watchers);
  }
}
