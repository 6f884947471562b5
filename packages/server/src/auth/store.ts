// The auth store (etcd's auth.authStore): users, roles, the enabled flag and the auth revision,
// persisted in the backend's `auth`, `authUsers` and `authRoles` sub-databases inside the apply
// batch and mirrored in memory. Every change arrives as a committed Raft entry and is applied here
// on every member, with etcd 3.4's rules and errors; the permission checks (etcd's isOpPermitted
// and IsAdminPermitted) read the same state.
//
// Layout: auth["authEnabled"] = 0x00 | 0x01, auth["authRevision"] = 8-byte big-endian;
// authUsers / authRoles: see named-records.ts.

import { authpb, etcdError, Reader, Writer } from '@conclave/api';
import { decodeUint64, encodeUint64, type Backend } from '../storage/backend/index.js';
import { verifyPassword } from './bcrypt.js';
import { noPasswordUserError } from './errors.js';
import { NamedRecords } from './named-records.js';
import { UnifiedPermissions } from './permissions.js';
import type { Logger } from '../log/index.js';
import type { AuthInfo, TokenProvider } from './token-provider.js';

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

const ENABLED_KEY = Buffer.from('authEnabled');
const REVISION_KEY = Buffer.from('authRevision');

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
/** Go's string order (bytes), for user names, role names and a user's roles. */
export const byteOrder = (a: string, b: string): number => (a === b ? 0 : Buffer.compare(utf8(a), utf8(b)));

export class AuthStore {
  private _enabled = false;
  private _revision = 1;
  private readonly users = new NamedRecords(authpb.User, () => this.backend.dbs.authUsers);
  private readonly roles = new NamedRecords(authpb.Role, () => this.backend.dbs.authRoles);
  /** Merged permissions per user (etcd's rangePermCache), dropped on every auth change. */
  private readonly permCache = new Map<string, UnifiedPermissions>();
  private abortHookSeq = -1;

  constructor(
    private readonly backend: Backend,
    readonly tokens: TokenProvider,
    /** etcd's auth log lines (at apply, on every member). */
    private readonly log: Pick<Logger, 'info' | 'warn'> | null = null,
  ) {
    this.load();
  }

  get enabled(): boolean {
    return this._enabled;
  }

  /** The auth revision: 1 for a new store, +1 for every change except enabling auth (as in etcd). */
  get revision(): number {
    return this._revision;
  }

  /** (Re)reads everything from the backend: at start and after a snapshot replaced the backend. */
  load(): void {
    const dbs = this.backend.dbs;
    const en = dbs.auth.get(ENABLED_KEY);
    const rev = dbs.auth.get(REVISION_KEY);
    this._enabled = en !== undefined && en.length > 0 && en[0] === 1;
    this._revision = rev ? decodeUint64(rev) : 1;
    this.users.load();
    this.roles.load();
    this.permCache.clear();
    if (this._enabled) this.tokens.enable();
    else this.tokens.disable();
  }

  // ---- reads ----

  getUser(name: string): authpb.User | undefined {
    return this.users.get(name);
  }

  getRole(name: string): authpb.Role | undefined {
    return this.roles.get(name);
  }

  userNames(): string[] {
    return [...this.users.keys()].sort(byteOrder);
  }

  roleNames(): string[] {
    return [...this.roles.keys()].sort(byteOrder);
  }

  hasRole(user: string, role: string): boolean {
    return this.users.get(user)?.roles.includes(role) ?? false;
  }

  /**
   * etcd's CheckPassword (run before proposing Authenticate): resolves with the auth revision the
   * password was checked at. Errors: auth not enabled; unknown user or wrong password (AuthFailed);
   * a user without password (an unmapped auth error, as etcd 3.4 sends it).
   */
  async checkPassword(name: string, password: string): Promise<number> {
    if (!this._enabled) throw etcdError('AuthNotEnabled');
    const user = this.users.get(name);
    if (!user) throw etcdError('AuthFailed');
    if (user.options?.noPassword) throw noPasswordUserError();
    const revision = this._revision;
    if (!(await verifyPassword(password, user.password))) throw etcdError('AuthFailed');
    return revision;
  }

