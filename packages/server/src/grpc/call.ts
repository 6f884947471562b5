// The call interface service handlers program against. Implemented by gRPC calls on HTTP/2 streams
// (grpc-call.ts) and by the JSON gateway's HTTP calls (http/gateway.ts), so one handler serves both.

import type { PartialMessage } from '@conclave/api';

export interface CallContext {
  /** Value of a metadata key (lower-case), or undefined. */
  metadata(key: string): string | undefined;
  /** Aborted when the client cancels, the deadline passes or the connection drops. */
  readonly signal: AbortSignal;
  /**
   * Calls `cb(reason)` when the call is cancelled (client cancel, deadline, connection lost): the
   * same moment `signal` aborts, without allocating an AbortController (hot paths use this).
   */
  onCancel(cb: (reason: unknown) => void): void;
  /** Remote address, for logs. */
  readonly peer: string;
  /** Common name of the verified client certificate, when client-cert auth is on. */
  readonly peerCommonName: string | undefined;
}

/** A streaming call: messages in through `onMessage`, out through `send`, ended by `finish`. */
export interface ServerCall<Req, Res> extends CallContext {
  onMessage: (req: Req) => void;
  /** The client will send no more messages. */
  onHalfClose: () => void;
  /** The call ended for any reason (finished, cancelled, connection lost). */
  onDone: () => void;
  /** Sends one message; false when the transport is congested (wait for onDrain before more). */
  send(res: PartialMessage<Res>): boolean;
  /** Calls `cb` once after a send that returned false, when the transport takes more. */
  onDrain(cb: () => void): void;
  /** Ends the call with OK, or with the error's status (GrpcStatusError → its code; else UNKNOWN). */
  finish(err?: unknown): void;
  readonly isFinished: boolean;
}
