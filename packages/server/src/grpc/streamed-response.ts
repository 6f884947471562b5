// A unary response too large to build at once: its protobuf body comes from a source a chunk at a
// time, and the call writes each chunk only when the stream has drained the last (GrpcCall.
// sendStreamed), so a client that reads slowly or grants no flow-control window makes the member
// hold at most a chunk and the stream's high-water mark, not the whole response.

import { GrpcCode, GrpcStatusError } from '@conclave/api';

export interface BodySource {
  /** Bytes of the whole protobuf body. */
  readonly size: number;
  /** The next chunk of the body (a new buffer the caller may keep), null after the last. */
  next(): Buffer | null;
  /** Done with the source: after the last chunk, or early when the call ends. Idempotent. */
  close(): void;
}

/** A handler's answer whose body a BodySource produces (see grpc-server.ts UnaryHandler). */
export class StreamedResponse {
  constructor(readonly body: BodySource) {}
}

/** grpc-go's default largest message a server sends (math.MaxInt32), which etcd keeps. */
export const MAX_SEND_BYTES = 2 ** 31 - 1;

/** grpc-go's error for a response larger than MAX_SEND_BYTES. */
export function tooLarge(size: number): GrpcStatusError {
  return new GrpcStatusError(
    GrpcCode.RESOURCE_EXHAUSTED,
    `grpc: trying to send message larger than max (${size} vs. ${MAX_SEND_BYTES})`,
  );
}

/** The whole body in one buffer (for callers that need the message, such as the JSON gateway). */
export function collectBody(src: BodySource): Buffer {
  try {
    if (src.size > MAX_SEND_BYTES) throw tooLarge(src.size);
    const out = Buffer.allocUnsafe(src.size);
    let pos = 0;
    for (let c = src.next(); c !== null; c = src.next()) {
      out.set(c, pos);
      pos += c.length;
    }
    if (pos !== src.size) throw new Error(`streamed response: ${pos} bytes produced, ${src.size} announced`);
    return out;
  } finally {
    src.close();
  }
}
