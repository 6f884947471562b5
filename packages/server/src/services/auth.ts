// etcdserverpb.Auth: enabling/disabling auth, Authenticate, users and roles. Changes go through Raft
// (and need the root role once auth is on; checked when applied); Authenticate checks the password
// here (bcrypt), then proposes the token so every member learns it; reads (AuthStatus, user and
// role get/list) go through Raft too, as etcd serves them (so they take Raft indexes, which
// `endpoint status` shows), with the caller checked when applied. In a cluster whose version is
// still below 3.5 (members of an older Conclave may not know those entries) they are served after
// a ReadIndex round instead, with the same checks.

import { encodeMessage, etcdserverpb, type MessageCodec, type PartialMessage } from '@conclave/api';
import { encodeInternalAuthenticate } from '../auth/store.js';
import { RequestKind } from '../etcdserver/raft-request.js';
import { compareSemver, parseSemver } from '../cluster-version/index.js';
import type { CallContext } from '../grpc/call.js';
import type { ServiceHandlers } from '../grpc/grpc-server.js';
import { header, proposeAsCaller, type ServiceContext } from './context.js';

type Header = { header: PartialMessage<etcdserverpb.ResponseHeader> };

export function authService(ctx: ServiceContext): ServiceHandlers<typeof etcdserverpb.AuthService> {
  const { auth, proposer, reads } = ctx;
  const store = auth.store;
  const hdr = (): Header => ({ header: header(ctx, ctx.store.currentRevision) });

  /** A change proposed through Raft with the caller's identity (the root role is checked when applied). */
  const change =
    <Req>(kind: RequestKind, codec: MessageCodec<Req>, prepare?: (req: Req) => Promise<PartialMessage<Req>>) =>
    async (req: Req, call: CallContext): Promise<Header> => {
      const opts = await auth.proposeOptions(call);
      const body = prepare ? await prepare(req) : (req as PartialMessage<Req>);
      await proposer.propose(kind, encodeMessage(codec, body), { ...opts, cancel: call });
      return hdr();
    };

  /** Local reads (cluster version below 3.5): after a ReadIndex round, with the caller resolved. */
  const caller = async (call: CallContext) => {
    await reads.linearizableRead();
    return auth.identifyAsync(call);
  };

  const V35 = { major: 3, minor: 5, patch: 0, preRelease: '' };
  const throughRaft = (): boolean => {
    const cv = parseSemver(ctx.clusterVersion());
    return cv !== null && compareSemver(cv, V35) >= 0;
  };

  /** A read proposed through Raft with the caller's identity; its answer comes from the apply. */
  const read =
    <Req, Res>(kind: RequestKind, codec: MessageCodec<Req>, local: (req: Req, call: CallContext) => Promise<Res>) =>
    async (req: Req, call: CallContext): Promise<Res & Header> => {
      if (!throughRaft()) return { ...(await local(req, call)), ...hdr() };
      const res = await proposeAsCaller<Res>(ctx, call, kind, encodeMessage(codec, req as PartialMessage<Req>));
      return { ...res, ...hdr() };
    };

  const hashed = async (password: string): Promise<string> =>
    Buffer.from(await auth.hashPassword(password), 'latin1').toString('base64');

  return {
    AuthEnable: change(RequestKind.AuthEnable, etcdserverpb.AuthEnableRequest),
    AuthDisable: change(RequestKind.AuthDisable, etcdserverpb.AuthDisableRequest),
    // The root role only, once auth is on (etcd 3.5).
    AuthStatus: read(RequestKind.AuthStatus, etcdserverpb.AuthStatusRequest, async (_req, call) => {
      auth.checkAdmin(await caller(call));
      return { enabled: store.enabled, authRevision: BigInt(store.revision) };
    }),
    Authenticate: async (req, call) => {
      await reads.linearizableRead();
      for (;;) {
        const checkedAt = await store.checkPassword(req.name, req.password);
        const body = encodeInternalAuthenticate({ name: req.name, simpleToken: store.tokens.genPrefix() });
        const res = await proposeAsCaller<{ token: string }>(ctx, call, RequestKind.Authenticate, body);
        // The password was checked against a store that changed before the token was issued: check again.
        if (checkedAt === store.revision) return { ...hdr(), token: res.token };
      }
    },
    // The password is hashed here, so the log holds no plain password and every member stores the
    // same hash (etcd 3.5's hashedPassword); a user without password keeps an empty one.
    UserAdd: change(RequestKind.AuthUserAdd, etcdserverpb.AuthUserAddRequest, async (req) =>
      req.options?.noPassword
        ? { ...req, password: '', hashedPassword: '' }
        : { ...req, password: '', hashedPassword: await hashed(req.password) },
    ),
    UserChangePassword: change(
      RequestKind.AuthUserChangePassword,
      etcdserverpb.AuthUserChangePasswordRequest,
      async (req) =>
        // A client may send a ready bcrypt hash (3.5's hashedPassword, base64) instead of a password.
        req.password === '' && req.hashedPassword !== ''
          ? req
          : { ...req, password: '', hashedPassword: await hashed(req.password) },
    ),
    UserDelete: change(RequestKind.AuthUserDelete, etcdserverpb.AuthUserDeleteRequest),
    UserGrantRole: change(RequestKind.AuthUserGrantRole, etcdserverpb.AuthUserGrantRoleRequest),
    UserRevokeRole: change(RequestKind.AuthUserRevokeRole, etcdserverpb.AuthUserRevokeRoleRequest),
    RoleAdd: change(RequestKind.AuthRoleAdd, etcdserverpb.AuthRoleAddRequest),
    RoleDelete: change(RequestKind.AuthRoleDelete, etcdserverpb.AuthRoleDeleteRequest),
    RoleGrantPermission: change(RequestKind.AuthRoleGrantPermission, etcdserverpb.AuthRoleGrantPermissionRequest),
    RoleRevokePermission: change(RequestKind.AuthRoleRevokePermission, etcdserverpb.AuthRoleRevokePermissionRequest),
    UserGet: read(RequestKind.AuthUserGet, etcdserverpb.AuthUserGetRequest, async (req, call) => {
      const info = await caller(call);
      // Anyone may read their own user; others need the root role.
      try {
        auth.checkAdmin(info);
      } catch (err) {
        if (req.name !== (info?.username ?? '')) throw err;
      }
      return { roles: store.userGet(req.name) };
    }),
    UserList: read(RequestKind.AuthUserList, etcdserverpb.AuthUserListRequest, async (_req, call) => {
      auth.checkAdmin(await caller(call));
      return { users: store.userNames() };
    }),
    RoleGet: read(RequestKind.AuthRoleGet, etcdserverpb.AuthRoleGetRequest, async (req, call) => {
      const info = await caller(call);
      // Anyone may read a role they have; others need the root role.
      try {
        auth.checkAdmin(info);
      } catch (err) {
        if (!store.hasRole(info?.username ?? '', req.role)) throw err;
      }
      return { perm: store.roleGet(req.role) };
    }),
    RoleList: read(RequestKind.AuthRoleList, etcdserverpb.AuthRoleListRequest, async (_req, call) => {
      auth.checkAdmin(await caller(call));
      return { roles: store.roleNames() };
    }),
  };
}
