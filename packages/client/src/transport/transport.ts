// The wire under one endpoint: gRPC calls of three shapes — unary (KV, Lease grant, …), server
// stream (Maintenance.Snapshot) and bidirectional stream (Watch, LeaseKeepAlive) — on one
// connection per endpoint. Two implementations: the client's own HTTP/2 transport (H2Transport,
// the default) and @grpc/grpc-js (GrpcJsTransport: `transport: 'grpc-js'`, which brings HTTP
// CONNECT proxy support and is the reference the own transport is checked against). Messages
// cross this interface serialized, without their 5-byte gRPC prefix; statuses carry grpc-js's
// wording, so the retry rules read both alike.

/** Request metadata: lowercase header name → printable ASCII value (`token`, `hasleader`). */
export type Metadata = Readonly<Record<string, string>>;

/** How a call ended: a gRPC status code (0 = OK) and its message. */
export interface CallStatus {
  code: number;
  details: string;
}

export function status(code: number, details: string): CallStatus {
  return { code, details };
}

/** The events of a unary call. */
export interface UnaryListener {
  /** The response headers arrived (the request reached a server). */
  onHeaders(): void;
  /** The call ended: a status other than OK, or the response message. Called once, never from inside `unary()`. */
  onEnd(err: CallStatus | null, message: Buffer | null): void;
}

/** The events of a streaming call. */
export interface StreamListener {
  /** The response headers arrived. */
  onHeaders?(): void;
  /** One response message. */
  onMessage(message: Buffer): void;
  /**
   * The call ended: the status from the trailers (code OK when the server ended it normally),
   * a cancel, the deadline or a lost connection (UNAVAILABLE). Called once, never from inside the
   * call that opened the stream.
   */
  onEnd(st: CallStatus): void;
}

/** A streaming call: request messages written over time. */
export interface StreamCall {
  /** Queues one request message (serialized). Ignored after `end()` or once the call ended. */
  write(message: Buffer): void;
  /** Half-closes: no more request messages. */
  end(): void;
  /** Ends the call from our side; it ends with CANCELLED "Cancelled on client". */
  cancel(): void;
  /** The reader is behind: stop taking response messages off the connection (HTTP/2 flow control holds the server). */
  pause(): void;
  /** Take response messages again. */
  resume(): void;
}

/** A call to make: the method's path (e.g. "/etcdserverpb.KV/Range"), the serialized request, metadata, deadline. */
export interface CallRequest {
  path: string;
  message: Buffer;
  metadata: Metadata;
  /** A Date.now() time; Infinity: none. */
  deadline: number;
}

/** One endpoint's connection, whatever implements it. */
export abstract class Transport {
  /** A unary call. Returns a function that cancels it. */
  abstract unary(
    path: string,
    message: Buffer,
    metadata: Metadata,
    deadline: number,
    listener: UnaryListener,
  ): () => void;

  /** A bidirectional streaming call (`deadline` a Date.now() time; by default none). */
  abstract bidi(path: string, metadata: Metadata, listener: StreamListener, deadline?: number): StreamCall;

  /** New calls fail at once; calls in flight finish, then the connection closes. */
  abstract close(): void;

  /** A server-streaming call: the request, already half-closed, then response messages until the status. */
  serverStream(req: CallRequest, listener: StreamListener): StreamCall {
    const s = this.bidi(req.path, req.metadata, listener, req.deadline);
    s.write(req.message);
    s.end();
    return s;
  }
}

/** Which implementation a client uses for every endpoint. */
export type TransportKind = 'h2' | 'grpc-js';