  // ---- checks (etcd's isOpPermitted / IsAdminPermitted) ----

  private permsOf(user: authpb.User, name: string): UnifiedPermissions {
    let p = this.permCache.get(name);
    if (!p) {
      p = UnifiedPermissions.fromRoles(user.roles.map((r) => this.roles.get(r)));
      this.permCache.set(name, p);
    }
    return p;
  }

  /**
   * Throws unless `info` may read ('read') or write ('write') [key, rangeEnd) (rangeEnd empty: the
   * key alone; "\0": every key from `key` on). No-op while auth is disabled.
   */
  checkOp(info: AuthInfo | null, type: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array): void {
    if (!this._enabled) return;
    if (!info || info.revision === 0 || info.username === '') throw etcdError('UserEmpty');
    if (info.revision < this._revision) throw etcdError('AuthOldRevision');
    const user = this.users.get(info.username);
    if (!user) throw etcdError('PermissionDenied');
    if (user.roles.includes(ROOT_ROLE)) return;
    if (!this.permsOf(user, info.username).permits(type, key, rangeEnd)) throw etcdError('PermissionDenied');
  }

  /** Throws unless `info` has the root role. No-op while auth is disabled. */
  checkAdmin(info: AuthInfo | null): void {
    if (!this._enabled) return;
    if (!info || info.username === '') throw etcdError('UserEmpty');
    const user = this.users.get(info.username);
    if (!user) throw etcdError('UserNotFound');
    if (!user.roles.includes(ROOT_ROLE)) throw etcdError('PermissionDenied');
  }

  // ---- changes, applied from committed entries (inside the backend batch) ----

  private touch(): void {
    if (this.abortHookSeq !== this.backend.batchSeq) {
      this.abortHookSeq = this.backend.batchSeq;
      // A batch that fails leaves the backend as it was: reread it.
      this.backend.onAbort(() => this.load());
    }
    this.permCache.clear();
  }

  /** Removes a user or role (not root while auth is on: etcd's "invalid auth management"). */
  private removeRecord(
    records: NamedRecords<authpb.User> | NamedRecords<authpb.Role>,
    name: string,
    root: string,
    notFound: 'UserNotFound' | 'RoleNotFound',
  ): void {
    if (this._enabled && name === root) throw etcdError('InvalidAuthMgmt');
    if (!records.has(name)) throw etcdError(notFound);
    this.touch();
    records.remove(name);
  }

  private commitRevision(): void {
    this._revision++;
    this.backend.dbs.auth.putSync(REVISION_KEY, encodeUint64(this._revision));
  }

  authEnable(): void {
    if (this._enabled) return;
    const root = this.users.get(ROOT_USER);
    if (!root) throw etcdError('RootUserNotExist');
    if (!root.roles.includes(ROOT_ROLE)) throw etcdError('RootRoleNotExist');
    this.touch();
    this.backend.dbs.auth.putSync(ENABLED_KEY, Buffer.from([1]));
    // etcd writes the revision it already has (enabling does not bump it).
    this.backend.dbs.auth.putSync(REVISION_KEY, encodeUint64(this._revision));
    this._enabled = true;
    this.tokens.enable();
    this.log?.info('enabled authentication');
  }

  authDisable(): void {
    if (!this._enabled) return;
    this.touch();
    this.backend.dbs.auth.putSync(ENABLED_KEY, Buffer.from([0]));
    this._enabled = false;
    this.tokens.disable();
    this.commitRevision();
    this.log?.info('disabled authentication');
  }

  /** Issues a token for `name` (etcd's Authenticate, applied): `prefix` and `index` make simple tokens. */
  authenticate(name: string, prefix: string, index: number): string {
    if (!this._enabled) throw etcdError('AuthNotEnabled');
    const user = this.users.get(name);
    if (!user || user.options?.noPassword) throw etcdError('AuthFailed');
    return this.tokens.assign(name, this._revision, prefix, index);
  }

