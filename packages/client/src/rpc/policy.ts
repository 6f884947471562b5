// The retry rules, as pure functions of what is known about a failed attempt.
//
// Kinds of call:
// - `read`: Range, read-only Txn, LeaseTimeToLive, LeaseLeases, MemberList, Status, Alarm (get),
//   Hash, HashKV, AuthStatus, UserGet/List, RoleGet/List, Authenticate. Retried on another endpoint
//   after any UNAVAILABLE (transport or etcd's "no leader", "request timed out", ...) and after an
//   attempt deadline (the per-attempt cap, not the call's own deadline).
// - `idempotent`: writes whose repetition is harmless: LeaseGrant (a duplicate grant leaves an unused
//   lease that expires), LeaseRevoke, Alarm deactivate, Defragment. Retried like reads.
// - `write`: Put, DeleteRange, Txn with writes, Compact, member and auth changes. Retried only when
//   the failed attempt provably had no effect:
//     1. it never reached a server: gRPC UNAVAILABLE, no response headers received, and grpc-js's
//        status text is one it only produces before a call gets an HTTP/2 stream on a connection
//        ("No connection established…", "Channel closed before call started", "Name resolution
//        failed…", "Subchannel not ready", "Picked subchannel … is unhealthy") or the server refused
//        the stream at the HTTP/2 layer (REFUSED_STREAM: "Stream refused by server");
//     2. or the server answered with an error etcd only raises before proposing a request to Raft:
//        "raft proposal dropped" (dropped before entering the log), "etcdserver: unhealthy cluster"
//        (membership change refused by the quorum check), "etcdserver: not capable" (cluster
//        version check), "etcdserver: rpc not supported for learner", and "etcdserver: no leader"
//        when the call carried `hasleader` (then it comes from the hasleader check before the
//        handler); and the auth rejections "etcdserver: invalid auth token", "etcdserver:
//        revision of auth store is old" and "etcdserver: user name is empty", retried after
//        fetching a new token (client with credentials only).
//   Any other failure ("Connection dropped", RST_STREAM, a reset socket, etcd's "request timed out")
//   may have been applied and is returned to the caller as a retriable typed error.

import { GrpcCode } from '@conclave/api';
import { DeadlineExceededError, UnavailableError, type ConclaveError } from '../errors/base.js';

/** The kinds of call, which decide the retry rules: `read`, `idempotent` (a repeat is harmless) and `write`. */
export type RpcKind = 'read' | 'idempotent' | 'write';

/** grpc-js status texts produced only before a call is given an HTTP/2 stream, or when the server refused it. */
const NEVER_SENT =
  /^(No connection established|Channel closed before call started|Name resolution failed|Subchannel not ready|Picked subchannel \S+ is unhealthy|Stream refused by server)/;

/** @hidden What is known about how far a failed attempt got. */
export interface AttemptInfo {
  /** The attempt provably never reached a server application. */
  neverSent: boolean;
  /** The attempt's deadline was the per-attempt cap (earlier than the call's deadline). */
  cappedDeadline: boolean;
  /** The attempt carried `hasleader` metadata. */
  requireLeader?: boolean;
}

/** Whether a failed attempt provably never reached a server. */
export function isNeverSent(code: number, details: string, receivedHeaders: boolean): boolean {
  return !receivedHeaders && code === GrpcCode.UNAVAILABLE && NEVER_SENT.test(details);
}

/**
 * Server answers proving the request was not applied; safe to repeat for any kind. (The auth
 * answers — invalid token, old auth revision — are too, but are retried only after fetching a new
 * token, by the call pipeline.)
 */
const NOT_APPLIED = new Set(['ProposalDropped', 'Unhealthy', 'NotCapable', 'NotSupportedForLearner']);

export function isNotApplied(err: ConclaveError, info: AttemptInfo): boolean {
  return NOT_APPLIED.has(err.code) || (err.code === 'NoLeader' && info.requireLeader === true);
}

export function isAuthRefresh(err: ConclaveError): boolean {
  return err.code === 'InvalidAuthToken' || err.code === 'AuthOldRevision';
}

/** Whether a failed attempt of a call of `kind` may be retried automatically. */
export function mayRetry(kind: RpcKind, err: ConclaveError, info: AttemptInfo): boolean {
  if (info.neverSent) return true;
  if (isNotApplied(err, info)) return true;
  if (kind === 'write') return false;
  if (err instanceof UnavailableError) return true;
  if (err instanceof DeadlineExceededError && info.cappedDeadline) return true;
  return false;
}

/** Whether a failed attempt says the endpoint itself is unhealthy (its circuit should count a failure). */
export function isEndpointFailure(err: ConclaveError, info: AttemptInfo): boolean {
  if (err instanceof UnavailableError) return true;
  return err instanceof DeadlineExceededError && info.cappedDeadline;
}
