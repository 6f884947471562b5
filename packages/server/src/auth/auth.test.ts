import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { encodeMessage, etcdserverpb, GrpcStatusError } from '@conclave/api';
import { RequestKind, type InternalRequest } from '../etcdserver/raft-request.js';
import { applyRequest, type ApplyTargets } from '../apply/dispatch.js';
import { openFixture, type Fixture } from '../../testing/mvcc-fixture.js';
import type { Entry } from '../raft/types.js';
import type { CallContext } from '../grpc/call.js';
import { Auth, type AuthOptions } from './auth.js';
import { SimpleTokenProvider } from './simple-token.js';
import { encodeInternalAuthenticate } from './store.js';
import type { AuthInfo } from './token-provider.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

const AUTH_KINDS = new Set<number>([
  RequestKind.Authenticate,
  RequestKind.AuthEnable,
  RequestKind.AuthDisable,
  RequestKind.AuthUserAdd,
  RequestKind.AuthUserDelete,
  RequestKind.AuthUserChangePassword,
  RequestKind.AuthUserGrantRole,
  RequestKind.AuthUserRevokeRole,
  RequestKind.AuthRoleAdd,
  RequestKind.AuthRoleDelete,
  RequestKind.AuthRoleGrantPermission,
  RequestKind.AuthRoleRevokePermission,
]);

/** Auth on a real backend with the ports a member gives it; `apply` applies a request as the applier does. */
function authFixture(fx: Fixture, leaseKeys: Map<bigint, Buffer[]>, opts: AuthOptions) {
  const auth = new Auth(
    {
      backend: fx.backend,
      logger: { info() {}, warn() {}, error() {}, debug() {} } as never,
      leaseKeys: (id) => leaseKeys.get(id) ?? [],
      progress: { appliedIndex: 100 },
    },
    opts,
  );
  const targets = { auth: auth.store } as ApplyTargets;
  let index = 0;
  /** Applies one request as the applier does: the auth check, then the dispatch (KV kinds stop there). */
  const apply = (
    kind: RequestKind,
    body: Uint8Array,
    who: { username?: string; authRevision?: number } = {},
  ): unknown =>
    fx.backend.batch(() => {
      const req: InternalRequest = {
        kind,
        id: 1n,
        username: who.username ?? '',
        authRevision: who.authRevision ?? 0,
        body,
      };
      auth.authorize(req);
      return AUTH_KINDS.has(kind)
        ? applyRequest(targets, req, { index: ++index, term: 1 } as Entry)
        : 'applied by the KV applier';
    });
  return { auth, apply };
}

function call(md: Record<string, string> = {}, cn?: string): CallContext {
  return {
    metadata: (k) => md[k],
    signal: new AbortController().signal,
    onCancel: () => {},
    peer: 'test',
    peerCommonName: cn,
  };
}

function err(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof GrpcStatusError, String(e));
    return e.message;
  }
  return 'ok';
}

let fx: Fixture;
let auth: Auth;
let apply: ReturnType<typeof authFixture>['apply'];
const leaseKeys = new Map<bigint, Buffer[]>([[7n, [b('secret/x')]]]);

beforeEach(async () => {
  fx = await openFixture();
  ({ auth, apply } = authFixture(fx, leaseKeys, {
    tokens: new SimpleTokenProvider(60_000),
    bcryptCost: 4,
    clientCertAuth: true,
  }));
});

afterEach(async () => {
  auth.close();
  await fx.close();
});

