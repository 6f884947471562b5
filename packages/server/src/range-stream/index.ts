// Large Range responses encoded and sent in bounded chunks (issue 19): a plan of which kvs go out
// (plan.ts, etcd's Range semantics over revision arrays) and the RangeResponse bytes produced a
// chunk at a time from one LMDB read transaction (encoder.ts), the same bytes the plain path sends.

import { encodeMessage, etcdserverpb, type PartialMessage } from '@conclave/api';
import type { MvccStore } from '../mvcc/index.js';
import { RangeBody } from './encoder.js';
import { planRange } from './plan.js';

export { CHUNK_BYTES, RangeBody } from './encoder.js';

/**
 * Ranges with more kvs than this are streamed; smaller ones build their response object, which is
 * faster for them: opening the read transaction costs ~40 µs, and the two paths break even between
 * 16 and 32 kvs of 256 bytes (bench/range-stream.ts; docs/benchmarks.md, "Large ranges in chunks").
 */
const MIN_STREAMED_KVS = 32;

/**
 * The streamed answer to `r`, or null when the plain path (apply/kv.ts applyRange) should answer.
 * `header` gives the response header for the revision read. Throws etcd's errors for a compacted
 * or future revision. The caller owns the body: send it or close it.
 */
export function streamRange(
  store: MvccStore,
  r: etcdserverpb.RangeRequest,
  header: (rev: number) => PartialMessage<etcdserverpb.ResponseHeader>,
  minKvs = MIN_STREAMED_KVS,
): RangeBody | null {
  const plan = planRange(store, r, minKvs);
  if (plan === null) return null;
  try {
    const h = encodeMessage(etcdserverpb.ResponseHeader, header(plan.refs.rev));
    return new RangeBody(plan, h, r.keysOnly, plan.refs.count);
  } catch (e) {
    plan.reader.release();
    throw e;
  }
}

/** etcd's expensive-read text of a streamed response ("range_response_count:N size:M"; header: revision only). */
export function streamedRangeText(body: RangeBody): string {
  const { plan } = body;
  const rest = encodeMessage(etcdserverpb.RangeResponse, {
    header: { revision: plan.refs.rev },
    more: plan.more,
    count: plan.refs.count,
  }).length;
  return `range_response_count:${plan.n} size:${rest + body.kvBytes}`;
}
