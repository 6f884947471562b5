// The Auth service: enable/disable, status, authenticate, users, roles and permissions.

import { etcdserverpb } from '@conclave/api';
import type { CallOptions, Rpc } from '../rpc/rpc.js';
import { resolveRange, type Bytes, type RangeSpec } from '../util/bytes.js';
import { callOptions, checkBytes, checkChoice, checkString } from '../util/validate.js';
import { checkRangeSpec } from '../kv/requests.js';

const A = etcdserverpb.AuthService;

export type PermissionType = 'read' | 'write' | 'readwrite';

export interface Permission {
  type: PermissionType;
  key: Uint8Array;
  /** Empty: the single key; "\0": every key from `key` on. */
  rangeEnd: Uint8Array;
}

const PERM_NAMES: Record<number, PermissionType> = { 0: 'read', 1: 'write', 2: 'readwrite' };
const PERM_CODES: Record<PermissionType, 0 | 1 | 2> = { read: 0, write: 1, readwrite: 2 };

export class AuthApi {
  constructor(private readonly rpc: Rpc) {}

  /** Enables authentication (a `root` user with the `root` role must exist). */
  async enable(opts?: CallOptions): Promise<void> {
    opts = callOptions(opts, 'auth.enable');
    await this.rpc.unary(A.AuthEnable, {}, { ...opts, kind: 'write' });
  }

  async disable(opts?: CallOptions): Promise<void> {
    opts = callOptions(opts, 'auth.disable');
    await this.rpc.unary(A.AuthDisable, {}, { ...opts, kind: 'write' });
  }

  /** Whether auth is enabled and the auth store's revision (etcd 3.5+; UnimplementedError on 3.4). */
  async status(opts?: CallOptions): Promise<{ enabled: boolean; authRevision: bigint }> {
    opts = callOptions(opts, 'auth.status');
    const res = await this.rpc.unary(A.AuthStatus, {}, { ...opts, kind: 'read' });
    return { enabled: res.enabled, authRevision: res.authRevision };
  }

  /** Checks a name and password and returns a token (the client manages its own token; this is for tools). */
  async authenticate(name: string, password: string, opts?: CallOptions): Promise<string> {
    checkString(name, 'auth.authenticate: name');
    checkString(password, 'auth.authenticate: password');
    opts = callOptions(opts, 'auth.authenticate');
    const res = await this.rpc.unary(A.Authenticate, { name, password }, { ...opts, kind: 'read', noAuth: true });
    return res.token;
  }

  async userAdd(name: string, password: string, opts?: CallOptions & { noPassword?: boolean }): Promise<void> {
    checkString(name, 'auth.userAdd: name', true);
    if (password !== undefined || !opts?.noPassword) checkString(password, 'auth.userAdd: password');
    opts = callOptions(opts, 'auth.userAdd');
    await this.rpc.unary(
      A.UserAdd,
      { name, password, options: { noPassword: opts.noPassword ?? false } },
      { ...opts, kind: 'write' },
    );
  }

  /** Roles granted to a user. */
  async userGet(name: string, opts?: CallOptions): Promise<string[]> {
    checkString(name, 'auth.userGet: name', true);
    opts = callOptions(opts, 'auth.userGet');
    const res = await this.rpc.unary(A.UserGet, { name }, { ...opts, kind: 'read' });
    return [...res.roles];
  }

  async userList(opts?: CallOptions): Promise<string[]> {
    opts = callOptions(opts, 'auth.userList');
    const res = await this.rpc.unary(A.UserList, {}, { ...opts, kind: 'read' });
    return [...res.users];
  }

  async userDelete(name: string, opts?: CallOptions): Promise<void> {
    checkString(name, 'auth.userDelete: name', true);
    opts = callOptions(opts, 'auth.userDelete');
    await this.rpc.unary(A.UserDelete, { name }, { ...opts, kind: 'write' });
  }

