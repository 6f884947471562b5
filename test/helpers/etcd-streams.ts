// An etcd v3 gRPC client for tests (streams included), on @grpc/grpc-js with the generated codecs: unary KV and
// Lease calls as promises, and Watch / LeaseKeepAlive bidirectional streams whose responses are
// collected in arrays and awaited by predicate. Deliberately thin: no retries, no balancing (the SDK
// is @conclave/client's job); tests use it to see exactly what a server sends on the wire.

import * as grpc from '@grpc/grpc-js';
import { etcdserverpb, grpcServiceDefinition, type PartialMessage } from '@conclave/api';

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

function ctor(
  def: object,
  name: string,
): new (
  addr: string,
  creds: grpc.ChannelCredentials,
  opts?: object,
) => AnyClient {
  return grpc.makeGenericClientConstructor(def as grpc.ServiceDefinition, name) as unknown as new (
    addr: string,
    creds: grpc.ChannelCredentials,
    opts?: object,
  ) => AnyClient;
}

const KvCtor = ctor(grpcServiceDefinition(etcdserverpb.KVService), 'KV');
const WatchCtor = ctor(grpcServiceDefinition(etcdserverpb.WatchService), 'Watch');
const LeaseCtor = ctor(grpcServiceDefinition(etcdserverpb.LeaseService), 'Lease');

/** A gRPC error as seen by the client: status code and message. */
export interface RpcError extends Error {
  code: number;
  details: string;
}

/** Collects the responses of a bidirectional stream. */
export class RawStream<Req, Res> {
  readonly responses: Res[] = [];
  error: RpcError | null = null;
  ended = false;
  private waiters: Array<() => void> = [];

