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
import { onAbort } from '../util/abort.js';

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

/** The error of a failed attempt: aborted by the caller, or the status with whether it never left. */
function failure(e: CallStatus, ep: Endpoint, signal: AbortSignal | undefined, headers: boolean): ConclaveError {
  if (signal?.aborted) return abortedError(signal, ep.address);
  const err = errorFromStatus(e, ep.address, e);
  info.set(err, { neverSent: isNeverSent(e.code, e.details, headers) });
  return err;
}

const NO_RESPONSE: CallStatus = { code: GrpcCode.UNAVAILABLE, details: 'stream ended without a response' };

/**
 * Runs one attempt: a unary call, or for a bidi method (LeaseKeepAlive once) one request and its
 * first response. A response that arrived is the result, even if the signal fired meanwhile (a
 * write applied).
 */
export function attempt<Req, Res>(
  ep: Endpoint,
  m: MethodDescriptor<Req, Res>,
  req: PartialMessage<Req>,
  metadata: Metadata,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const c = codecs(m);
    let message: Buffer;
    try {
      message = c.serialize(req);
    } catch (e) {
      reject(e);
      return;
    }
    let headers = false;
    let settled = false;
    let cancel = (): void => {};
    let stopWaiting = (): void => {};
    const onHeaders = (): void => {
      headers = true;
    };
    const finish = (e: CallStatus | null, bytes: Buffer | null): void => {
      if (settled) return;
      settled = true;
      stopWaiting();
      if (!e) {
        try {
          resolve(c.deserialize(bytes!));
          return;
        } catch (err) {
          e = { code: GrpcCode.INTERNAL, details: `Response message parsing error: ${(err as Error).message}` };
        }
      }
      reject(failure(e, ep, signal, headers));
    };
    // the transports never end a call inside the call that starts it: the listener is always removed
    if (signal) stopWaiting = onAbort(signal, () => cancel());
    if (m.requestStream) {
      const s = ep.transport.bidi(
        m.path,
        metadata,
        {
          onHeaders,
          onMessage: (b) => {
            finish(null, b);
            s.cancel();
          },
          onEnd: (st) => finish(st.code === GrpcCode.OK ? NO_RESPONSE : st, null),
        },
        deadline,
      );
      s.write(message);
      s.end();
      cancel = () => s.cancel();
    } else cancel = ep.transport.unary(m.path, message, metadata, deadline, { onHeaders, onEnd: finish });
    if (signal?.aborted) cancel();
  });
}
