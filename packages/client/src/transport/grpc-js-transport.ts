// The second Transport implementation: @grpc/grpc-js (`transport: 'grpc-js'`). One grpc-js channel
// per endpoint carries every call. It brings what the own transport does not have — HTTP CONNECT
// proxies through grpc_proxy / https_proxy / http_proxy, grpc-js's channel options — and it is the
// reference the own transport is checked against (the same contract tests run on both). Messages
// pass through as Buffers (identity serializers); grpc.Metadata stays inside this file.

import type * as grpc from '@grpc/grpc-js';
import { createRequire } from 'node:module';
import {
  type CallStatus,
  type Metadata,
  type StreamCall,
  type StreamListener,
  Transport,
  type UnaryListener,
} from './transport.js';

export interface GrpcJsTlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  serverName?: string;
}

/** The channel options a client's grpc-js channels start from (`grpcOptions` override them). */
export const DEFAULT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // each Client owns its connections: closing one client never affects another
  'grpc.use_local_subchannel_pool': 1,
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  // the own transport's dial backoff: 100 ms doubling to 2 s
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
  // the own transport's keepalive: a PING after 10 s of silence while calls are open, 5 s to answer
  // (etcd's default --grpc-keepalive-min-time is 5 s)
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
};

const identity = (b: Buffer): Buffer => b;

let loaded: typeof grpc | undefined;
/** grpc-js, loaded on first use: clients on the own transport never pay for loading it. */
function grpcJs(): typeof grpc {
  loaded ??= createRequire(import.meta.url)('@grpc/grpc-js') as typeof grpc;
  return loaded;
}

function toGrpcMetadata(md: Metadata): grpc.Metadata {
  const out = new (grpcJs().Metadata)();
  for (const name in md) out.set(name, md[name]!);
  return out;
}

function toStatus(st: { code: number; details: string }): CallStatus {
  return { code: st.code, details: st.details };
}

function callOptions(deadline: number): grpc.CallOptions {
  return Number.isFinite(deadline) ? { deadline } : {};
}

export class GrpcJsTransport extends Transport {
  private readonly client: grpc.Client;
  private closed = false;

  constructor(
    address: string,
    secure: boolean,
    tls: GrpcJsTlsOptions | undefined,
    channelOptions: grpc.ChannelOptions | undefined,
  ) {
    super();
    const opts: grpc.ChannelOptions = { ...DEFAULT_CHANNEL_OPTIONS, ...channelOptions };
    if (secure && tls?.serverName) opts['grpc.ssl_target_name_override'] = tls.serverName;
    const buf = (v: string | Buffer | undefined): Buffer | null =>
      v === undefined ? null : typeof v === 'string' ? Buffer.from(v) : v;
    const g = grpcJs();
    const creds = secure
      ? g.credentials.createSsl(buf(tls?.ca), buf(tls?.key), buf(tls?.cert))
      : g.credentials.createInsecure();
    this.client = new g.Client(address, creds, opts);
  }

  unary(path: string, message: Buffer, metadata: Metadata, deadline: number, listener: UnaryListener): () => void {
    if (this.closed) {
      process.nextTick(() => listener.onEnd(CLOSED, null));
      return () => {};
    }
    const call = this.client.makeUnaryRequest(
      path,
      identity,
      identity,
      message,
      toGrpcMetadata(metadata),
      callOptions(deadline),
      (err: grpc.ServiceError | null, res?: Buffer) => {
        if (err) listener.onEnd(toStatus(err), null);
        else listener.onEnd(null, res ?? Buffer.alloc(0));
      },
    );
    call.once('metadata', () => listener.onHeaders());
    return () => call.cancel();
  }

  bidi(path: string, metadata: Metadata, listener: StreamListener, deadline = Infinity): StreamCall {
    if (this.closed) return closedStream(listener);
    const call = this.client.makeBidiStreamRequest(
      path,
      identity,
      identity,
      toGrpcMetadata(metadata),
      callOptions(deadline),
    );
    follow(call, listener);
    let ended = false;
    return {
      write: (m) => {
        if (!ended) call.write(m);
      },
      end: () => {
        if (ended) return;
        ended = true;
        call.end();
      },
      cancel: () => call.cancel(),
      pause: () => call.pause(),
      resume: () => call.resume(),
    };
  }

  /** Like the own transport: later calls fail as never sent; calls in flight finish (grpc-js's close). */
  close(): void {
    this.closed = true;
    this.client.close();
  }
}

/** grpc-js throws on a call made after close(); the own transport's status for it instead (never sent). */
const CLOSED: CallStatus = { code: 14, details: 'Channel closed before call started' };

function closedStream(listener: StreamListener): StreamCall {
  process.nextTick(() => listener.onEnd(CLOSED));
  const none = (): void => {};
  return { write: none, end: none, cancel: none, pause: none, resume: none };
}

/**
 * Maps a grpc-js streaming call's events onto a StreamListener. A failure status ends it at once; an
 * OK status only once every message was read ('end': a paused reader still has messages buffered).
 */
function follow(call: grpc.ClientReadableStream<Buffer>, listener: StreamListener): void {
  let done = false;
  let readAll = false;
  let ok: CallStatus | undefined;
  const finish = (st: CallStatus): void => {
    if (done) return;
    done = true;
    listener.onEnd(st);
  };
  call.once('metadata', () => listener.onHeaders?.());
  call.on('data', (m: Buffer) => {
    if (!done) listener.onMessage(m);
  });
  call.once('end', () => {
    readAll = true;
    if (ok) finish(ok);
  });
  // the status event carries the outcome; 'error' is handled so it is not thrown
  call.on('error', () => {});
  call.on('status', (st: grpc.StatusObject) => {
    if (st.code !== 0) finish(toStatus(st));
    else if (readAll) finish(toStatus(st));
    else ok = toStatus(st);
  });
}
