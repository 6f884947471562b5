// etcd's "apply request took too long" warning (--experimental-warning-apply-duration, default
// 100 ms): a request whose apply (or, for a read-only Range, whose serving) took longer is logged
// with how long it took, the limit, the request as etcd prints it and the size of the answer, and
// counted in etcd_server_slow_apply_total. The request text follows etcd's: Go's compact protobuf
// text ("key:\"foo\" value_size:3 "), with values redacted to their sizes (put, txn compares) and
// etcd's own formats for lease grants and revokes, authenticate and user add/change password; the
// member-publish and cluster-version requests print as the v2 requests etcd applies for them.

import {
  authpb,
  decodeMessage,
  encodeMessage,
  etcdserverpb,
  type MessageCodec,
  type PartialMessage,
} from '@conclave/api';
import { formatGoDuration, type Logger } from '../log/index.js';
import { type InternalRequest, RequestKind } from '../etcdserver/raft-request.js';
import { decodeInternalAuthenticate } from '../auth/store.js';

const pb = etcdserverpb;

/** Enum fields printed by name (Go's text format), by their TypeScript field name. */
const ENUMS: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  result: pb.Compare_CompareResult$names,
  target: pb.Compare_CompareTarget$names,
  sortOrder: pb.RangeRequest_SortOrder$names,
  sortTarget: pb.RangeRequest_SortTarget$names,
  action: pb.AlarmRequest_AlarmAction$names,
  alarm: pb.AlarmType$names,
  permType: authpb.Permission_Type$names,
};

/** Proto field names that are not the snake_case of the TypeScript name. */
const NAMES: Readonly<Record<string, string>> = {
  ID: 'ID',
  TTL: 'TTL',
  memberID: 'memberID',
  remainingTTL: 'remaining_TTL',
  permType: 'permType',
  hashedPassword: 'hashedPassword',
};

