// Wire encoding of watch responses, built for fan-out: each event is encoded once (as a framed
// `events` field, with and without prev_kv) and spliced into the response of every watcher that
// receives it, behind a response header encoded once per revision. Responses come out as complete
// gRPC messages (5-byte length prefix + protobuf WatchResponse), ready to be written in batches.

import { etcdserverpb, Writer, type PartialMessage } from '@conclave/api';
import { encodeKeyValue, type KeyValue, type MvccEvent, varintSize, writeVarint } from '../mvcc/index.js';

const writer = new Writer(4096);

/** One committed event and its encodings, shared by every watcher that receives it. */
export class EventBytes {
  /** The key as a latin1 string (for watcher lookup). */
  readonly key: string;
  readonly rev: number;
  readonly isPut: boolean;
  /** A put that created the key (etcd sends no prev_kv for those). */
  readonly isCreate: boolean;
  /** The previous KeyValue once looked up: null when there is none (or it was compacted). */
  prev: KeyValue | null | undefined = undefined;
  private kv: Buffer | null = null;
  private frame: Buffer | null = null;
  private framePrev: Buffer | null = null;

  constructor(readonly ev: MvccEvent) {
    this.key = ev.kv.key.toString('latin1');
    this.rev = ev.kv.modRevision;
    this.isPut = ev.type === 'put';
    this.isCreate = this.isPut && ev.kv.createRevision === ev.kv.modRevision;
  }

  /** The framed `events` field (tag 11) of this event, without prev_kv. */
  framed(): Buffer {
    return (this.frame ??= this.encode(null));
  }

  /** The framed event with prev_kv when there is one (after `prev` was looked up). */
  framedWithPrev(): Buffer {
    if (!this.prev) return this.framed();
    return (this.framePrev ??= this.encode(encodeKeyValue(this.prev)));
  }

  private encode(prev: Buffer | null): Buffer {
    const kv = (this.kv ??= encodeKeyValue(this.ev.kv));
    let len = (this.isPut ? 0 : 2) + 1 + varintSize(kv.length) + kv.length;
    if (prev) len += 1 + varintSize(prev.length) + prev.length;
    const out = Buffer.allocUnsafe(1 + varintSize(len) + len);
    let p = 0;
    out[p++] = 0x5a;
    p = writeVarint(out, p, len);
    if (!this.isPut) {
      out[p++] = 0x08;
      out[p++] = 0x01;
    }
    out[p++] = 0x12;
    p = writeVarint(out, p, kv.length);
    kv.copy(out, p);
    p += kv.length;
    if (prev) {
      out[p++] = 0x1a;
      p = writeVarint(out, p, prev.length);
      prev.copy(out, p);
    }
    return out;
  }
}

/** The framed `header` field (tag 1) of a response. */
export function encodeHeaderField(h: PartialMessage<etcdserverpb.ResponseHeader>): Buffer {
  const w = writer.reset();
  w.uint32(10);
  const at = w.beginLength();
  etcdserverpb.ResponseHeader.encode(h, w);
  w.endLength(at);
  return w.finish();
}

/** Size of the framed `watch_id` field (omitted when 0). */
function watchIdSize(id: bigint): number {
  if (id === 0n) return 0;
  return id < 0n ? 11 : 1 + varintSize(Number(id));
}

/** Size of a response body carrying `eventsBytes` of framed events (for fragmenting). */
export function eventResponseSize(header: Buffer, watchId: bigint, eventsBytes: number, fragment: boolean): number {
  return header.length + watchIdSize(watchId) + (fragment ? 2 : 0) + eventsBytes;
}

/** A gRPC message: a WatchResponse with header, watch_id, fragment and the given framed events. */
export function eventResponse(header: Buffer, watchId: bigint, events: readonly Buffer[], fragment: boolean): Buffer {
  let evLen = 0;
  for (const e of events) evLen += e.length;
  const body = eventResponseSize(header, watchId, evLen, fragment);
  const out = Buffer.allocUnsafe(5 + body);
  writeEventResponse(out, 0, header, watchId, events, fragment, body);
  return out;
}

/**
 * Writes the gRPC message of an events response (body size `body`, from eventResponseSize) into
 * `out` at `p`; returns the position after it.
 */
export function writeEventResponse(
  out: Buffer,
  p: number,
  header: Buffer,
  watchId: bigint,
  events: readonly Buffer[],
  fragment: boolean,
  body: number,
): number {
  out[p] = 0;
  out.writeUInt32BE(body, p + 1);
  p += 5;
  out.set(header, p);
  p += header.length;
  if (watchId !== 0n) {
    out[p++] = 0x10;
    if (watchId < 0n) {
      let u = BigInt.asUintN(64, watchId);
      for (let i = 0; i < 9; i++) {
        out[p++] = Number(u & 0x7fn) | 0x80;
        u >>= 7n;
      }
      out[p++] = Number(u);
    } else {
      p = writeVarint(out, p, Number(watchId));
    }
  }
  if (fragment) {
    out[p++] = 0x38;
    out[p++] = 0x01;
  }
  for (const e of events) {
    out.set(e, p);
    p += e.length;
  }
  return p;
}

/** A gRPC message for any WatchResponse (control responses: created, canceled, progress). */
export function controlResponse(r: PartialMessage<etcdserverpb.WatchResponse>): Buffer {
  const w = writer.reset(5);
  etcdserverpb.WatchResponse.encode(r, w);
  const len = w.pos - 5;
  w.buf[0] = 0;
  w.buf.writeUInt32BE(len, 1);
  return w.finish();
}
