// The Auth service: enable/disable, status, authenticate, users, roles and permissions.

import { etcdserverpb, type MethodDescriptor, type PartialMessage } from '@conclave/api';
import type { RpcKind } from '../rpc/policy.js';
import type { CallOptions, Rpc } from '../rpc/rpc.js';
import { resolveRange, type Bytes, type RangeSpec } from '../util/bytes.js';
import { callOptions, checkBytes, checkChoice, checkString } from '../util/validate.js';
import { checkRangeSpec } from '../kv/requests.js';

const A = etcdserverpb.AuthService;

/** Access a role grants on a key range. */
export type PermissionType = 'read' | 'write' | 'readwrite';

/** A permission of a role. */
export interface Permission {
  type: PermissionType;
  key: Uint8Array;
  /** Empty: the single key; "\0": every key from `key` on. */
  rangeEnd: Uint8Array;
}

const PERM_NAMES: Record<number, PermissionType> = { 0: 'read', 1: 'write', 2: 'readwrite' };
const PERM_CODES: Record<PermissionType, 0 | 1 | 2> = { read: 0, write: 1, readwrite: 2 };

/**
 * Authentication and role-based access (`client.auth`). With `username` and `password` in its
 * options, a client authenticates and renews its token by itself; these calls manage users,
 * roles and permissions.
 *
 * ```ts
 * await client.auth.userAdd('root', 'secret');
 * await client.auth.roleAdd('root');
 * await client.auth.userGrantRole('root', 'root');
 * await client.auth.enable();
 * ```
 */
export class AuthApi {
  /** @internal Made by the client (`client.auth`). */
  constructor(private readonly rpc: Rpc) {}

  /** Checks the call options (and the named non-empty strings), then sends the call. */
  private send<Req, Res>(
    m: MethodDescriptor<Req, Res>,
    req: PartialMessage<Req>,
    kind: RpcKind,
    opts: CallOptions | undefined,
    names: Record<string, unknown> = {},
  ): Promise<Res> {
    const method = m.path.slice(m.path.lastIndexOf('/') + 1).replace(/^Auth(Enable|Disable|Status)$/, '$1');
    const where = `auth.${method.replace(/^./, (c) => c.toLowerCase())}`;
    for (const [k, v] of Object.entries(names)) checkString(v, `${where}: ${k}`, true);
    return this.rpc.unary(m, req, { ...callOptions(opts, where), kind });
  }

  /** Enables authentication (a `root` user with the `root` role must exist). */
  async enable(opts?: CallOptions): Promise<void> {
    await this.send(A.AuthEnable, {}, 'write', opts);
  }

  /** Disables authentication. */
  async disable(opts?: CallOptions): Promise<void> {
    await this.send(A.AuthDisable, {}, 'write', opts);
  }

  /** Whether auth is enabled and the auth store's revision (etcd 3.5+; UnimplementedError on 3.4). */
  async status(opts?: CallOptions): Promise<{ enabled: boolean; authRevision: bigint }> {
    const res = await this.send(A.AuthStatus, {}, 'read', opts);
    return { enabled: res.enabled, authRevision: res.authRevision };
  }

  /** Checks a name and password and returns a token (the client manages its own token; this is for tools). */
  async authenticate(name: string, password: string, opts?: CallOptions): Promise<string> {
    checkString(password, 'auth.authenticate: password');
    checkString(name, 'auth.authenticate: name');
    const res = await this.rpc.unary(
      A.Authenticate,
      { name, password },
      { ...callOptions(opts, 'auth.authenticate'), kind: 'read', noAuth: true },
    );
    return res.token;
  }

  /** Adds a user (with `noPassword`, one that can only log in by client certificate). */
  async userAdd(name: string, password: string, opts?: CallOptions & { noPassword?: boolean }): Promise<void> {
    if (password !== undefined || !opts?.noPassword) checkString(password, 'auth.userAdd: password');
    const options = { noPassword: opts?.noPassword ?? false };
    await this.send(A.UserAdd, { name, password, options }, 'write', opts, { name });
  }

  /** Roles granted to a user. */
  async userGet(name: string, opts?: CallOptions): Promise<string[]> {
    return [...(await this.send(A.UserGet, { name }, 'read', opts, { name })).roles];
  }

  /** The names of every user. */
  async userList(opts?: CallOptions): Promise<string[]> {
    return [...(await this.send(A.UserList, {}, 'read', opts)).users];
  }

  /** Deletes a user. */
  async userDelete(name: string, opts?: CallOptions): Promise<void> {
    await this.send(A.UserDelete, { name }, 'write', opts, { name });
  }

  /** Sets a user's password. */
  async userChangePassword(name: string, password: string, opts?: CallOptions): Promise<void> {
    checkString(password, 'auth.userChangePassword: password');
    await this.send(A.UserChangePassword, { name, password }, 'write', opts, { name });
  }

  /** Grants `role` to `user`. */
  async userGrantRole(user: string, role: string, opts?: CallOptions): Promise<void> {
    await this.send(A.UserGrantRole, { user, role }, 'write', opts, { user, role });
  }

  /** Revokes `role` from `user`. */
  async userRevokeRole(user: string, role: string, opts?: CallOptions): Promise<void> {
    await this.send(A.UserRevokeRole, { name: user, role }, 'write', opts, { user, role });
  }

  /** Adds a role. */
  async roleAdd(name: string, opts?: CallOptions): Promise<void> {
    await this.send(A.RoleAdd, { name }, 'write', opts, { name });
  }

  /** Permissions of a role. */
  async roleGet(role: string, opts?: CallOptions): Promise<Permission[]> {
    const res = await this.send(A.RoleGet, { role }, 'read', opts, { role });
    return res.perm.map((p) => ({ type: PERM_NAMES[p.permType] ?? 'read', key: p.key, rangeEnd: p.rangeEnd }));
  }

  /** The names of every role. */
  async roleList(opts?: CallOptions): Promise<string[]> {
    return [...(await this.send(A.RoleList, {}, 'read', opts)).roles];
  }

  /** Deletes a role. */
  async roleDelete(role: string, opts?: CallOptions): Promise<void> {
    await this.send(A.RoleDelete, { role }, 'write', opts, { role });
  }

  /** Grants `type` access on a key, a prefix (`{ prefix: true }`), `[key, end)` or every key from `key` on. */
  async roleGrantPermission(
    role: string,
    type: PermissionType,
    key: Bytes,
    range?: RangeSpec & CallOptions,
  ): Promise<void> {
    checkChoice(type, 'auth.roleGrantPermission: type', ['read', 'write', 'readwrite']);
    const r = permissionRange(key, range, 'auth.roleGrantPermission');
    const perm = { permType: PERM_CODES[type], key: r.key, rangeEnd: r.rangeEnd };
    await this.send(A.RoleGrantPermission, { name: role, perm }, 'write', range, { role });
  }

  /** Revokes the permission of `role` on a key or range. */
  async roleRevokePermission(role: string, key: Bytes, range?: RangeSpec & CallOptions): Promise<void> {
    const r = permissionRange(key, range, 'auth.roleRevokePermission');
    await this.send(A.RoleRevokePermission, { role, key: r.key, rangeEnd: r.rangeEnd }, 'write', range, { role });
  }
}

/** The key range of a permission, checked. */
function permissionRange(
  key: Bytes,
  range: RangeSpec | undefined,
  where: string,
): { key: Uint8Array; rangeEnd: Uint8Array } {
  checkBytes(key, `${where}: key`);
  if (range !== undefined) checkRangeSpec(range, `${where}: range`);
  return resolveRange(key, range);
}
