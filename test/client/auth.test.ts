// Auth (users, roles, permissions, tokens that expire and are renewed transparently) and TLS with
// client certificates, through @conclave/client against every target with 'auth' / 'tls'.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AuthFailedError,
  Client,
  PermissionDeniedError,
  RoleNotFoundError,
  UnavailableError,
  UserAlreadyExistsError,
  UserEmptyError,
} from '@conclave/client';
import * as grpc from '@grpc/grpc-js';
import { EtcdErrors, etcdserverpb, grpcServiceDefinition } from '@conclave/api';
import { makeTestCerts } from '../helpers/certs.js';
import { describeTargets } from './targets.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A raw Range with a given token, to see what the server thinks of it. */
function rawRangeWithToken(endpoint: string, token: string): Promise<string> {
  const def = grpcServiceDefinition(etcdserverpb.KVService).Range;
  const c = new grpc.Client(endpoint.replace(/^\w+:\/\//, ''), grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set('token', token);
  return new Promise((resolve) => {
    c.makeUnaryRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      { key: Buffer.from('x') },
      md,
      { deadline: Date.now() + 3000 },
      (e) => {
        c.close();
        resolve(e ? e.details : 'ok');
      },
    );
  });
}

describeTargets(
  ['auth'],
  (ctx) => {
    test('users, roles and permissions; enabling auth; tokens renewed transparently after expiry', async () => {
      const admin = ctx.client;
      await admin.auth.userAdd('root', 'rootpw');
      await admin.auth.userGrantRole('root', 'root');
      await admin.auth.roleAdd('reader');
      await admin.auth.roleGrantPermission('reader', 'read', 'auth/', { prefix: true });
      await admin.auth.roleGrantPermission('reader', 'readwrite', 'auth/rw');
      await admin.auth.userAdd('alice', 'alicepw');
      await admin.auth.userGrantRole('alice', 'reader');
      await assert.rejects(admin.auth.userAdd('alice', 'x'), UserAlreadyExistsError);
      await assert.rejects(admin.auth.roleGet('nobody'), RoleNotFoundError);
      assert.deepEqual((await admin.auth.userList()).sort(), ['alice', 'root']);
      // the root role exists implicitly: granted, but not listed
      assert.deepEqual(await admin.auth.roleList(), ['reader']);
      assert.deepEqual(await admin.auth.userGet('alice'), ['reader']);
      const perms = await admin.auth.roleGet('reader');
      assert.deepEqual(
        perms.map((p) => [p.type, Buffer.from(p.key).toString(), Buffer.from(p.rangeEnd).toString()]),
        [
          ['read', 'auth/', 'auth0'],
          ['readwrite', 'auth/rw', ''],
        ],
      );
      await admin.put('auth/x', 'before');
      await admin.auth.enable();
      try {
        // the admin client has no credentials: refused
        await assert.rejects(admin.get('auth/x'), UserEmptyError);
        const root = ctx.newClient({ username: 'root', password: 'rootpw' });
        const alice = ctx.newClient({ username: 'alice', password: 'alicepw' });
        await root.put('auth/x', '1');
        assert.equal((await alice.get('auth/x'))?.valueString, '1');
        await alice.put('auth/rw', 'mine');
        await assert.rejects(
          alice.put('auth/x', '2'),
          (e: unknown) => e instanceof PermissionDeniedError && e.code === 'PermissionDenied',
        );
        // a wrong password is not retried
        const t0 = Date.now();
        await assert.rejects(ctx.newClient({ username: 'alice', password: 'wrong' }).get('auth/x'), AuthFailedError);
        assert.ok(Date.now() - t0 < 1000);
        const w = alice.watch('auth/', { prefix: true });
        await w.created;

        // tokens live 1 s here: after 2.2 s idle the old token is refused by the server...
        const token = await root.auth.authenticate('alice', 'alicepw');
        await sleep(2200);
        assert.equal(await rawRangeWithToken(ctx.running.endpoints[0]!, token), EtcdErrors.InvalidAuthToken.message);
        // ...but the client authenticates again and retries, for writes, reads, watches and leases
        await alice.put('auth/rw', 'again');
        assert.equal((await alice.get('auth/x'))?.valueString, '1');
        await sleep(2200);
        const w2 = alice.watch('auth/', { prefix: true });
        await w2.created;
        const lease = await root.lease.grant(10);
        await root.put('auth/x', '3', { lease: lease.id });
        const seen: string[] = [];
        for (const watch of [w, w2]) {
          for await (const e of watch.events()) {
            seen.push(`${e.kv.keyString}=${e.kv.valueString}`);
            if (e.kv.valueString === '3') break;
          }
        }
        assert.deepEqual(seen, ['auth/rw=again', 'auth/x=3', 'auth/x=3']);
      } finally {
        const root = ctx.newClient({ username: 'root', password: 'rootpw' });
        await root.auth.disable();
      }
      assert.equal((await admin.get('auth/x'))?.valueString, '3');
    });
  },
  { server: { args: ['--auth-token-ttl', '1'] } },
);

const certs = makeTestCerts();
process.on('exit', () => certs.remove());

describeTargets(
  ['tls'],
  (ctx) => {
    test('TLS with a CA and a client certificate; without the certificate no connection is made', async () => {
      const c = ctx.client;
      await c.put('tls/a', '1');
      assert.equal((await c.get('tls/a'))?.valueString, '1');
      const noCert = new Client({ endpoints: ctx.running.endpoints, tls: { ca: certs.ca }, timeoutMs: 1000 });
      try {
        await assert.rejects(noCert.get('tls/a'), UnavailableError);
      } finally {
        await noCert.close();
      }
    });
  },
  {
    server: { tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile } },
    client: { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } },
  },
);
