// Plain HTTP requests that arrive over HTTP/2 (curl over TLS negotiates h2; /health, /metrics and
// the JSON gateway) seen through the small request/response surface the HTTP handlers use, the same
// one node:http's IncomingMessage and ServerResponse offer.

import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { H2Error } from '@conclave/h2';
import type { H2Stream } from './stream.js';

export class H2HttpRequest extends Readable {
  override _read(): void {
    this.stream.setBuffered(this.readableLength);
  }

  readonly headers: Record<string, string> = {};
  readonly method: string;
  readonly url: string;
  readonly socket: { remoteAddress: string; remotePort: number; encrypted: boolean };

  private readonly stream: H2Stream;

  constructor(stream: H2Stream) {
    super();
    const h = stream.headers;
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i]!;
      if (name.startsWith(':')) continue;
      const prev = this.headers[name];
      // Repeated fields join with ", " (cookies with "; "), as node:http does.
      this.headers[name] = prev === undefined ? h[i + 1]! : `${prev}${name === 'cookie' ? '; ' : ', '}${h[i + 1]!}`;
    }
    // Go's Request.Host for HTTP/2 is the :authority pseudo-header
    if (this.headers['host'] === undefined) {
      const authority = stream.header(':authority');
      if (authority !== undefined) this.headers['host'] = authority;
    }
    this.method = stream.header(':method') ?? 'GET';
    this.url = stream.header(':path') ?? '/';
    this.socket = {
      remoteAddress: stream.conn.remoteAddress,
      remotePort: stream.conn.remotePort,
      encrypted: (stream.conn.socket as { encrypted?: boolean }).encrypted === true,
    };
    this.stream = stream;
    // Body bytes the reader has not taken yet count against the connection's request-data budget.
    stream.onData = (chunk) => {
      if (!this.push(Buffer.from(chunk))) stream.setBuffered(this.readableLength);
    };
    stream.onEnd = () => this.push(null);
  }
}

export class H2HttpResponse extends EventEmitter {
  private sent = false;
  private done = false;
  /** Headers given to writeHead, sent with the first write or end. */
  private pendingHeaders: string[] | null = null;
  statusCode = 200;

  constructor(private readonly stream: H2Stream) {
    super();
    stream.onClose = () => {
      this.done = true;
      this.emit('close');
    };
  }

  get headersSent(): boolean {
    return this.sent;
  }

  /** Aborts the response (RST_STREAM INTERNAL_ERROR), as destroying node:http's response cuts the connection. */
  destroy(): void {
    if (this.done) return;
    this.done = true;
    this.stream.reset(H2Error.INTERNAL_ERROR);
  }

  writeHead(status: number, headers: Record<string, string | number> = {}): this {
    if (this.sent) return this;
    this.statusCode = status;
    const flat: string[] = [':status', String(status)];
    for (const [k, v] of Object.entries(headers)) flat.push(k.toLowerCase(), String(v));
    this.pendingHeaders = flat;
    return this;
  }

  private sendHeaders(endStream: boolean): void {
    if (this.sent) return;
    this.sent = true;
    this.stream.respond(this.pendingHeaders ?? [':status', String(this.statusCode)], endStream);
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.done) return false;
    const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    this.sendHeaders(false);
    if (b.length === 0) return true;
    const ok = this.stream.write(b);
    if (!ok) this.stream.onceDrain(() => this.emit('drain'));
    return ok;
  }

  end(chunk?: string | Uint8Array): this {
    if (this.done) return this;
    const b = chunk === undefined ? null : typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    if (!this.sent && (!b || b.length === 0)) {
      this.sendHeaders(true);
    } else {
      this.sendHeaders(false);
      if (b && b.length > 0) this.stream.write(b);
      this.stream.end(null);
    }
    this.done = true;
    return this;
  }
}
