// etcdserverpb.Cluster: the member list and membership changes.

import { etcdserverpb, GrpcCode, GrpcStatusError, type PartialMessage } from '@conclave/api';
import type { Member } from '../etcdserver/membership.js';
import type { ServiceHandlers } from '../transport/grpc-server.js';
import { header, type ServiceContext } from './context.js';

export function toPbMember(m: Member): PartialMessage<etcdserverpb.Member> {
  return { ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner };
}

const notInThisRelease = (method: string) => async (): Promise<never> => {
  throw new GrpcStatusError(GrpcCode.UNIMPLEMENTED, `unknown method ${method} for service etcdserverpb.Cluster`);
};

export function clusterService(ctx: ServiceContext): ServiceHandlers<typeof etcdserverpb.ClusterService> {
  const s = ctx.server;
  return {
    MemberList: async (req) => {
      if (req.linearizable) await s.linearizableRead();
      // etcd's cluster service headers carry no revision.
      return { header: header(ctx, 0), members: s.membership.list().map(toPbMember) };
    },
    MemberAdd: notInThisRelease('MemberAdd'),
    MemberRemove: notInThisRelease('MemberRemove'),
    MemberUpdate: notInThisRelease('MemberUpdate'),
    MemberPromote: notInThisRelease('MemberPromote'),
  };
}
