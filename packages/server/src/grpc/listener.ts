// Client-URL listeners: gRPC (HTTP/2) and HTTP/1.1 share one port, as in etcd.
//
// Cleartext: the first bytes tell HTTP/2 (the "PRI * HTTP/2.0" preface) from HTTP/1. The socket is
// then handed to the HTTP/2 handler with the bytes already read, or to the HTTP/1 server. TLS: ALPN
// chooses ("h2" or "http/1.1"). Client URLs serve HTTP/2 with our own connection code
// (GrpcServer.serveHttp2); peer URLs with node:http2 (nodeHttp2), which feeds the bytes already
// read to the session's native handle so that it keeps Node's fast path.

import { Duplex } from 'node:stream';
import { unlinkSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type http from 'node:http';
import type http2 from 'node:http2';

export interface BoundListener {
  /** The URL actually bound (port 0 replaced by the real port). */
  url: string;
  /** Stops accepting connections; those already accepted go on. */
  stopAccepting(): void;
  /** Stops accepting, cuts every connection still open, and resolves when the listener is closed. */
  close(): Promise<void>;
}

/**
 * Time a new connection gets to show what it speaks (cleartext: its first bytes; TLS: the handshake)
 * before it is closed. Connections that never get that far hold a socket and nothing else.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

const kHandleSymbol = (session: http2.Http2Session): symbol | undefined =>
  Object.getOwnPropertySymbols(session).find((s) => String(s) === 'Symbol(kHandle)');

let handleSym: symbol | undefined | null = null;

/** Serves HTTP/2 connections with a node:http2 server. */
export function nodeHttp2(h2: http2.Http2Server): Http2Handler {
  return (sock, head) => {
    if (head) injectHttp2(h2, sock, head);
    else h2.emit('connection', sock);
  };
}

/** Hands `sock` (whose first bytes `head` were already read) to the HTTP/2 server. */
function injectHttp2(h2: http2.Http2Server, sock: net.Socket, head: Buffer): void {
  let created: http2.Http2Session | null = null;
  const onSession = (s: http2.Http2Session): void => {
    created = s;
  };
  if (handleSym !== undefined) {
    h2.once('session', onSession);
    h2.emit('connection', sock);
    h2.removeListener('session', onSession);
    const session = created as http2.Http2Session | null;
    if (session) {
      if (handleSym === null) handleSym = kHandleSymbol(session);
      const handle = handleSym
        ? (session as unknown as Record<symbol, { receive?: (b: Buffer) => void }>)[handleSym]
        : undefined;
      if (handle && typeof handle.receive === 'function') {
        handle.receive(head);
        return;
      }
      // This Node has no native receive(): fall back for all later connections.
      handleSym = undefined;
      session.destroy();
      return;
    }
  }
  // Fallback: a JS duplex that replays the head, then the socket.
  let first: Buffer | null = head;
  const d = new Duplex({
    read() {
      if (first) {
        this.push(first);
        first = null;
      }
      sock.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      sock.write(chunk, cb);
    },
    final(cb) {
      sock.end();
      cb();
    },
    destroy(err, cb) {
      sock.destroy(err ?? undefined);
      cb(err);
    },
  });
  sock.on('data', (c: Buffer) => {
    if (!d.push(c)) sock.pause();
  });
  sock.on('end', () => d.push(null));
  sock.on('close', () => d.destroy());
  sock.on('error', (e) => d.destroy(e));
  Object.assign(d, { remoteAddress: sock.remoteAddress, remotePort: sock.remotePort });
  h2.emit('connection', d);
}

function dispatchCleartext(sock: net.Socket, h2: Http2Handler, h1: http.Server): void {
  let head: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => sock.destroy(), HANDSHAKE_TIMEOUT_MS);
  timer.unref();
  sock.once('close', () => clearTimeout(timer));
  const onData = (chunk: Buffer): void => {
    head = head.length ? Buffer.concat([head, chunk]) : chunk;
    if (head.length < 3) return;
    clearTimeout(timer);
    sock.removeListener('data', onData);
    sock.pause();
    if (head[0] === 0x50 && head[1] === 0x52 && head[2] === 0x49) {
      h2(sock, head);
    } else {
      sock.unshift(head);
      h1.emit('connection', sock);
      sock.resume();
    }
  };
  sock.on('data', onData);
  sock.on('error', () => {});
}

