// Framing of Raft messages on a peer stream: | u32 big-endian length | raft codec Message |. A frame of
// length 0 is a heartbeat: the sender writes one when it has written nothing for a second, so that
// the receiver can close a stream from which nothing arrives (limits.ts streamIdleMs), as etcd's
// stream writers send a link heartbeat and its readers time out after 5 s.

import { ByteReader, ByteWriter, readMessage, writeMessage } from '../raft/codec.js';
import type { Message } from '../raft/types.js';

export const PEER_HEADERS = {
  clusterId: 'x-conclave-cluster-id',
  from: 'x-conclave-from',
  to: 'x-conclave-to',
} as const;

/** Largest frame accepted (a snapshot never travels as a frame; appends are bounded by maxSizePerMsg). */
export const MAX_FRAME = 64 * 1024 * 1024;

/** A heartbeat: a frame of length 0, skipped by the decoder. */
export const HEARTBEAT_FRAME: Buffer = Buffer.alloc(4);

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

/**
 * Accumulates stream chunks and yields complete messages (heartbeats skipped). A frame arriving in
 * many chunks is kept as the list of its chunks and copied once when complete: the cost is linear
 * in the bytes received
 * (a copy of everything held per chunk made a 64 MiB frame in 16 KiB reads cost ~128 GB of copying),
 * and the memory held is what the peer actually sent, never a length it only announced.
 */
export class FrameDecoder {
  private parts: Buffer[] = [];
  private held = 0;
  /** Size (with its 4-byte length) of the frame being held, once its length has arrived; -1 before. */
  private need = -1;

  push(chunk: Buffer): Message[] {
    const out: Message[] = [];
    let buf = chunk;
    let off = 0;
    if (this.held > 0) {
      this.parts.push(chunk);
      this.held += chunk.length;
      if (this.need === -1 && this.held >= 4) this.need = 4 + checkLength(Buffer.concat(this.parts).readUInt32BE(0));
      if (this.need === -1 || this.held < this.need) return out;
      buf = Buffer.concat(this.parts, this.held);
      this.parts = [];
      this.held = 0;
      this.need = -1;
    }
    while (buf.length - off >= 4) {
      const len = checkLength(buf.readUInt32BE(off));
      if (buf.length - off - 4 < len) {
        this.need = 4 + len;
        break;
      }
      if (len > 0) out.push(readMessage(new ByteReader(buf, off + 4, off + 4 + len)));
      off += 4 + len;
    }
    if (off < buf.length) {
      // Copied: the rest of a large read must not pin the whole read in memory.
      const rest = Buffer.from(buf.subarray(off));
      this.parts = [rest];
      this.held = rest.length;
    }
    return out;
  }
}

function checkLength(len: number): number {
  if (len > MAX_FRAME) throw new Error(`peer frame of ${len} bytes exceeds the limit`);
  return len;
}
