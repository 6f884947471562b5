// Plain HTTP requests for tests: HTTP/1.1 (node:http / node:https) and HTTP/2 (node:http2, cleartext
// with prior knowledge or TLS with ALPN), answering status, headers and body as text.

import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { SecureContextOptions } from 'node:tls';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpOptions {
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** For https URLs: CA, client certificate and key. */
  tls?: SecureContextOptions & { rejectUnauthorized?: boolean };
}

/** One HTTP/1.1 request on a fresh connection. */
export function http1(url: string, method: string, path: string, opts: HttpOptions = {}): Promise<HttpAnswer> {
  const secure = url.startsWith('https:');
  return new Promise((resolve, reject) => {
    const options = { method, headers: opts.headers ?? {}, agent: false as const, ...(secure ? opts.tls : {}) };
    const req = (secure ? https : http).request(url + path, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.end(opts.body);
  });
}

/** One HTTP/2 request on a fresh session (h2c prior knowledge for http URLs, ALPN h2 for https). */
export function http2Request(url: string, method: string, path: string, opts: HttpOptions = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, url.startsWith('https:') ? { ...opts.tls, ALPNProtocols: ['h2'] } : {});
    const fail = (e: unknown): void => {
      session.destroy();
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    session.on('error', fail);
    const req = session.request({ ':method': method, ':path': path, ...opts.headers });
    let status = 0;
    let headers: Record<string, string | string[] | undefined> = {};
    req.on('response', (h) => {
      status = Number(h[':status']);
      headers = h as Record<string, string | string[] | undefined>;
    });
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      session.close();
      resolve({ status, headers, body });
    });
    req.on('error', fail);
    req.setTimeout(10_000, () => fail(new Error(`${method} ${path} timed out`)));
    req.end(opts.body);
  });
}

/**
 * A gRPC call on an HTTP/2 session, unframed by any gRPC library: POSTs `path` with the one message
 * `message` (empty by default) and ends the request; the test reads the DATA and the trailers itself.
 */
export function rawGrpcCall(
  session: http2.ClientHttp2Session,
  path: string,
  message: Uint8Array = new Uint8Array(0),
): http2.ClientHttp2Stream {
  const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  req.end(Buffer.concat([prefix, message]));
  return req;
}
