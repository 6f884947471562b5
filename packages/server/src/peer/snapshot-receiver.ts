// Receiving a snapshot (POST /raft/snapshot over HTTP/2): a length-prefixed snapshot message, then
// the leader's backend database, written to a temporary file. What a sender can make this member
// hold or write is bounded (limits.ts): the message by snapshotMessageBytes (its chunks kept as a
// list and joined once, drawn from the listener's held-bytes budget); the database by the size the
// sender declares (content-length), snapshotDbBytes and the free disk space, refused before a byte
// is written when the declaration exceeds them and cut off as soon as the bytes received do (so an
// undeclared database never fills the disk either). A stream that stalls is cut after
// snapshotIdleMs. A failed or refused transfer removes its partial file.

import { createWriteStream, type WriteStream } from 'node:fs';
import { rm, statfs } from 'node:fs/promises';
import type http2 from 'node:http2';
import { dirname } from 'node:path';
import { ByteReader, readMessage } from '../raft/codec.js';
import { type Message, MessageType } from '../raft/types.js';
import { type HeldBytes, type PeerLimits, PeerRefusal } from './limits.js';

export interface ReceivedSnapshot {
  message: Message;
  /** Bytes of the database written to the temporary file. */
  bytes: number;
}

export interface SnapshotReceiveOptions {
  limits: Pick<PeerLimits, 'snapshotMessageBytes' | 'snapshotDbBytes' | 'snapshotIdleMs'>;
  held: HeldBytes;
  /** Where the database is written (created; removed again on failure). */
  tmp: string;
  /** Told of every chunk received (etcd's network metrics). */
  onBytes?(n: number): void;
}

/**
 * Reads the snapshot message and the database after it. Rejects with a PeerRefusal whose status is
 * the answer to give (0: the stream is gone, no answer possible); the temporary file is gone then.
 */
export function receiveSnapshot(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  opts: SnapshotReceiveOptions,
): Promise<ReceivedSnapshot> {
  return new Promise((resolve, reject) => new Reception(stream, headers, opts, resolve, reject).start());
}

/** The content-length header: null when absent. */
function declaredLength(v: string | string[] | undefined): number | null {
  if (v === undefined) return null;
  const s = Array.isArray(v) ? v[0] : v;
  if (!s || !/^\d{1,16}$/.test(s)) throw new PeerRefusal(400, `invalid content-length ${JSON.stringify(s)}`);
  return Number(s);
}