async function enableWithUser(): Promise<{ rootToken: string; uToken: string }> {
  const hash = Buffer.from(await auth.hashPassword('pw')).toString('base64');
  apply(
    RequestKind.AuthUserAdd,
    encodeMessage(etcdserverpb.AuthUserAddRequest, { name: 'root', hashedPassword: hash }),
  );
  apply(
    RequestKind.AuthUserGrantRole,
    encodeMessage(etcdserverpb.AuthUserGrantRoleRequest, { user: 'root', role: 'root' }),
  );
  apply(RequestKind.AuthRoleAdd, encodeMessage(etcdserverpb.AuthRoleAddRequest, { name: 'r' }));
  apply(
    RequestKind.AuthRoleGrantPermission,
    encodeMessage(etcdserverpb.AuthRoleGrantPermissionRequest, {
      name: 'r',
      perm: { permType: 2, key: b('u/'), rangeEnd: b('u0') },
    }),
  );
  apply(RequestKind.AuthUserAdd, encodeMessage(etcdserverpb.AuthUserAddRequest, { name: 'u', hashedPassword: hash }));
  apply(RequestKind.AuthUserGrantRole, encodeMessage(etcdserverpb.AuthUserGrantRoleRequest, { user: 'u', role: 'r' }));
  apply(RequestKind.AuthEnable, new Uint8Array(0));
  const token = (name: string) =>
    (
      apply(RequestKind.Authenticate, encodeInternalAuthenticate({ name, simpleToken: auth.tokens.genPrefix() })) as {
        token: string;
      }
    ).token;
  return { rootToken: token('root'), uToken: token('u') };
}

test('who is calling: token, TLS CN (with --client-cert-auth), nobody; with auth off a token is not looked at', async () => {
  assert.equal(auth.identify(call()), null);
  assert.equal(auth.involved(call()), false);
  assert.deepEqual(auth.identify(call({}, 'alice')), { username: 'alice', revision: 1 });
  assert.equal(auth.identify(call({ token: 'bogus' })), null);
  assert.deepEqual(await auth.proposeOptions(call()), {});
  const { uToken } = await enableWithUser();
  assert.deepEqual(
    auth.identify(call({ token: uToken }, 'alice')),
    { username: 'u', revision: auth.revision },
    'a token wins over the CN',
  );
  // without credentials while auth is on: marked, so apply-time checks refuse it
  assert.deepEqual(await auth.proposeOptions(call()), { username: '', authRevision: auth.revision });
  assert.deepEqual(await auth.proposeOptions(call({ token: uToken })), { username: 'u', authRevision: auth.revision });
  // a token from an entry this member has not applied: waited for, then refused when still unknown
  const ahead = call({ token: 'abcdefghijklmnop.100000' });
  const t0 = Date.now();
  await assert.rejects(
    Promise.resolve().then(() => auth.identifyAsync({ ...ahead, signal: AbortSignal.timeout(50) })),
    /invalid auth token/,
  );
  assert.ok(Date.now() - t0 < 2000);
});