/** Takes over an HTTP/2 connection; `head` holds bytes already read from it (cleartext sniffing). */
export type Http2Handler = (sock: net.Socket, head: Buffer | null) => void;

export interface ListenOptions {
  h2: Http2Handler;
  h1: http.Server;
  /** TLS options for https:// and unixs:// URLs. */
  tls?: tls.SecureContextOptions & { requestCert?: boolean; rejectUnauthorized?: boolean };
  /** Checks a TLS connection after the handshake (e.g. the allowed client CN); an error closes it. */
  verify?: (s: tls.TLSSocket) => Error | undefined;
  /** Closes a connection `verify` refused (default: destroy it). */
  reject?: (s: tls.TLSSocket, err: Error) => void;
}

function parseListenUrl(raw: string): { secure: boolean; path?: string; host?: string; port?: number } {
  const m = /^(unixs?):\/\/(.+)$/.exec(raw) ?? /^(unixs?):(.+)$/.exec(raw);
  if (m) return { secure: m[1] === 'unixs', path: m[2]! };
  const u = new URL(raw);
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new Error(`unsupported URL scheme "${u.protocol.slice(0, -1)}" in ${raw}`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
  return { secure: u.protocol === 'https:', host, port };
}

/** Binds one client URL. "localhost" binds 127.0.0.1 (and ::1 on the same port when available). */
export async function listenUrl(raw: string, opts: ListenOptions): Promise<BoundListener> {
  const spec = parseListenUrl(raw);
  if (spec.secure && !opts.tls)
    throw new Error(`${raw}: TLS URL given but no certificate configured (--cert-file/--key-file or --auto-tls)`);
  const make = (): net.Server => {
    if (spec.secure) {
      const server = tls.createServer({
        ...opts.tls,
        ALPNProtocols: ['h2', 'http/1.1'],
        noDelay: true,
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      });
      server.on('secureConnection', (s: tls.TLSSocket) => {
        s.on('error', () => {});
        const refused = opts.verify?.(s);
        if (refused) {
          if (opts.reject) opts.reject(s, refused);
          else s.destroy();
          return;
        }
        if (s.alpnProtocol === 'h2') opts.h2(s, null);
        else opts.h1.emit('connection', s);
      });
      server.on('tlsClientError', () => {});
      return server;
    }
    return net.createServer({ noDelay: true }, (s) => dispatchCleartext(s, opts.h2, opts.h1));
  };
  const servers: net.Server[] = [];
  // Every accepted socket, for close(): handlers close theirs gracefully first, these are the rest.
  const sockets = new Set<net.Socket>();
  const track = (server: net.Server): net.Server =>
    server.on('connection', (sock: net.Socket) => {
      sockets.add(sock);
      sock.once('close', () => sockets.delete(sock));
    });
  const listen = (server: net.Server, arg: net.ListenOptions): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(arg, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });

  let url: string;
  if (spec.path !== undefined) {
    try {
      unlinkSync(spec.path);
    } catch {
      /* no stale socket */
    }
    const s = track(make());
    await listen(s, { path: spec.path });
    servers.push(s);
    url = raw;
  } else {
    const host = spec.host === 'localhost' ? '127.0.0.1' : spec.host!;
    const s = track(make());
    await listen(s, { host, port: spec.port! });
    servers.push(s);
    const port = (s.address() as net.AddressInfo).port;
    if (spec.host === 'localhost') {
      const s6 = track(make());
      try {
        await listen(s6, { host: '::1', port, ipv6Only: true });
        servers.push(s6);
      } catch {
        /* no IPv6 loopback here */
      }
    }
    const u = new URL(raw);
    u.port = String(port);
    url = u.toString().replace(/\/$/, '');
  }
  const closed = servers.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
  const stopAccepting = (): void => {
    for (const s of servers) if (s.listening) s.close();
  };
  return {
    url,
    stopAccepting,
    close: async () => {
      stopAccepting();
      for (const sock of sockets) sock.destroy();
      await Promise.all(closed);
    },
  };
}