  constructor(private readonly call: grpc.ClientDuplexStream<PartialMessage<Req>, Res>) {
    call.on('data', (r: Res) => {
      this.responses.push(r);
      this.wake();
    });
    call.on('error', (e: RpcError) => {
      this.error = e;
      this.wake();
    });
    call.on('end', () => {
      this.ended = true;
      this.wake();
    });
    call.on('status', () => this.wake());
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  write(req: PartialMessage<Req>): void {
    this.call.write(req);
  }

  /** Half-closes the client side. */
  end(): void {
    this.call.end();
  }

  /** Cancels the call (RST_STREAM). */
  cancel(): void {
    this.call.cancel();
  }

  /** Pauses/resumes reading (to make the server see a slow consumer). */
  pause(): void {
    this.call.pause();
  }

  resume(): void {
    this.call.resume();
  }

  /** Resolves once `pred(responses)` holds; rejects after `timeoutMs` or on a stream error. */
  async until(pred: (rs: Res[]) => boolean, timeoutMs = 5000): Promise<Res[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (pred(this.responses)) return this.responses;
      if (this.error) throw this.error;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`stream condition not met within ${timeoutMs} ms; got ${this.responses.length} responses`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits until at least `n` responses arrived. */
  count(n: number, timeoutMs = 5000): Promise<Res[]> {
    return this.until((rs) => rs.length >= n, timeoutMs);
  }

  /** Waits until the stream ended (OK or error); returns the error, if any. */
  async closed(timeoutMs = 5000): Promise<RpcError | null> {
    await this.until(() => this.ended || this.error !== null, timeoutMs).catch((e: unknown) => {
      if (e !== this.error) throw e;
    });
    return this.error;
  }
}

export interface StreamClient {
  kv: AnyClient;
  watchClient: AnyClient;
  leaseClient: AnyClient;
  put(req: PartialMessage<etcdserverpb.PutRequest>): Promise<etcdserverpb.PutResponse>;
  range(req: PartialMessage<etcdserverpb.RangeRequest>): Promise<etcdserverpb.RangeResponse>;
  deleteRange(req: PartialMessage<etcdserverpb.DeleteRangeRequest>): Promise<etcdserverpb.DeleteRangeResponse>;
  txn(req: PartialMessage<etcdserverpb.TxnRequest>): Promise<etcdserverpb.TxnResponse>;
  compact(req: PartialMessage<etcdserverpb.CompactionRequest>): Promise<etcdserverpb.CompactionResponse>;
  leaseGrant(req: PartialMessage<etcdserverpb.LeaseGrantRequest>): Promise<etcdserverpb.LeaseGrantResponse>;
  leaseRevoke(req: PartialMessage<etcdserverpb.LeaseRevokeRequest>): Promise<etcdserverpb.LeaseRevokeResponse>;
  leaseTimeToLive(
    req: PartialMessage<etcdserverpb.LeaseTimeToLiveRequest>,
  ): Promise<etcdserverpb.LeaseTimeToLiveResponse>;
  leaseLeases(req?: PartialMessage<etcdserverpb.LeaseLeasesRequest>): Promise<etcdserverpb.LeaseLeasesResponse>;
  /** A Watch stream, with call metadata (e.g. an auth `token`) when given. */
  watch(metadata?: grpc.Metadata): RawStream<etcdserverpb.WatchRequest, etcdserverpb.WatchResponse>;
  keepAlive(): RawStream<etcdserverpb.LeaseKeepAliveRequest, etcdserverpb.LeaseKeepAliveResponse>;
  close(): void;
}

function unary<Req, Res>(client: AnyClient, method: string): (req: PartialMessage<Req>) => Promise<Res> {
  return (req) =>
    new Promise<Res>((resolve, reject) => {
      (client[method] as (r: unknown, cb: (e: RpcError | null, res: Res) => void) => void).call(
        client,
        req,
        (err, res) => {
          if (err) reject(err);
          else resolve(res);
        },
      );
    });
}

/** Connects to `endpoint` (host:port) without TLS. */
export function streamClient(endpoint: string): StreamClient {
  const creds = grpc.credentials.createInsecure();
  const opts = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
  const kv = new KvCtor(endpoint, creds, opts);
  const watchClient = new WatchCtor(endpoint, creds, opts);
  const leaseClient = new LeaseCtor(endpoint, creds, opts);
  return {
    kv,
    watchClient,
    leaseClient,
    put: unary<etcdserverpb.PutRequest, etcdserverpb.PutResponse>(kv, 'Put'),
    range: unary<etcdserverpb.RangeRequest, etcdserverpb.RangeResponse>(kv, 'Range'),
    deleteRange: unary<etcdserverpb.DeleteRangeRequest, etcdserverpb.DeleteRangeResponse>(kv, 'DeleteRange'),
    txn: unary<etcdserverpb.TxnRequest, etcdserverpb.TxnResponse>(kv, 'Txn'),
    compact: unary<etcdserverpb.CompactionRequest, etcdserverpb.CompactionResponse>(kv, 'Compact'),
    leaseGrant: unary<etcdserverpb.LeaseGrantRequest, etcdserverpb.LeaseGrantResponse>(leaseClient, 'LeaseGrant'),
    leaseRevoke: unary<etcdserverpb.LeaseRevokeRequest, etcdserverpb.LeaseRevokeResponse>(leaseClient, 'LeaseRevoke'),
    leaseTimeToLive: unary<etcdserverpb.LeaseTimeToLiveRequest, etcdserverpb.LeaseTimeToLiveResponse>(
      leaseClient,
      'LeaseTimeToLive',
    ),
    leaseLeases: (req = {}) =>
      unary<etcdserverpb.LeaseLeasesRequest, etcdserverpb.LeaseLeasesResponse>(leaseClient, 'LeaseLeases')(req),
    watch: (metadata) =>
      new RawStream(
        (
          watchClient['Watch'] as (
            md?: grpc.Metadata,
          ) => grpc.ClientDuplexStream<PartialMessage<etcdserverpb.WatchRequest>, etcdserverpb.WatchResponse>
        ).call(watchClient, metadata),
      ),
    keepAlive: () =>
      new RawStream(
        (
          leaseClient['LeaseKeepAlive'] as () => grpc.ClientDuplexStream<
            PartialMessage<etcdserverpb.LeaseKeepAliveRequest>,
            etcdserverpb.LeaseKeepAliveResponse
          >
        ).call(leaseClient),
      ),
    close: () => {
      kv.close();
      watchClient.close();
      leaseClient.close();
    },
  };
}