test('apply: management needs the root role; KV requests are checked with the revision they were checked at', async () => {
  const { rootToken, uToken } = await enableWithUser();
  assert.match(rootToken, /^[a-zA-Z]{16}\.\d+$/);
  const rev = auth.revision;
  const u = { username: 'u', authRevision: rev };
  const root = { username: 'root', authRevision: rev };
  const put = (key: string, extra: Partial<etcdserverpb.PutRequest> = {}) =>
    encodeMessage(etcdserverpb.PutRequest, { key: b(key), ...extra });
  /** Applying the request gives `want`: 'ok', or the error it was refused with. */
  const applies = (want: string, ...args: Parameters<typeof apply>): void =>
    assert.equal(
      err(() => apply(...args)),
      want,
    );
  const addRole = encodeMessage(etcdserverpb.AuthRoleAddRequest, { name: 'x' });
  applies('etcdserver: permission denied', RequestKind.AuthRoleAdd, addRole, u);
  applies('etcdserver: user name is empty', RequestKind.AuthRoleAdd, addRole);
  applies('ok', RequestKind.Put, put('u/1'), u);
  applies('etcdserver: permission denied', RequestKind.Put, put('v'), u);
  applies('etcdserver: permission denied', RequestKind.Put, put('u/1', { lease: 7n }), u);
  applies('etcdserver: user name is empty', RequestKind.Put, put('u/1'));
  applies('etcdserver: user name is empty', RequestKind.Put, put('u/1'), { username: '', authRevision: rev });
  assert.equal(
    err(() =>
      apply(
        RequestKind.DeleteRange,
        encodeMessage(etcdserverpb.DeleteRangeRequest, { key: b('u/'), rangeEnd: b('u0'), prevKv: true }),
        u,
      ),
    ),
    'ok',
  );
  assert.equal(
    err(() =>
      apply(RequestKind.Txn, encodeMessage(etcdserverpb.TxnRequest, { failure: [{ requestPut: { key: b('v') } }] }), u),
    ),
    'etcdserver: permission denied',
  );
  // lease revocation: the member's own (expiry) passes; a user needs write permission on its keys
  const revoke = encodeMessage(etcdserverpb.LeaseRevokeRequest, { ID: 7n });
  applies('ok', RequestKind.LeaseRevoke, revoke);
  applies('etcdserver: permission denied', RequestKind.LeaseRevoke, revoke, u);
  applies('etcdserver: user name is empty', RequestKind.LeaseRevoke, revoke, { username: '', authRevision: rev });
  applies('ok', RequestKind.LeaseRevoke, revoke, root);
  // an auth change between the check and the apply: refused as stale (root included)
  apply(RequestKind.AuthRoleAdd, addRole, root);
  applies('etcdserver: revision of auth store is old', RequestKind.Put, put('u/1'), u);
  applies('etcdserver: revision of auth store is old', RequestKind.Put, put('u/1'), root);
  // ... but management is not revision-checked (as in etcd)
  apply(RequestKind.AuthRoleDelete, encodeMessage(etcdserverpb.AuthRoleDeleteRequest, { role: 'x' }), root);
  // the member's own non-KV requests are never checked
  applies('ok', RequestKind.Compaction, encodeMessage(etcdserverpb.CompactionRequest, { revision: 1n }));
  // reads served locally: doSerialize
  const info = auth.identify(call({ token: uToken }));
  /** A read served as `who` after `check` gives `want`: what it read ('read'), or the error that stopped it. */
  const reads = (want: string, who: AuthInfo | null, check: () => void): void => {
    let out = '';
    const e = err(() => {
      out = auth.serialize(who, check, () => 'read');
    });
    assert.equal(e === 'ok' ? out : e, want);
  };
  reads('read', info, () => auth.checkRange(info, { key: b('u/1'), rangeEnd: b('') }));
  reads('etcdserver: permission denied', info, () => auth.checkRange(info, { key: b('u'), rangeEnd: b('') }));
  reads('etcdserver: revision of auth store is old', { username: 'root', revision: rev }, () => undefined);
});

test('watch creation: the cancel reason etcd sends', async () => {
  assert.equal(auth.watchDenied(call(), b('a'), b('')), null);
  // with auth off a bad token is not looked at (etcd 3.5)
  assert.equal(auth.watchDenied(call({ token: 'bogus' }), b('a'), b('')), null);
  const { uToken } = await enableWithUser();
  assert.equal(
    auth.watchDenied(call({ token: 'bogus' }), b('a'), b('')),
    'rpc error: code = Unauthenticated desc = etcdserver: invalid auth token',
  );
  assert.equal(auth.watchDenied(call({ token: uToken }), b('u/'), b('u0')), null);
  assert.equal(
    auth.watchDenied(call({ token: uToken }), b('v'), b('')),
    'rpc error: code = PermissionDenied desc = etcdserver: permission denied',
  );
  assert.equal(
    auth.watchDenied(call(), b('u/'), b('')),
    'rpc error: code = InvalidArgument desc = etcdserver: user name is empty',
  );
  assert.equal(auth.watchDenied(call({}, 'u'), b('u/1'), b('')), null, 'the CN names the user');
});
