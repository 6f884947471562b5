// The request texts of etcd's "apply request took too long" warning for the entries etcd 3.5 adds
// to the log: the auth reads it puts through Raft and the downgrade job (etcd's InternalRaftStringer
// prints them as generic compact text; test/server/slow-apply compares the others with etcd 3.4).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMessage, etcdserverpb } from '@conclave/api';
import { encodeSet } from '../cluster-version/downgrade.js';
import { RequestKind } from '../etcdserver/raft-request.js';
import { requestText } from './slow-apply.js';

const req = (kind: RequestKind, body: Uint8Array) => ({ kind, id: 7n, username: 'root', authRevision: 3, body });
const HDR = 'header:<ID:7 username:"root" auth_revision:3 >';

test('auth reads through Raft and the downgrade job print as etcd 3.5 prints them', () => {
  assert.equal(requestText(req(RequestKind.AuthStatus, new Uint8Array(0))), `${HDR} auth_status:<> `);
  assert.equal(
    requestText(req(RequestKind.AuthUserGet, encodeMessage(etcdserverpb.AuthUserGetRequest, { name: 'u1' }))),
    `${HDR} auth_user_get:<name:"u1" > `,
  );
  assert.equal(requestText(req(RequestKind.AuthUserList, new Uint8Array(0))), `${HDR} auth_user_list:<> `);
  assert.equal(
    requestText(req(RequestKind.AuthRoleGet, encodeMessage(etcdserverpb.AuthRoleGetRequest, { role: 'r' }))),
    `${HDR} auth_role_get:<role:"r" > `,
  );
  assert.equal(requestText(req(RequestKind.AuthRoleList, new Uint8Array(0))), `${HDR} auth_role_list:<> `);
  assert.equal(
    requestText(req(RequestKind.DowngradeInfoSet, encodeSet({ enabled: true, targetVersion: '3.4.0' }))),
    `${HDR} downgrade_info_set:<enabled:true ver:"3.4.0" > `,
  );
  assert.equal(
    requestText(req(RequestKind.DowngradeInfoSet, encodeSet({ enabled: false, targetVersion: '' }))),
    `${HDR} downgrade_info_set:<> `,
  );
});