  async userChangePassword(name: string, password: string, opts?: CallOptions): Promise<void> {
    checkString(name, 'auth.userChangePassword: name', true);
    checkString(password, 'auth.userChangePassword: password');
    opts = callOptions(opts, 'auth.userChangePassword');
    await this.rpc.unary(A.UserChangePassword, { name, password }, { ...opts, kind: 'write' });
  }

  async userGrantRole(user: string, role: string, opts?: CallOptions): Promise<void> {
    checkString(user, 'auth.userGrantRole: user', true);
    checkString(role, 'auth.userGrantRole: role', true);
    opts = callOptions(opts, 'auth.userGrantRole');
    await this.rpc.unary(A.UserGrantRole, { user, role }, { ...opts, kind: 'write' });
  }

  async userRevokeRole(user: string, role: string, opts?: CallOptions): Promise<void> {
    checkString(user, 'auth.userRevokeRole: user', true);
    checkString(role, 'auth.userRevokeRole: role', true);
    opts = callOptions(opts, 'auth.userRevokeRole');
    await this.rpc.unary(A.UserRevokeRole, { name: user, role }, { ...opts, kind: 'write' });
  }

  async roleAdd(name: string, opts?: CallOptions): Promise<void> {
    checkString(name, 'auth.roleAdd: name', true);
    opts = callOptions(opts, 'auth.roleAdd');
    await this.rpc.unary(A.RoleAdd, { name }, { ...opts, kind: 'write' });
  }

  /** Permissions of a role. */
  async roleGet(role: string, opts?: CallOptions): Promise<Permission[]> {
    checkString(role, 'auth.roleGet: role', true);
    opts = callOptions(opts, 'auth.roleGet');
    const res = await this.rpc.unary(A.RoleGet, { role }, { ...opts, kind: 'read' });
    return res.perm.map((p) => ({ type: PERM_NAMES[p.permType] ?? 'read', key: p.key, rangeEnd: p.rangeEnd }));
  }

  async roleList(opts?: CallOptions): Promise<string[]> {
    opts = callOptions(opts, 'auth.roleList');
    const res = await this.rpc.unary(A.RoleList, {}, { ...opts, kind: 'read' });
    return [...res.roles];
  }

  async roleDelete(role: string, opts?: CallOptions): Promise<void> {
    checkString(role, 'auth.roleDelete: role', true);
    opts = callOptions(opts, 'auth.roleDelete');
    await this.rpc.unary(A.RoleDelete, { role }, { ...opts, kind: 'write' });
  }

  /** Grants `type` access on a key, a prefix (`{ prefix: true }`), `[key, end)` or every key from `key` on. */
  async roleGrantPermission(
    role: string,
    type: PermissionType,
    key: Bytes,
    range?: RangeSpec & CallOptions,
  ): Promise<void> {
    checkString(role, 'auth.roleGrantPermission: role', true);
    checkChoice(type, 'auth.roleGrantPermission: type', ['read', 'write', 'readwrite']);
    checkBytes(key, 'auth.roleGrantPermission: key');
    range = callOptions(range, 'auth.roleGrantPermission');
    checkRangeSpec(range, 'auth.roleGrantPermission: range');
    const r = resolveRange(key, range);
    await this.rpc.unary(
      A.RoleGrantPermission,
      { name: role, perm: { permType: PERM_CODES[type], key: r.key, rangeEnd: r.rangeEnd } },
      { ...range, kind: 'write' },
    );
  }

  async roleRevokePermission(role: string, key: Bytes, range?: RangeSpec & CallOptions): Promise<void> {
    checkString(role, 'auth.roleRevokePermission: role', true);
    checkBytes(key, 'auth.roleRevokePermission: key');
    range = callOptions(range, 'auth.roleRevokePermission');
    checkRangeSpec(range, 'auth.roleRevokePermission: range');
    const r = resolveRange(key, range);
    await this.rpc.unary(
      A.RoleRevokePermission,
      { role, key: r.key, rangeEnd: r.rangeEnd },
      { ...range, kind: 'write' },
    );
  }
}
