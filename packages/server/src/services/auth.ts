// etcdserverpb.Auth: enabling/disabling auth, Authenticate, users and roles. Changes go through Raft
// (and need the root role once auth is on; checked when applied); Authenticate checks the password
// here (bcrypt), then proposes the token so every member learns it; reads (get/list, AuthStatus)
// are served after a ReadIndex round, as etcd 3.4 serves them through Raft.

import { encodeMessage, etcdserverpb, type MessageCodec, type PartialMessage } from '@conclave/api';
import { encodeInternalAuthenticate } from '../auth/store.js';
import { RequestKind } from '../etcdserver/raft-request.js';
import type { CallContext } from '../grpc/call.js';
import type { ServiceHandlers } from '../grpc/grpc-server.js';
import { header, type ServiceContext } from './context.js';

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

  /** Local reads: after a ReadIndex round, with the caller resolved (etcd serves them through Raft). */
  const caller = async (call: CallContext) => {
    await reads.linearizableRead();
    return auth.identifyAsync(call);
  };

  const hashed = async (password: string): Promise<string> =>
    Buffer.from(await auth.hashPassword(password), 'latin1').toString('base64');

  return {
    AuthEnable: change(RequestKind.AuthEnable, etcdserverpb.AuthEnableRequest),
    AuthDisable: change(RequestKind.AuthDisable, etcdserverpb.AuthDisableRequest),
    AuthStatus: async () => {
      await reads.linearizableRead();
      return { ...hdr(), enabled: store.enabled, authRevision: BigInt(store.revision) };
    },
    Authenticate: async (req, call) => {
      await reads.linearizableRead();
      for (;;) {
        const checkedAt = await store.checkPassword(req.name, req.password);
        const opts = await auth.proposeOptions(call);
        const body = encodeInternalAuthenticate({ name: req.name, simpleToken: store.tokens.genPrefix() });
        const res = await proposer.propose<{ token: string }>(RequestKind.Authenticate, body, {
          ...opts,
          cancel: call,
        });
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
    UserGet: async (req, call) => {
      const info = await caller(call);
      // Anyone may read their own user; others need the root role.
      try {
        auth.checkAdmin(info);
      } catch (err) {
        if (req.name !== (info?.username ?? '')) throw err;
      }
      return { ...hdr(), roles: store.userGet(req.name) };
    },
    UserList: async (_req, call) => {
      auth.checkAdmin(await caller(call));
      return { ...hdr(), users: store.userNames() };
    },
    RoleGet: async (req, call) => {
      const info = await caller(call);
      // Anyone may read a role they have; others need the root role.
      try {
        auth.checkAdmin(info);
      } catch (err) {
        if (!store.hasRole(info?.username ?? '', req.role)) throw err;
      }
      return { ...hdr(), perm: store.roleGet(req.role) };
    },
    RoleList: async (_req, call) => {
      auth.checkAdmin(await caller(call));
      return { ...hdr(), roles: store.roleNames() };
    },
  };
}
