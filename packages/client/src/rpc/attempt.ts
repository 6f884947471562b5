// One attempt of a call on one endpoint's transport: the deadline goes to gRPC, the AbortSignal
// cancels the call, and a failure becomes a typed error with what is known about whether it
// reached a server.

import { GrpcCode, type MethodDescriptor, type PartialMessage } from '@conclave/api';
import type { Endpoint } from '../endpoint/endpoint.js';
import { AbortedError, type ConclaveError } from '../errors/base.js';
import { errorFromStatus } from '../errors/map.js';
import { codecs } from './codecs.js';
import { isNeverSent } from './policy.js';
import type { CallStatus, Metadata } from '../transport/transport.js';

const info = new WeakMap<ConclaveError, { neverSent: boolean }>();

/** Whether the failed attempt that produced `err` provably never reached a server. */
export function neverSent(err: ConclaveError): boolean {
  return info.get(err)?.neverSent ?? false;
}

export function abortedError(signal: AbortSignal, endpoint?: string): AbortedError {
  return new AbortedError({
    message: 'the operation was aborted',
    code: 'Aborted',
    retriable: false,
    cause: signal.reason,
    endpoint,
  });
}

/** Runs one attempt: a unary call, or for a bidi method one request and its first response. */
export function attempt<Req, Res>(
  ep: Endpoint,
  m: MethodDescriptor<Req, Res>,
  req: PartialMessage<Req>,
  metadata: Metadata,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<Res> {
  return m.requestStream
    ? bidiOnceAttempt(ep, m, req, metadata, deadline, signal)
    : unaryAttempt(ep, m, req, metadata, deadline, signal);
}

/** The error of a failed attempt: aborted by the caller, or the status with whether it never left. */
function failure(e: CallStatus, ep: Endpoint, signal: AbortSignal | undefined, headers: boolean): ConclaveError {
  if (signal?.aborted) return abortedError(signal, ep.address);
  const err = errorFromStatus(e, ep.address, e);
  info.set(err, { neverSent: isNeverSent(e.code, e.details, headers) });
  return err;
}

export function unaryAttempt<Req, Res>(
  ep: Endpoint,
  m: MethodDescriptor<Req, Res>,
  req: PartialMessage<Req>,
  metadata: Metadata,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const c = codecs(m);
    let headers = false;
    let message: Buffer;
    try {
      message = c.serialize(req);
    } catch (e) {
      reject(e);
      return;
    }
    const onAbort = (): void => cancel();
    // the transport never ends a call inside unary(): the listener below is always removed
    signal?.addEventListener('abort', onAbort, { once: true });
    const cancel = ep.transport.unary(m.path, message, metadata, deadline, {
      onHeaders: () => {
        headers = true;
      },
      onEnd: (e, bytes) => {
        signal?.removeEventListener('abort', onAbort);
        // A response that arrived is the result, even if the signal fired meanwhile (a write applied).
        if (!e) {
          let res: Res;
          try {
            res = c.deserialize(bytes!);
          } catch (err) {
            e = { code: GrpcCode.INTERNAL, details: `Response message parsing error: ${(err as Error).message}` };
          }
          if (!e) {
            resolve(res!);
            return;
          }
        }
        reject(failure(e, ep, signal, headers));
      },
    });
    if (signal?.aborted) cancel();
  });
}

/** One request on a bidi stream and its first response (LeaseKeepAlive once). */
function bidiOnceAttempt<Req, Res>(
  ep: Endpoint,
  m: MethodDescriptor<Req, Res>,
  req: PartialMessage<Req>,
  metadata: Metadata,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const c = codecs(m);
    let headers = false;
    let settled = false;
    const onAbort = (): void => call.cancel();
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const call = ep.transport.bidi(
      m.path,
      metadata,
      {
        onHeaders: () => {
          headers = true;
        },
        onMessage: (b) => {
          if (!settle()) return;
          let res: Res;
          try {
            res = c.deserialize(b);
          } catch (err) {
            reject(
              errorFromStatus(
                { code: GrpcCode.INTERNAL, details: `Response message parsing error: ${(err as Error).message}` },
                ep.address,
              ),
            );
            call.cancel();
            return;
          }
          resolve(res);
          call.cancel();
        },
        onEnd: (st) => {
          if (!settle()) return;
          if (st.code === GrpcCode.OK)
            reject(
              errorFromStatus({ code: GrpcCode.UNAVAILABLE, details: 'stream ended without a response' }, ep.address),
            );
          else reject(failure(st, ep, signal, headers));
        },
      },
      deadline,
    );
    call.write(c.serialize(req));
    call.end();
    if (signal?.aborted) call.cancel();
  });
}
