// Framing of Raft messages on a peer stream: | u32 big-endian length | raft codec Message |.

import { ByteReader, ByteWriter, readMessage, writeMessage } from '../raft/codec.js';
import type { Message } from '../raft/types.js';

export const PEER_HEADERS = {
  clusterId: 'x-conclave-cluster-id',
  from: 'x-conclave-from',
  to: 'x-conclave-to',
} as const;

/** Largest frame accepted (a snapshot never travels as a frame; appends are bounded by maxSizePerMsg). */
export const MAX_FRAME = 64 * 1024 * 1024;

const writer = new ByteWriter(64 * 1024);

/** Encodes messages as consecutive frames in one buffer. */
export function encodeFrames(messages: readonly Message[]): Buffer {
  const w = writer;
  w.pos = 0;
  for (const m of messages) {
    const at = w.pos;
    w.u8(0);
    w.u8(0);
    w.u8(0);
    w.u8(0);
    writeMessage(w, m);
    const len = w.pos - at - 4;
    w.view.setUint32(at, len, false);
  }
  const out = Buffer.allocUnsafe(w.pos);
  out.set(w.buf.subarray(0, w.pos));
  return out;
}

/** Accumulates stream chunks and yields complete messages. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Message[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Message[] = [];
    let off = 0;
    while (this.buf.length - off >= 4) {
      const len = this.buf.readUInt32BE(off);
      if (len > MAX_FRAME) throw new Error(`peer frame of ${len} bytes exceeds the limit`);
      if (this.buf.length - off - 4 < len) break;
      out.push(readMessage(new ByteReader(this.buf, off + 4, off + 4 + len)));
      off += 4 + len;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
    return out;
  }
}