class Reception {
  /** The snapshot message while it arrives: its chunks, their bytes (held), its size once known. */
  private parts: Buffer[] = [];
  private partBytes = 0;
  private need = -1;
  private message: Message | null = null;
  /** Bytes of the whole body the sender declared, and of the database after the message. */
  private total: number | null = null;
  private dbDeclared: number | null = null;
  private dbLimit = Number.POSITIVE_INFINITY;
  /** The answer when the database goes beyond dbLimit. */
  private limitStatus = 413;
  private limitText = '';
  private out: WriteStream | null = null;
  private written = 0;
  private ended = false;
  private finishing = false;
  /** Database bytes read while the file was being opened. */
  private early: Buffer[] = [];
  /** Reading is paused because this member is busy (opening or writing the file), not the sender. */
  private waiting = false;
  private settled = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
    private readonly opts: SnapshotReceiveOptions,
    private readonly resolve: (r: ReceivedSnapshot) => void,
    private readonly reject: (err: PeerRefusal) => void,
  ) {}

  private get maxDb(): number {
    return this.opts.limits.snapshotDbBytes ?? Number.POSITIVE_INFINITY;
  }

  start(): void {
    const { limits } = this.opts;
    try {
      this.total = declaredLength(this.headers['content-length']);
    } catch (err) {
      return void this.fail((err as PeerRefusal).status, (err as Error).message);
    }
    if (this.total !== null && this.total > 4 + limits.snapshotMessageBytes + this.maxDb) {
      return void this.fail(
        413,
        `snapshot of ${this.total} bytes exceeds the limit of ${4 + limits.snapshotMessageBytes + this.maxDb}`,
      );
    }
    this.timer = setTimeout(() => this.onIdle(), limits.snapshotIdleMs).unref();
    this.stream.on('data', (c: Buffer) => this.onData(c));
    this.stream.on('end', () => {
      this.ended = true;
      if (this.out && !this.waiting) this.finish();
      else if (!this.out && this.message === null) this.fail(400, 'snapshot stream ended before its message');
    });
    this.stream.on('aborted', () => this.fail(0, 'snapshot stream aborted by the sender'));
    this.stream.on('close', () => this.fail(0, 'snapshot stream closed before its end'));
  }

  private onIdle(): void {
    if (this.settled) return;
    if (this.waiting) {
      this.timer?.refresh();
      return;
    }
    this.fail(408, `no snapshot bytes for ${this.opts.limits.snapshotIdleMs / 1000} s`);
  }

  private onData(chunk: Buffer): void {
    if (this.settled) return;
    this.opts.onBytes?.(chunk.length);
    this.timer?.refresh();
    if (this.message === null) this.onHead(chunk);
    else this.write(chunk);
  }

  /** A chunk of the snapshot message (and maybe the first bytes of the database after it). */
  private onHead(chunk: Buffer): void {
    const max = this.opts.limits.snapshotMessageBytes;
    if (!this.opts.held.take(chunk.length))
      return this.fail(503, 'too many bytes held for incomplete requests on the peer port');
    this.parts.push(chunk);
    this.partBytes += chunk.length;
    if (this.need === -1 && this.partBytes >= 4) {
      const len = Buffer.concat(this.parts, this.partBytes).readUInt32BE(0);
      if (len > max) return this.fail(413, `snapshot message of ${len} bytes exceeds the limit of ${max}`);
      this.need = 4 + len;
    }
    if (this.need === -1 || this.partBytes < this.need) return;
    const all = Buffer.concat(this.parts, this.partBytes);
    this.releaseHead();
    let m: Message;
    try {
      m = readMessage(new ByteReader(all, 4, this.need));
    } catch (err) {
      // etcd's texts for both
      return this.fail(400, `failed to decode raft message (${(err as Error).message})`);
    }
    if (m.type !== MessageType.Snap || !m.snapshot) return this.fail(400, 'wrong raft message type');
    this.message = m;
    if (this.total !== null) {
      this.dbDeclared = this.total - this.need;
      if (this.dbDeclared < 0) return this.fail(400, 'content-length is shorter than the snapshot message');
      if (this.dbDeclared > this.maxDb)
        return this.fail(413, `snapshot database of ${this.dbDeclared} bytes exceeds the limit of ${this.maxDb}`);
    }
    this.dbLimit = this.dbDeclared ?? this.maxDb;
    this.limitText =
      this.dbDeclared !== null
        ? `snapshot database exceeds its declared ${this.dbDeclared} bytes`
        : `snapshot database exceeds the limit of ${this.dbLimit} bytes`;
    // Copied: the rest must not pin the whole message in memory while the file opens.
    if (all.length > this.need) this.write(Buffer.from(all.subarray(this.need)));
    if (this.settled) return;
    this.waiting = true;
    this.stream.pause();
    void this.open();
  }

  private releaseHead(): void {
    this.opts.held.give(this.partBytes);
    this.parts = [];
    this.partBytes = 0;
  }

  /**
   * Checks the free disk space (a declared database must fit; an undeclared one is cut off where the
   * disk would be full), opens the file and writes what came with the message.
   */
  private async open(): Promise<void> {
    let free: number;
    try {
      const fs = await statfs(dirname(this.opts.tmp));
      free = fs.bavail * fs.bsize;
    } catch (err) {
      return this.fail(500, `cannot check the free disk space: ${(err as Error).message}`);
    }
    if (this.settled) return;
    if (this.dbDeclared !== null && this.dbDeclared > free)
      return this.fail(507, `not enough disk space for a snapshot database of ${this.dbDeclared} bytes (${free} free)`);
    if (free < this.dbLimit) {
      this.dbLimit = free;
      this.limitText = `snapshot database exceeds the free disk space (${free} bytes)`;
      this.limitStatus = 507;
      if (this.written > free) return this.fail(this.limitStatus, this.limitText);
    }
    const out = createWriteStream(this.opts.tmp, { flags: 'wx' });
    this.out = out;
    out.on('error', (err) => this.fail(500, `cannot write the snapshot database: ${err.message}`));
    out.on('drain', () => {
      if (this.settled) return;
      this.waiting = false;
      if (this.ended) this.finish();
      else this.stream.resume();
    });
    const early = this.early;
    this.early = [];
    for (const c of early) out.write(c);
    if (this.settled || out.writableNeedDrain) return;
    this.waiting = false;
    if (this.ended) this.finish();
    else this.stream.resume();
  }

  private write(chunk: Buffer): void {
    this.written += chunk.length;
    if (this.written > this.dbLimit) return this.fail(this.limitStatus, this.limitText);
    // (reading is paused while the file opens; a chunk the stream had already read waits for it)
    if (!this.out) this.early.push(chunk);
    else if (!this.out.write(chunk)) {
      this.waiting = true;
      this.stream.pause();
    }
  }

  private finish(): void {
    if (this.settled || this.finishing) return;
    if (this.dbDeclared !== null && this.written !== this.dbDeclared)
      return this.fail(400, `snapshot database ended after ${this.written} of ${this.dbDeclared} bytes`);
    this.finishing = true;
    if (this.timer) clearTimeout(this.timer);
    const out = this.out!;
    out.once('finish', () => {
      if (this.settled) return;
      this.settled = true;
      this.resolve({ message: this.message!, bytes: this.written });
    });
    out.end();
  }

  private fail(status: number, message: string): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.message === null) this.releaseHead();
    const out = this.out;
    const removed = (): void => {
      rm(this.opts.tmp, { force: true }).then(
        () => this.reject(new PeerRefusal(status, message)),
        () => this.reject(new PeerRefusal(status, message)),
      );
    };
    if (out && !out.closed) {
      out.once('close', removed);
      out.destroy();
    } else removed();
  }
}