  /** `password` is the bcrypt hash (empty for a user without password). */
  userAdd(name: string, passwordHash: Uint8Array, options: authpb.UserAddOptions | undefined): void {
    if (name.length === 0) throw etcdError('UserEmpty');
    if (this.users.has(name)) throw etcdError('UserAlreadyExist');
    this.touch();
    this.users.put(
      authpb.User.create({
        name: utf8(name),
        password: passwordHash,
        roles: [],
        options: options ?? { noPassword: false },
      }),
    );
    this.commitRevision();
    this.log?.info('added a user', { 'user-name': name });
  }

  userDelete(name: string): void {
    this.removeRecord(this.users, name, ROOT_USER, 'UserNotFound');
    this.commitRevision();
    this.tokens.invalidateUser(name);
    this.log?.info('deleted a user', { 'user-name': name });
  }

  userChangePassword(name: string, passwordHash: Uint8Array): void {
    const user = this.users.get(name);
    if (!user) throw etcdError('UserNotFound');
    this.touch();
    this.users.put({ ...user, password: passwordHash });
    this.commitRevision();
    this.tokens.invalidateUser(name);
    this.log?.info('changed a password of a user', { 'user-name': name, 'user-roles': user.roles });
  }

  userGrantRole(name: string, role: string): void {
    const user = this.users.get(name);
    if (!user) throw etcdError('UserNotFound');
    if (role !== ROOT_ROLE && !this.roles.has(role)) throw etcdError('RoleNotFound');
    if (user.roles.includes(role)) {
      // etcd: ignored, no revision bump
      this.log?.warn('ignored grant role request to a user', {
        'user-name': name,
        'user-roles': user.roles,
        'duplicate-role-name': role,
      });
      return;
    }
    this.touch();
    const roles = [...user.roles, role].sort(byteOrder);
    this.users.put({ ...user, roles });
    this.commitRevision();
    this.log?.info('granted a role to a user', { 'user-name': name, 'user-roles': roles, 'added-role-name': role });
  }

  userRevokeRole(name: string, role: string): void {
    if (this._enabled && name === ROOT_USER && role === ROOT_ROLE) throw etcdError('InvalidAuthMgmt');
    const user = this.users.get(name);
    if (!user) throw etcdError('UserNotFound');
    const roles = user.roles.filter((r) => r !== role);
    if (roles.length === user.roles.length) throw etcdError('RoleNotGranted');
    this.touch();
    this.users.put({ ...user, roles });
    this.commitRevision();
    this.log?.info('revoked a role from a user', {
      'user-name': name,
      'old-user-roles': user.roles,
      'new-user-roles': roles,
      'revoked-role-name': role,
    });
  }

  roleAdd(name: string): void {
    if (name.length === 0) throw etcdError('RoleEmpty');
    if (this.roles.has(name)) throw etcdError('RoleAlreadyExist');
    this.touch();
    this.roles.put(authpb.Role.create({ name: utf8(name), keyPermission: [] }));
    this.commitRevision();
    this.log?.info('created a role', { 'role-name': name });
  }

  roleDelete(name: string): void {
    this.removeRecord(this.roles, name, ROOT_ROLE, 'RoleNotFound');
    for (const u of [...this.users.values()]) {
      const roles = u.roles.filter((r) => r !== name);
      if (roles.length !== u.roles.length) this.users.put({ ...u, roles });
    }
    this.commitRevision();
    this.log?.info('deleted a role', { 'role-name': name });
  }

