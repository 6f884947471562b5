// The Raft message stream between members: an HTTP/1.1 request on the peer port that upgrades the
// connection (`Upgrade: conclave-raft/1`, as etcd streams Raft messages over HTTP/1.1), after which
// the socket carries length-prefixed frames one way. A bare socket, not an HTTP/2 stream: a write
// reaches the kernel at once (HTTP/2 sends on the next event-loop turn, after a leader's inline
// fsync), and a frame costs no HTTP/2 framing or flow control on either side.

import net from 'node:net';
import tls, { type ConnectionOptions } from 'node:tls';
import { remoteAlertError } from '../tls/index.js';

export const RAFT_UPGRADE = 'conclave-raft/1';

/** Largest HTTP response head accepted while upgrading. */
const MAX_HEAD = 16 * 1024;

export class UpgradeRefusedError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`peer refused the Raft stream (${status}${body ? `: ${body.trim()}` : ''})`);
  }
}

/**
 * A socket to a peer URL (http(s)://host:port or unix(s)://path), TLS offering the given ALPN
 * protocol: 'http/1.1' for the Raft stream, 'h2' for snapshots and forwarded requests.
 */
export function connectPeer(url: string, tlsOpts: ConnectionOptions | undefined, alpn: 'h2' | 'http/1.1'): net.Socket {
  const m = /^(unixs?):\/\/(.+)$/.exec(url);
  if (m) {
    const path = m[2]!;
    return m[1] === 'unixs' ? tls.connect({ ...(tlsOpts ?? {}), path, ALPNProtocols: [alpn] }) : net.connect(path);
  }
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const sock =
    u.protocol === 'https:'
      ? tls.connect({
          ...(tlsOpts ?? {}),
          host,
          port,
          ALPNProtocols: [alpn],
          ...(net.isIP(host) ? {} : { servername: host }),
        })
      : net.connect({ host, port });
  // Raft messages are small and latency-bound: no Nagle delay.
  sock.setNoDelay(true);
  return sock;
}

/**
 * Sends the upgrade request on `sock` and resolves once the peer switched protocols (any bytes it
 * sent after its answer are pushed back onto the socket). Rejects with UpgradeRefusedError for any
 * other answer, or with the socket's error; the caller destroys the socket then.
 */
export function upgradeToRaftStream(sock: net.Socket, headers: Record<string, string>): Promise<void> {
  const lines = [
    'POST /raft/stream HTTP/1.1',
    'Host: conclave-peer',
    'Connection: Upgrade',
    `Upgrade: ${RAFT_UPGRADE}`,
  ];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  sock.write(`${lines.join('\r\n')}\r\n\r\n`);
  return new Promise<void>((resolve, reject) => {
    let head: Buffer = Buffer.alloc(0);
    const done = (err: Error | null): void => {
      sock.removeListener('data', onData);
      sock.removeListener('error', onError);
      sock.removeListener('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onError = (e: Error): void => done(e);
    const onClose = (): void => done(new Error('peer closed the connection while upgrading'));
    const onData = (chunk: Buffer): void => {
      head = head.length ? Buffer.concat([head, chunk]) : chunk;
      // a peer listener that refused our certificate answers with a TLS alert record (tls/cert-policy.ts)
      if (head[0] === 0x15) {
        if (head.length < 7) return;
        const alert = remoteAlertError(head);
        if (alert) return done(new PeerTlsAlertError(alert));
      }
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) done(new Error('peer sent an oversized HTTP response head'));
        return;
      }
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      const rest = head.subarray(end + 4);
      if (status === 101) {
        sock.pause();
        if (rest.length) sock.unshift(rest);
        done(null);
      } else done(new UpgradeRefusedError(status, rest.toString('utf8', 0, Math.min(rest.length, 512))));
    };
    sock.on('data', onData);
    sock.on('error', onError);
    sock.on('close', onClose);
  });
}

/** The peer refused this member's certificate (Go's text for the alert it sent, e.g. "remote error: tls: bad certificate"). */
export class PeerTlsAlertError extends Error {
  override readonly name = 'PeerTlsAlertError';
}

/** The server's answer to an upgrade it refuses (then it closes the socket), shaped as Go's http.Error. */
export function refuseUpgrade(sock: net.Socket, status: number, reason: string, body: string): void {
  if (sock.destroyed) return;
  const b = Buffer.from(body);
  sock.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${b.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The server's answer to an upgrade it accepts. */
export function acceptUpgrade(sock: net.Socket): void {
  sock.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${RAFT_UPGRADE}\r\n\r\n`);
}
