// gRPC-over-HTTP/2 details of a call's status: the grpc-timeout header, the status a
// response's headers and trailers carry, and the codes grpc-js gives to HTTP statuses and
// RST_STREAM codes (so errors read the same as they did when grpc-js made every call).

import { GrpcCode } from '@conclave/api';
import { H2Error } from '@conclave/h2';
import { type CallStatus, status } from './transport.js';

const UNITS: ReadonlyArray<[string, number]> = [
  ['m', 1],
  ['S', 1000],
  ['M', 60_000],
  ['H', 3_600_000],
];

/** The grpc-timeout value for `ms` milliseconds: at most 8 digits, rounded up, as grpc-js writes it. */
export function grpcTimeout(ms: number): string {
  const v = Math.max(1, Math.ceil(ms));
  for (const [unit, size] of UNITS) {
    const n = Math.ceil(v / size);
    if (n < 1e8) return `${n}${unit}`;
  }
  return '99999999H';
}

/** grpc-js's mapping of a non-200 HTTP :status to a gRPC code. */
export function codeForHttpStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcCode.INTERNAL;
    case 401:
      return GrpcCode.UNAUTHENTICATED;
    case 403:
      return GrpcCode.PERMISSION_DENIED;
    case 404:
      return GrpcCode.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcCode.UNAVAILABLE;
    default:
      return GrpcCode.UNKNOWN;
  }
}

/** The status for a stream the server reset (grpc-js's wording). */
export function statusForReset(code: number): CallStatus {
  switch (code) {
    case H2Error.REFUSED_STREAM:
      return status(GrpcCode.UNAVAILABLE, 'Stream refused by server');
    case H2Error.CANCEL:
      return status(GrpcCode.CANCELLED, 'Call cancelled');
    case H2Error.ENHANCE_YOUR_CALM:
      return status(GrpcCode.RESOURCE_EXHAUSTED, 'Bandwidth exhausted or memory limit exceeded');
    case 12: // INADEQUATE_SECURITY
      return status(GrpcCode.PERMISSION_DENIED, 'Protocol not secure enough');
    case H2Error.INTERNAL_ERROR:
      return status(GrpcCode.INTERNAL, `Received RST_STREAM with code ${code} (Internal server error)`);
    default:
      return status(GrpcCode.INTERNAL, `Received RST_STREAM with code ${code}`);
  }
}

function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The status of a finished response from its header fields (flat name/value lists, latin1 strings):
 * `head` the response headers, `tail` the trailers (null for a trailers-only response).
 */
export function statusFromFields(head: readonly string[], tail: readonly string[] | null): CallStatus {
  const fields = tail ?? head;
  let httpStatus = 0;
  for (let i = 0; i < head.length; i += 2) if (head[i] === ':status') httpStatus = Number(head[i + 1]);
  let code = -1;
  let details = '';
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name === 'grpc-status') code = Number(fields[i + 1]);
    else if (name === 'grpc-message') details = percentDecode(Buffer.from(fields[i + 1]!, 'latin1').toString('utf8'));
  }
  if (httpStatus !== 200 && (code < 0 || httpStatus === 0)) {
    return status(codeForHttpStatus(httpStatus), `Received HTTP status code ${httpStatus}`);
  }
  if (code < 0 || !Number.isInteger(code)) return status(GrpcCode.UNKNOWN, 'No status received');
  return status(code, details);
}