  /**
   * etcd's RoleGrantPermission: the first permission whose key is ≥ the new key is updated in place
   * when key and range end both match; otherwise the permission is added and the list re-sorted by
   * key (stable, so equal keys keep their order).
   */
  roleGrantPermission(name: string, perm: authpb.Permission | undefined): void {
    // etcd 3.5 checks the permission before the role.
    if (!perm) throw etcdError('PermissionNotGiven');
    if (!validPermissionRange(perm.key, perm.rangeEnd)) throw etcdError('InvalidAuthMgmt');
    const role = this.roles.get(name);
    if (!role) throw etcdError('RoleNotFound');
    this.touch();
    const perms = role.keyPermission.map((p) => ({ ...p }));
    const idx = perms.findIndex((p) => Buffer.compare(p.key, perm.key) >= 0);
    const at = perms[idx];
    if (at && Buffer.compare(at.key, perm.key) === 0 && Buffer.compare(at.rangeEnd, perm.rangeEnd) === 0) {
      at.permType = perm.permType;
    } else {
      perms.push(
        authpb.Permission.create({
          permType: perm.permType,
          key: Buffer.from(perm.key),
          rangeEnd: Buffer.from(perm.rangeEnd),
        }),
      );
      perms.sort((a, b) => Buffer.compare(a.key, b.key));
    }
    this.roles.put({ ...role, keyPermission: perms });
    this.commitRevision();
    // (etcd's field names, sic)
    this.log?.info('granted/updated a permission to a user', {
      'user-name': name,
      'permission-name': authpb.Permission_Type$names[perm.permType] ?? String(perm.permType),
    });
  }

  roleRevokePermission(name: string, key: Uint8Array, rangeEnd: Uint8Array): void {
    const role = this.roles.get(name);
    if (!role) throw etcdError('RoleNotFound');
    const perms = role.keyPermission.filter(
      (p) => Buffer.compare(p.key, key) !== 0 || Buffer.compare(p.rangeEnd, rangeEnd) !== 0,
    );
    if (perms.length === role.keyPermission.length) throw etcdError('PermissionNotGranted');
    this.touch();
    this.roles.put({ ...role, keyPermission: perms });
    this.commitRevision();
    this.log?.info('revoked a permission on range', {
      'role-name': name,
      key: Buffer.from(key).toString('latin1'),
      'range-end': Buffer.from(rangeEnd).toString('latin1'),
    });
  }

  /** Serves UserGet: the user's roles. */
  userGet(name: string): string[] {
    const user = this.users.get(name);
    if (!user) throw etcdError('UserNotFound');
    return [...user.roles];
  }

  /** Serves RoleGet: the role's permissions. */
  roleGet(name: string): authpb.Permission[] {
    const role = this.roles.get(name);
    if (!role) throw etcdError('RoleNotFound');
    return role.keyPermission;
  }

  close(): void {
    this.tokens.close();
  }
}

/** The Authenticate body in the Raft log: etcd's InternalAuthenticateRequest (no password). */
export interface InternalAuthenticate {
  name: string;
  simpleToken: string;
}

export function encodeInternalAuthenticate(r: InternalAuthenticate): Buffer {
  const w = new Writer(64);
  if (r.name) {
    w.uint32(10); // name = 1
    w.string(r.name);
  }
  if (r.simpleToken) {
    w.uint32(26); // simple_token = 3
    w.string(r.simpleToken);
  }
  return w.finish();
}

export function decodeInternalAuthenticate(b: Uint8Array): InternalAuthenticate {
  const r = new Reader(b);
  const m: InternalAuthenticate = { name: '', simpleToken: '' };
  while (r.pos < r.end) {
    const t = r.uint32();
    if (t === 10) m.name = r.string();
    else if (t === 26) m.simpleToken = r.string();
    else r.skip(t & 7);
  }
  return m;
}

/**
 * etcd 3.5's isValidPermissionRange: a key is needed; a range must not be empty (key < range end),
 * unless the end is "\0" (every key from `key` on).
 */
function validPermissionRange(key: Uint8Array, rangeEnd: Uint8Array): boolean {
  if (key.length === 0) return false;
  if (rangeEnd.length === 0) return true;
  if (Buffer.compare(key, rangeEnd) < 0) return true;
  return rangeEnd.length === 1 && rangeEnd[0] === 0;
}