const protoName = (ts: string): string => NAMES[ts] ?? ts.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Go's proto text quoting of bytes or a string: C escapes, octal for everything not printable. */
export function goTextQuote(v: Uint8Array | string): string {
  const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  let out = '"';
  for (const c of bytes) {
    if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\${c.toString(8).padStart(3, '0')}`;
  }
  return `${out}"`;
}

function scalarText(name: string, v: unknown): string | null {
  if (v instanceof Uint8Array || typeof v === 'string') return goTextQuote(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' && ENUMS[name]) return ENUMS[name]![v] ?? String(v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return null;
}

/**
 * Go's proto.CompactTextString of a decoded message: set fields in order, each followed by a space.
 * `oneof` names scalar fields of a oneof, printed when set even at zero (unset ones are undefined).
 */
export function compactText(msg: object, oneof: ReadonlySet<string> = NO_ONEOF): string {
  let out = '';
  for (const [name, v] of Object.entries(msg)) {
    if (v === undefined || v === null) continue;
    const field = protoName(name);
    if (Array.isArray(v)) {
      for (const item of v) {
        const s = scalarText(name, item);
        out += s === null ? `${field}:<${compactText(item as object)}> ` : `${field}:${s} `;
      }
      continue;
    }
    const s = scalarText(name, v);
    if (s === null) {
      out += `${field}:<${compactText(v as object, name === 'compare' ? COMPARE_ONEOF : NO_ONEOF)}> `;
      continue;
    }
    // proto3: zero scalars are not printed
    const zero = v === 0 || v === 0n || v === false || v === '' || (v instanceof Uint8Array && v.length === 0);
    if (zero && !oneof.has(name)) continue;
    out += `${field}:${s} `;
  }
  return out;
}

const NO_ONEOF: ReadonlySet<string> = new Set();
/** Compare's target_union members. */
const COMPARE_ONEOF: ReadonlySet<string> = new Set(['version', 'createRevision', 'modRevision', 'value', 'lease']);

/** etcd's loggablePutRequest: the value's size instead of the value. */
function putText(p: etcdserverpb.PutRequest): string {
  const { key, value, ...rest } = p;
  return compactText({ key, valueSize: BigInt(value.length), ...rest });
}

/** etcd's txnRequestStringer: compares by value show value_size, puts are redacted. */
function txnText(t: etcdserverpb.TxnRequest): string {
  const compare = t.compare.map((c) => {
    if (c.value === undefined) return compactText(c, COMPARE_ONEOF);
    const { result, target, key, rangeEnd } = c;
    return compactText({ result, target, key, valueSize: BigInt(c.value.length), rangeEnd }, COMPARE_ONEOF);
  });
  const op = (o: etcdserverpb.RequestOp): string =>
    o.requestPut
      ? `request_put:<${putText(o.requestPut)}>`
      : o.requestTxn
        ? `request_txn:<${txnText(o.requestTxn)}>`
        : compactText(o);
  return `compare:<${compare.join(' ')}> success:<${t.success.map(op).join(' ')}> failure:<${t.failure.map(op).join(' ')}>`;
}

/** InternalRaftRequest field names (etcd's raft_internal.proto) and body codecs. */
const GENERIC: Readonly<Record<number, [string, MessageCodec<object>]>> = {
  [RequestKind.DeleteRange]: ['delete_range', pb.DeleteRangeRequest],
  [RequestKind.Compaction]: ['compaction', pb.CompactionRequest],
  [RequestKind.LeaseCheckpoint]: ['lease_checkpoint', pb.LeaseCheckpointRequest],
  [RequestKind.Alarm]: ['alarm', pb.AlarmRequest],
  [RequestKind.AuthEnable]: ['auth_enable', pb.AuthEnableRequest],
  [RequestKind.AuthDisable]: ['auth_disable', pb.AuthDisableRequest],
  [RequestKind.AuthUserDelete]: ['auth_user_delete', pb.AuthUserDeleteRequest],
  [RequestKind.AuthUserGrantRole]: ['auth_user_grant_role', pb.AuthUserGrantRoleRequest],
  [RequestKind.AuthUserRevokeRole]: ['auth_user_revoke_role', pb.AuthUserRevokeRoleRequest],
  [RequestKind.AuthRoleAdd]: ['auth_role_add', pb.AuthRoleAddRequest],
  [RequestKind.AuthRoleDelete]: ['auth_role_delete', pb.AuthRoleDeleteRequest],
  [RequestKind.AuthRoleGrantPermission]: ['auth_role_grant_permission', pb.AuthRoleGrantPermissionRequest],
  [RequestKind.AuthRoleRevokePermission]: ['auth_role_revoke_permission', pb.AuthRoleRevokePermissionRequest],
  // the auth reads etcd 3.5 puts through Raft
  [RequestKind.AuthStatus]: ['auth_status', pb.AuthStatusRequest],
  [RequestKind.AuthUserGet]: ['auth_user_get', pb.AuthUserGetRequest],
  [RequestKind.AuthUserList]: ['auth_user_list', pb.AuthUserListRequest],
  [RequestKind.AuthRoleGet]: ['auth_role_get', pb.AuthRoleGetRequest],
  [RequestKind.AuthRoleList]: ['auth_role_list', pb.AuthRoleListRequest],
};

const decode = <T extends object>(codec: MessageCodec<T>, body: Uint8Array): T => decodeMessage(codec, body);

/** A committed request as etcd's InternalRaftStringer prints it. */
export function requestText(req: InternalRequest): string {
  const header = compactText({ ID: req.id, username: req.username, authRevision: BigInt(req.authRevision) });
  const h = `header:<${header}>`;
  const body = req.body;
  switch (req.kind) {
    case RequestKind.Put:
      return `${h} put:<${putText(decode(pb.PutRequest, body))}>`;
    case RequestKind.Txn:
      return `${h} txn:<${txnText(decode(pb.TxnRequest, body))}>`;
    case RequestKind.LeaseGrant: {
      const g = decode(pb.LeaseGrantRequest, body);
      return `${h} lease_grant:<ttl:${g.TTL}-second id:${BigInt.asUintN(64, g.ID).toString(16).padStart(16, '0')}>`;
    }
    case RequestKind.LeaseRevoke: {
      const r = decode(pb.LeaseRevokeRequest, body);
      return `${h} lease_revoke:<id:${BigInt.asUintN(64, r.ID).toString(16).padStart(16, '0')}>`;
    }
    case RequestKind.Authenticate: {
      const a = decodeInternalAuthenticate(body);
      return `${h} authenticate:<name:${a.name} simple_token:${a.simpleToken}>`;
    }
    case RequestKind.AuthUserAdd:
      return `${h} auth_user_add:<name:${decode(pb.AuthUserAddRequest, body).name}>`;
    case RequestKind.AuthUserChangePassword:
      return `${h} auth_user_change_password:<name:${decode(pb.AuthUserChangePasswordRequest, body).name}>`;
    case RequestKind.MemberAttributes: {
      const a = JSON.parse(Buffer.from(body).toString('utf8')) as { id: string; name: string; clientURLs: string[] };
      const val = JSON.stringify({ name: a.name, clientURLs: a.clientURLs });
      return `ID:${req.id} Method:"PUT" Path:${goTextQuote(`/0/members/${a.id}/attributes`)} Val:${goTextQuote(val)} `;
    }
    case RequestKind.DowngradeInfoSet: {
      // etcd 3.5's membershippb.DowngradeInfoSetRequest; Conclave's body is its JSON (cluster-version/)
      const d = JSON.parse(Buffer.from(body).toString('utf8')) as { enabled?: boolean; ver?: string };
      return `${h} downgrade_info_set:<${compactText({ enabled: d.enabled === true, ver: d.ver ?? '' })}> `;
    }
    case RequestKind.ClusterVersion:
      return `ID:${req.id} Method:"PUT" Path:"/0/version" Val:${goTextQuote(Buffer.from(body).toString('utf8'))} `;
    default: {
      const g = GENERIC[req.kind];
      return g ? `${h} ${g[0]}:<${compactText(decode(g[1], body))}> ` : h;
    }
  }
}

/** Answer codecs, for the "size:N" etcd prints. */
const RESPONSES: Readonly<Record<number, MessageCodec<object>>> = {
  [RequestKind.Put]: pb.PutResponse,
  [RequestKind.DeleteRange]: pb.DeleteRangeResponse,
  [RequestKind.Txn]: pb.TxnResponse,
  [RequestKind.Compaction]: pb.CompactionResponse,
  [RequestKind.LeaseGrant]: pb.LeaseGrantResponse,
  [RequestKind.LeaseRevoke]: pb.LeaseRevokeResponse,
  [RequestKind.Alarm]: pb.AlarmResponse,
};

/** The answers etcd's applier gives a full header (newHeader); the others carry only the revision. */
const FULL_HEADER: ReadonlySet<number> = new Set([RequestKind.LeaseGrant, RequestKind.LeaseRevoke]);

type Header = PartialMessage<etcdserverpb.ResponseHeader>;

/** "size:N" of an apply result etcd would print (empty when there is none). */
export function responseText(kind: number, value: unknown, fullHeader: () => Header): string {
  const codec = RESPONSES[kind];
  if (!codec || value === undefined || value === null || typeof value !== 'object') return '';
  const v = value as { header?: Header };
  const header = FULL_HEADER.has(kind) ? { ...fullHeader(), revision: v.header?.revision } : v.header;
  return `size:${encodeMessage(codec, { ...v, header }).length}`;
}

/** etcd's answer text for a read-only range: "range_response_count:N size:M". */
export function rangeResponseText(res: PartialMessage<etcdserverpb.RangeResponse>): string {
  // measured before the header is filled at the edge: it holds the revision only
  const size = encodeMessage(pb.RangeResponse, { ...res, header: { revision: res.header?.revision } }).length;
  return `range_response_count:${res.kvs?.length ?? 0} size:${size}`;
}

/** The limit and where to tell it. */
export interface SlowApplyWarner {
  /** --experimental-warning-apply-duration, in milliseconds. */
  readonly limitMs: number;
  /** The member's full response header (etcd's newHeader), for the answers that carry it. */
  readonly header: () => Header;
  /** Logs etcd's warning and counts a slow apply when `tookMs` is over the limit. */
  check(tookMs: number, prefix: string, request: () => string, response: () => string, err?: unknown): void;
}

export function slowApplyWarner(
  logger: Logger,
  limitMs: number,
  count: () => void,
  header: () => Header,
): SlowApplyWarner {
  return {
    limitMs,
    header,
    check(tookMs, prefix, request, response, err) {
      if (!(tookMs > limitMs)) return;
      count();
      logger.warn('apply request took too long', {
        took: formatGoDuration(tookMs),
        'expected-duration': formatGoDuration(limitMs),
        prefix,
        request: request(),
        response: response(),
        ...(err === undefined ? {} : { error: err instanceof Error ? err.message : String(err) }),
      });
    },
  };
}
