// `conclave snapshot save FILE`: Maintenance.Snapshot from one member (Conclave or etcd) into a
// file, as `etcdctl snapshot save` does: the stream is written to FILE.part, synced and renamed.
// One more check than etcdctl: the last message must be the SHA-256 of the bytes before it.
// A minimal gRPC caller over node:http2 (the server package does not depend on the client's).

import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import type { SecureContextOptions } from 'node:tls';
import { decodeMessage, encodeMessage, etcdserverpb, type MessageCodec, type PartialMessage } from '@conclave/api';
import { SNAPSHOT_HASH_SIZE } from './stream.js';

export interface SaveOptions {
  /** host:port, or a URL (https:// for TLS). */
  endpoint: string;
  file: string;
  tls?: SecureContextOptions & { insecureSkipVerify?: boolean };
  user?: { name: string; password: string };
  /** Overall deadline (default none). */
  timeoutMs?: number;
}

export class SaveError extends Error {
  override readonly name = 'SaveError';
}

function frame<T>(codec: MessageCodec<T>, msg: PartialMessage<T>): Buffer {
  const body = encodeMessage(codec, msg);
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

/** Calls `path`, handing each response message to `onMessage` (awaited: backpressure). */
async function call<Res>(
  session: http2.ClientHttp2Session,
  path: string,
  req: Buffer,
  res: MessageCodec<Res>,
  metadata: Record<string, string>,
  onMessage: (m: Res) => Promise<void> | void,
): Promise<void> {
  const stream = session.request({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...metadata,
  });
  stream.end(req);
  let pending: Buffer = Buffer.alloc(0);
  let status: string | undefined;
  let message = '';
  stream.on('response', (h) => {
    if (h['grpc-status'] !== undefined) {
      status = String(h['grpc-status']);
      message = decodeURIComponent(String(h['grpc-message'] ?? ''));
    }
  });
  stream.on('trailers', (t) => {
    status = String(t['grpc-status'] ?? '');
    message = decodeURIComponent(String(t['grpc-message'] ?? ''));
  });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
      const len = pending.readUInt32BE(1);
      await onMessage(decodeMessage(res, pending.subarray(5, 5 + len)));
      pending = pending.subarray(5 + len);
    }
  }
  if (status !== '0') throw new SaveError(`rpc error: code = ${status ?? 'unknown'} desc = ${message}`);
}

function authority(endpoint: string, tls: boolean): string {
  if (/^[a-z]+:\/\//.test(endpoint)) return endpoint.replace(/^unixs?:/, 'http:');
  return `${tls ? 'https' : 'http'}://${endpoint}`;
}

/** Saves the snapshot; resolves with its size (database + hash). */
export async function saveSnapshot(o: SaveOptions): Promise<number> {
  const url = authority(o.endpoint, o.tls !== undefined);
  const session = http2.connect(url, {
    ...(o.tls ?? {}),
    ...(o.tls?.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
  });
  const failed = new Promise<never>((_, reject) => session.once('error', reject));
  failed.catch(() => undefined);
  const timer = o.timeoutMs
    ? setTimeout(() => session.destroy(new SaveError('context deadline exceeded')), o.timeoutMs)
    : null;
  const part = `${o.file}.part`;
  const fh = await open(part, 'w', 0o600);
  let ok = false;
  try {
    const metadata: Record<string, string> = {};
    if (o.user) {
      let token = '';
      await Promise.race([
        call(
          session,
          etcdserverpb.AuthService.Authenticate.path,
          frame(etcdserverpb.AuthenticateRequest, { name: o.user.name, password: o.user.password }),
          etcdserverpb.AuthenticateResponse,
          {},
          (r) => {
            token = r.token;
          },
        ),
        failed,
      ]);
      metadata.token = token;
    }
    const sha = createHash('sha256');
    let size = 0;
    let last: Buffer | null = null;
    await Promise.race([
      call(
        session,
        etcdserverpb.MaintenanceService.Snapshot.path,
        frame(etcdserverpb.SnapshotRequest, {}),
        etcdserverpb.SnapshotResponse,
        metadata,
        async (r) => {
          // Hold each blob back until the next arrives: the last one is the hash, not data.
          if (last) sha.update(last);
          last = Buffer.from(r.blob);
          await fh.write(last, 0, last.length, size);
          size += last.length;
        },
      ),
      failed,
    ]);
    const trailer = last as Buffer | null;
    if (!trailer || trailer.length !== SNAPSHOT_HASH_SIZE || !sha.digest().equals(trailer)) {
      throw new SaveError('snapshot: the stream did not end with the SHA-256 of the database');
    }
    await fh.sync();
    ok = true;
    return size;
  } finally {
    if (timer) clearTimeout(timer);
    await fh.close();
    session.close();
    if (ok) await rename(part, o.file);
    else await rm(part, { force: true });
  }
}
