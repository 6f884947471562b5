// etcdserverpb.Watch: one bidirectional stream carries many watchers (create, cancel and progress
// requests in; created / canceled / event / progress responses out), served from this member's
// watchable store (watch/). As etcd, the server keeps a stream open after the client half-closes it.

import { Reader, etcdserverpb, type PartialMessage } from '@conclave/api';
import { GrpcCall } from '../grpc/grpc-call.js';
import type { ServerCall, ServiceHandlers } from '../grpc/grpc-server.js';
import { WatchHub, WatchStream, type WatchSink } from '../watch/index.js';
import type { ServiceContext } from './context.js';
import type { StreamGuard } from './stream-guard.js';

type WatchCall = ServerCall<etcdserverpb.WatchRequest, etcdserverpb.WatchResponse>;

/** etcd's grpcOverheadBytes: watch responses of fragmenting watchers are split above max-request-bytes + this. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** etcd's default --experimental-watch-progress-notify-interval. */
const DEFAULT_PROGRESS_INTERVAL_MS = 10 * 60_000;
/** How often a transport without drain events is tried again (etcd retries victims every 10 ms). */
const RETRY_MS = 10;

export interface WatchService {
  handlers: ServiceHandlers<typeof etcdserverpb.WatchService>;
  hub: WatchHub;
  /** Ends every watch stream (server shutdown). */
  close(err: unknown): void;
}

/** Writes pre-encoded messages straight to the HTTP/2 stream of a gRPC call, several per write. */
function grpcSink(call: GrpcCall<etcdserverpb.WatchRequest, etcdserverpb.WatchResponse>): WatchSink {
  let started = false;
  return {
    write(frames) {
      if (call.isFinished) return true;
      if (!started) {
        // The first message goes through the call, which sends the response headers.
        started = true;
        const len = frames.readUInt32BE(1);
        const ok = call.sendRaw(frames.subarray(5, 5 + len));
        return frames.length > 5 + len ? call.stream.write(frames.subarray(5 + len)) : ok;
      }
      return call.stream.write(frames);
    },
    onDrain(cb) {
      call.onDrain(cb);
    },
  };
}

/** Any other call (the JSON gateway): messages are decoded again and sent one by one. */
function messageSink(call: WatchCall): WatchSink {
  return {
    write(frames) {
      let ok = true;
      for (let p = 0; p < frames.length; ) {
        const len = frames.readUInt32BE(p + 1);
        const body = frames.subarray(p + 5, p + 5 + len);
        const msg = etcdserverpb.WatchResponse.decode(new Reader(body), body.length);
        ok = call.send(msg as PartialMessage<etcdserverpb.WatchResponse>) && ok;
        p += 5 + len;
      }
      return ok;
    },
    onDrain(cb) {
      setTimeout(cb, RETRY_MS).unref();
    },
  };
}

/**
 * The Watch service. `authorize`, when given, checks each create request of a call (auth: read
 * permission on the range) and returns null or the cancel reason to refuse it with — or a promise
 * of that, when the check must wait (a simple token issued by an entry this member has not applied
 * yet). Requests of a call are handled in order: while a check waits, later requests queue behind it.
 */
export function watchService(
  ctx: ServiceContext,
  guard: StreamGuard,
  authorize?: (call: WatchCall, req: etcdserverpb.WatchCreateRequest) => string | null | Promise<string | null>,
): WatchService {
  const m = ctx.member;
  const hub = new WatchHub({
    store: ctx.store,
    backend: ctx.backend,
    clusterId: () => m.clusterId,
    memberId: () => m.memberId,
    term: () => m.term,
    counters: ctx.metrics.watch,
  });
  const opts = {
    progressIntervalMs: ctx.watchProgressNotifyIntervalMs || DEFAULT_PROGRESS_INTERVAL_MS,
    fragmentBytes: ctx.maxRequestBytes + GRPC_OVERHEAD_BYTES,
  };
  const calls = new Set<WatchCall>();
  const streams = new Set<WatchStream>();
  const sum = (f: (w: WatchStream) => number) => (): number => {
    let n = 0;
    for (const w of streams) n += f(w);
    return n;
  };
  const detachMetrics = ctx.metrics.attachWatch({
    watchers: sum((w) => w.watchers.size),
    slowWatchers: sum((w) => w.lagging),
    streams: () => streams.size,
    pendingEvents: sum((w) => w.pendingEvents),
  });

  const Watch = (call: WatchCall): void => {
    if (!guard.admit(call)) return;
    calls.add(call);
    const sink = call instanceof GrpcCall ? grpcSink(call) : messageSink(call);
    const stream = new WatchStream(hub, sink, opts);
    streams.add(stream);
    const dispatch = (req: etcdserverpb.WatchRequest): Promise<void> | undefined => {
      const create = req.createRequest;
      if (create) {
        const denied = authorize?.(call, create) ?? null;
        if (denied instanceof Promise) return denied.then((d) => stream.create(create, d));
        stream.create(create, denied);
      } else if (req.cancelRequest) stream.cancel(req.cancelRequest.watchId);
      else if (req.progressRequest) stream.requestProgress();
      return undefined;
    };
    /** The last request still waiting for its permission check; later ones run after it. */
    let tail: Promise<void> | undefined;
    const settle = (p: Promise<void>): void => {
      // a request that fails here ends the call, as a synchronous failure would
      const q = p.catch((err: unknown) => call.finish(err));
      tail = q;
      void q.finally(() => {
        if (tail === q) tail = undefined;
      });
    };
    call.onMessage = (req) => {
      if (tail) settle(tail.then(() => dispatch(req)));
      else {
        const p = dispatch(req);
        if (p) settle(p);
      }
    };
    call.onHalfClose = () => {};
    call.onDone = () => {
      calls.delete(call);
      streams.delete(stream);
      guard.release(call);
      stream.close();
    };
  };

  return {
    handlers: { Watch },
    hub,
    close: (err) => {
      for (const c of [...calls]) c.finish(err);
      calls.clear();
      detachMetrics();
      hub.close();
    },
  };
}
