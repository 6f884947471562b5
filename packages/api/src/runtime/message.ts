// The shape every generated message codec has, and helpers to encode/decode whole messages.

import { DecodeError, Reader } from './reader.js';
import { Writer, sharedWriter } from './writer.js';

/**
 * Input accepted by encoders: every field optional (absent = the proto3 default), 64-bit integers as
 * bigint or number, nested messages partial too.
 */
export type PartialMessage<T> = T extends Uint8Array
  ? Uint8Array
  : T extends bigint
    ? bigint | number
    : T extends string | number | boolean
      ? T
      : T extends readonly (infer U)[]
        ? PartialMessage<U>[]
        : T extends object
          ? { [K in keyof T]?: PartialMessage<T[K]> }
          : T;

/** Encoder and decoder of one message type: binary protobuf and proto3 JSON. Every generated message has one, under the message's own name (`etcdserverpb.PutRequest` is both the type and its codec). */
export interface MessageCodec<T> {
  /** Fully-qualified protobuf name, e.g. "etcdserverpb.RangeRequest". */
  readonly typeName: string;
  /** A message with every field at its default, overridden by `init`. */
  create(init?: PartialMessage<T>): T;
  /** Writes the message's fields (without an outer length) to `w`. */
  encode(m: PartialMessage<T>, w: Writer): void;
  /** Reads fields from `r` up to `end`. */
  decode(r: Reader, end: number): T;
  /** Proto3 JSON with proto field names (as etcd's gateway): int64 as strings, bytes base64, enums by name, defaults omitted. */
  toJSON(m: PartialMessage<T>): Record<string, unknown>;
  /** Parses proto3 JSON (proto or lowerCamel field names; int64 as string or number; enums by name or number). */
  fromJSON(o: unknown): T;
}

/** Encodes a message to a new Buffer. */
export function encodeMessage<T>(codec: MessageCodec<T>, m: PartialMessage<T>): Buffer {
  const w = sharedWriter();
  codec.encode(m, w);
  return w.finish();
}

/** Encodes a message into a fresh writer after `reserve` leading bytes (left for a frame header). */
export function encodeMessageInto<T>(codec: MessageCodec<T>, m: PartialMessage<T>, w: Writer, reserve: number): void {
  w.reset(reserve);
  codec.encode(m, w);
}

/**
 * Decodes a whole message from `bytes`; throws {@link DecodeError} on malformed input or trailing bytes.
 *
 * @example
 * ```ts
 * const req = decodeMessage(etcdserverpb.PutRequest, bytes);
 * req.key; // Uint8Array
 * ```
 */
export function decodeMessage<T>(codec: MessageCodec<T>, bytes: Uint8Array): T {
  const r = new Reader(bytes);
  const m = codec.decode(r, bytes.length);
  if (r.pos !== bytes.length) throw new DecodeError('protobuf: trailing bytes');
  return m;
}

export { Reader, Writer, DecodeError };
