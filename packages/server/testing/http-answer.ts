// Tests that speak raw HTTP/1.1 to a member's port: send a request head, read the answer's status and
// body (by content-length) off the socket, and keep the socket (an upgraded stream goes on over it).

import { once } from 'node:events';
import net from 'node:net';

export interface RawAnswer {
  status: number;
  body: string;
  sock: net.Socket;
}

/** Sends `head` on a new connection to host:port; resolves with the answer and the socket, still open. */
export async function askRaw(host: string, port: number, head: string): Promise<RawAnswer> {
  const sock = net.connect({ host, port });
  sock.on('error', () => {});
  sock.write(head);
  let text = '';
  for (;;) {
    const [chunk] = (await once(sock, 'data')) as [Buffer];
    text += chunk.toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) continue;
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
    if (status >= 200 && text.length - end - 4 < length) continue;
    return { status, body: text.slice(end + 4, end + 4 + length), sock };
  }
}

/** Milliseconds from now until `sock` closes (Infinity if it is still open after `deadlineMs`). */
export function closedAfter(sock: net.Socket, deadlineMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((r) => {
    const timer = setTimeout(() => r(Infinity), deadlineMs);
    sock.once('close', () => {
      clearTimeout(timer);
      r(Date.now() - started);
    });
  });
}
