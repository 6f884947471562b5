// A member's auth machinery (what etcd's EtcdServer does around its auth store): the store, the
// apply-time permission check of each committed request (auth/apply.ts; the store's own changes are
// applied through apply/dispatch.ts), who a call comes from (token metadata, or the TLS client
// certificate's CN with --client-cert-auth), and the checks services run before proposing or while
// serving reads.

import { etcdError, type etcdserverpb } from '@conclave/api';
import type { InternalRequest } from '../etcdserver/raft-request.js';
import type { ApplyProgress } from '../etcdserver/ports.js';
import type { Logger } from '../log/index.js';
import type { Backend } from '../storage/backend/index.js';
import type { CallContext } from '../grpc/call.js';
import { authorizeRequest } from './apply.js';
import { checkLeaseKeys, checkRange, checkTxn, type LeaseKeys } from './authorize.js';
import { DEFAULT_COST, hashPassword } from './bcrypt.js';
import { goStatusText } from './errors.js';
import { SimpleTokenProvider } from './simple-token.js';
import { AuthStore } from './store.js';
import type { AuthInfo, TokenProvider } from './token-provider.js';
import { createTokenProvider } from './tokens.js';

/** The member's ports auth uses. */
export interface AuthDeps {
  backend: Backend;
  logger: Logger;
  /** Keys attached to a lease (the lessor's lookup; none for an unknown lease). */
  leaseKeys: LeaseKeys;
  /** How far this member applied: a simple token issued by a later entry is waited for. */
  progress: Pick<ApplyProgress, 'appliedIndex'>;
}

export interface AuthOptions {
  /** Issues and checks tokens (--auth-token); default: simple tokens living 300 s. */
  tokens?: TokenProvider;
  /** --bcrypt-cost (default 10). */
  bcryptCost?: number;
  /** --client-cert-auth: a verified client certificate's CN names the user when there is no token. */
  clientCertAuth?: boolean;
}

/** What a client request carries into the Raft log for apply-time checks. */
export interface ProposeAuth {
  username?: string;
  authRevision?: number;
}

const NO_AUTH: ProposeAuth = Object.freeze({});

/** How long a call waits for this member to apply the entry that issued its simple token. */
const TOKEN_INDEX_WAIT_MS = 5000;

export class Auth {
  readonly store: AuthStore;
  readonly bcryptCost: number;
  readonly clientCertAuth: boolean;
  /** Keys attached to a lease (write permission on all of them is needed to revoke it or attach more). */
  readonly leaseKeys: LeaseKeys;

  private readonly progress: Pick<ApplyProgress, 'appliedIndex'>;

  constructor(deps: AuthDeps, opts: AuthOptions = {}) {
    this.bcryptCost = opts.bcryptCost ?? DEFAULT_COST;
    this.clientCertAuth = opts.clientCertAuth ?? false;
    this.store = new AuthStore(
      deps.backend,
      opts.tokens ?? createTokenProvider({ type: 'simple', options: {}, ttlSeconds: 300 }),
      deps.logger,
    );
    if (this.store.tokens.kind === 'simple') deps.logger.warn('simple token is not cryptographically signed');
    this.leaseKeys = deps.leaseKeys;
    this.progress = deps.progress;
  }

  /** Re-reads users, roles and the enabled flag (after a snapshot replaced the backend). */
  reload(): void {
    this.store.load();
  }

  get enabled(): boolean {
    return this.store.enabled;
  }

  get revision(): number {
    return this.store.revision;
  }

  get tokens(): TokenProvider {
    return this.store.tokens;
  }

  // ---- who is calling ----

  /**
   * The caller (etcd's AuthInfoFromCtx): the user of the `token` metadata (the gateway's
   * Authorization header), else — with --client-cert-auth — the verified client certificate's CN,
   * else null. A token that is given but unknown, expired or forged fails the call with "invalid
   * auth token", whether or not auth is enabled (as in etcd). Simple tokens are checked at the
   * current auth revision, JWTs at the revision they carry.
   */
  identify(call: CallContext): AuthInfo | null {
    // etcd 3.5: with auth off, a token (even a bad one) is not looked at.
    const token = this.store.enabled ? call.metadata('token') : undefined;
    if (token !== undefined) {
      const info = this.store.tokens.info(token, this.store.revision);
      if (!info) throw etcdError('InvalidAuthToken');
      return info;
    }
    if (this.clientCertAuth) {
      const cn = call.peerCommonName;
      if (cn !== undefined) return { username: cn, revision: this.store.revision };
    }
    return null;
  }

