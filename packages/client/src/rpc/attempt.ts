// One attempt of a unary call on one endpoint (unary calls use the endpoint's own HTTP/2 transport,
// bidi ones grpc-js): the deadline goes to gRPC, the AbortSignal cancels the call, and a failure
// becomes a typed error with what is known about whether it reached a server.

import { GrpcCode, type MethodDescriptor, type PartialMessage } from '@conclave/api';
import type * as grpc from '@grpc/grpc-js';
import type { Endpoint } from '../connection/endpoint.js';
import { AbortedError, type ConclaveError } from '../errors/base.js';
import { errorFromStatus } from '../errors/map.js';
import { codecs } from './codecs.js';
import { isNeverSent } from './policy.js';

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
  metadata: grpc.Metadata,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<Res> {
  return m.requestStream
    ? bidiOnceAttempt(ep, m, req, metadata, deadline, signal)
    : unaryAttempt(ep, m, req, metadata, deadline, signal);
}

/** The error of a failed attempt: aborted by the caller, or the status with whether it never left. */
function failure(
  e: { code: number; details: string },
  ep: Endpoint,
  signal: AbortSignal | undefined,
  headers: boolean,
): ConclaveError {
  if (signal?.aborted) return abortedError(signal, ep.address);
  const err = errorFromStatus(e, ep.address, e);
  info.set(err, { neverSent: isNeverSent(e.code, e.details, headers) });
  return err;
}

export function unaryAttempt<Req, Res>(
  ep: Endpoint,
  m: MethodDescriptor<Req, Res>,
  req: PartialMessage<Req>,
  metadata: grpc.Metadata,
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
    const cancel = ep.h2.call(m.path, message, metadata, deadline, {
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
    if (signal) {
      if (signal.aborted) cancel();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

/** One request on a bidi stream and its first response (LeaseKeepAlive once). */
function bidiOnceAttempt<Req, Res>(
  ep: Endpoint,
  m: MethodDescriptor<Req, Res>,
  req: PartialMessage<Req>,
  metadata: grpc.Metadata,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const c = codecs(m);
    let headers = false;
    let settled = false;
    const call = ep.grpc.makeBidiStreamRequest(m.path, c.serialize, c.deserialize, metadata, { deadline });
    const onAbort = (): void => call.cancel();
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    call.once('metadata', () => {
      headers = true;
    });
    call.on('data', (res: Res) => {
      if (!settle()) return;
      resolve(res);
      call.cancel();
    });
    call.on('error', (e: grpc.ServiceError) => {
      if (!settle()) return;
      reject(failure(e, ep, signal, headers));
    });
    call.on('end', () => {
      if (!settle()) return;
      reject(errorFromStatus({ code: 14, details: 'stream ended without a response' }, ep.address));
    });
    call.write(req);
    call.end();
    if (signal) {
      if (signal.aborted) call.cancel();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}