  /**
   * Does auth play any part in this call? Not while auth is off and the call carries neither a
   * token nor (with --client-cert-auth) a client certificate: the fast path of every request then.
   */
  involved(call: CallContext): boolean {
    return (
      this.store.enabled ||
      call.metadata('token') !== undefined ||
      (this.clientCertAuth && call.peerCommonName !== undefined)
    );
  }

  /**
   * identify(), but a simple token issued by an entry this member has not applied yet is waited for
   * (etcd's token index waiter: a client may authenticate on one member and call another).
   * Synchronous unless it has to wait.
   */
  identifyAsync(call: CallContext): AuthInfo | null | Promise<AuthInfo | null> {
    try {
      return this.identify(call);
    } catch (err) {
      const token = call.metadata('token');
      const index =
        token === undefined || this.store.tokens.kind !== 'simple' ? null : SimpleTokenProvider.indexOf(token);
      if (index === null || index <= this.progress.appliedIndex) throw err;
      return this.waitApplied(index, call.signal, err).then(() => this.identify(call));
    }
  }

  private async waitApplied(index: number, signal: AbortSignal, err: unknown): Promise<void> {
    const deadline = Date.now() + TOKEN_INDEX_WAIT_MS;
    while (this.progress.appliedIndex < index) {
      if (signal.aborted || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /**
   * What a client request proposes with (etcd's request header): the caller's name and the auth
   * revision their credentials were checked at. A caller without credentials while auth is on is
   * marked with an empty name and the current revision, so apply-time checks refuse it ("user name
   * is empty") but still tell it apart from the member's own requests (no name, revision 0), e.g.
   * lease revocations on expiry. Throws "invalid auth token". Synchronous unless it has to wait.
   */
  proposeOptions(call: CallContext): ProposeAuth | Promise<ProposeAuth> {
    if (!this.involved(call)) return NO_AUTH;
    const info = this.identifyAsync(call);
    return info instanceof Promise ? info.then((i) => this.proposeAs(i)) : this.proposeAs(info);
  }

  private proposeAs(info: AuthInfo | null): ProposeAuth {
    if (info) return { username: info.username, authRevision: info.revision };
    return this.store.enabled ? { username: '', authRevision: this.store.revision } : NO_AUTH;
  }

  // ---- checks services run ----

  checkAdmin(info: AuthInfo | null): void {
    this.store.checkAdmin(info);
  }

  checkRange(info: AuthInfo | null, r: { key: Uint8Array; rangeEnd: Uint8Array }): void {
    checkRange(this.store, info, r);
  }

  checkTxn(info: AuthInfo | null, t: etcdserverpb.TxnRequest): void {
    checkTxn(this.store, this.leaseKeys, info, t);
  }

  /** LeaseRevoke: write permission on every key attached to the lease. */
  checkLeaseRevoke(info: AuthInfo | null, leaseId: bigint): void {
    checkLeaseKeys(this.store, this.leaseKeys, info, leaseId);
  }

  /**
   * etcd's doSerialize for reads served locally (Range, read-only Txn): check, read, then refuse the
   * result if the auth store changed under a revision-carrying caller meanwhile.
   */
  serialize<T>(info: AuthInfo | null, check: () => void, read: () => T): T {
    check();
    const out = read();
    if (info && info.revision !== 0 && info.revision !== this.store.revision) throw etcdError('AuthOldRevision');
    return out;
  }

  /**
   * Watch creation (etcd's isWatchPermitted): null when the caller may read [key, rangeEnd),
   * otherwise the cancel_reason etcd 3.4 answers with (watch_id -1, created and canceled), e.g.
   * "rpc error: code = PermissionDenied desc = etcdserver: permission denied".
   */
  watchDenied(call: CallContext, key: Uint8Array, rangeEnd: Uint8Array): string | null | Promise<string | null> {
    const check = (info: AuthInfo | null): null => {
      checkRange(this.store, info, { key, rangeEnd });
      return null;
    };
    try {
      // a simple token issued on another member may need this member to catch up first
      const info = this.identifyAsync(call);
      return info instanceof Promise ? info.then(check).catch(goStatusText) : check(info);
    } catch (err) {
      return goStatusText(err);
    }
  }

  /** bcrypt hash of a new password at the configured cost. */
  hashPassword(password: string): Promise<string> {
    return hashPassword(password, this.bcryptCost);
  }

  // ---- apply ----

  /** Runs before every committed request is applied: refuses KV and lease requests the sender may not make. */
  authorize(req: InternalRequest): void {
    authorizeRequest(this.store, this.leaseKeys, req);
  }

  close(): void {
    this.store.close();
  }
}
