// The gRPC services a member serves, registered on one GrpcServer.

import { etcdError, etcdserverpb, healthpb, v3electionpb, v3lockpb } from '@conclave/api';
import type { GrpcServer, Interceptor } from '../grpc/grpc-server.js';
import { clusterService } from './cluster.js';
import { requireLeaderIfAsked, type ServiceContext } from './context.js';
import { healthService } from './health.js';
import { kvService } from './kv.js';
import { maintenanceService } from './maintenance.js';
import { lockService } from './lock.js';
import { electionService } from './election.js';
import { leaseService } from './lease.js';
import { StreamGuard } from './stream-guard.js';
import { watchService } from './watch.js';
// auth: the Auth service, and root-role / token checks around Maintenance, Cluster and Lease.
import { guardClusterService, guardKVService, guardLeaseService, guardMaintenanceService } from '../auth/index.js';
import { authService } from './auth.js';

export interface RegisteredServices {
  /** Ends long-lived streams (watches, keep-alives) before the server stops. */
  close(): void;
}

/**
 * etcd's interceptors: a learner serves Status and serializable Range only; a request with
 * `hasleader: true` metadata fails at once with "no leader" when there is none.
 */
function interceptors(ctx: ServiceContext): Interceptor {
  const requests = ctx.metrics.server.clientRequests;
  return (path, req, call) => {
    // etcd_server_client_requests_total, by the version clientv3 sends in its metadata
    const byVersion = req === undefined ? requests.stream : requests.unary;
    const version = call.metadata('client-api-version') ?? 'unknown';
    byVersion.set(version, (byVersion.get(version) ?? 0) + 1);
    requireLeaderIfAsked(ctx, call);
    if (!ctx.member.isLearner) return;
    if (path === etcdserverpb.MaintenanceService.Status.path) return;
    if (path === etcdserverpb.KVService.Range.path && (req as etcdserverpb.RangeRequest | undefined)?.serializable)
      return;
    throw etcdError('NotSupportedForLearner');
  };
}

export function registerServices(grpc: GrpcServer, ctx: ServiceContext): RegisteredServices {
  grpc.interceptor = interceptors(ctx);
  const auth = ctx.auth;
  grpc.addService(etcdserverpb.KVService, guardKVService(auth, kvService(ctx)));
  grpc.addService(etcdserverpb.MaintenanceService, guardMaintenanceService(auth, maintenanceService(ctx, ctx.alarms)));
  grpc.addService(etcdserverpb.ClusterService, guardClusterService(auth, clusterService(ctx)));
  grpc.addService(etcdserverpb.AuthService, authService(ctx));
  grpc.addService(healthpb.HealthService, healthService(ctx));
  grpc.addService(v3lockpb.LockService, lockService(ctx));
  grpc.addService(v3electionpb.ElectionService, electionService(ctx));
  // Watch and Lease (streams end with "server stopped" on close, which clients retry elsewhere).
  const guard = new StreamGuard(ctx);
  // Read permission on the range, checked when each watch is created.
  const watch = watchService(ctx, guard, (call, req) => auth.watchDenied(call, req.key, req.rangeEnd));
  const lease = leaseService(ctx, guard);
  grpc.addService(etcdserverpb.WatchService, watch.handlers);
  const leaseIds = () => ctx.leases.lessor.list().map((l) => l.id);
  grpc.addService(etcdserverpb.LeaseService, guardLeaseService(auth, lease.handlers, leaseIds));
  return {
    close: () => {
      watch.close(etcdError('Stopped'));
      lease.close(etcdError('Stopped'));
      guard.close();
    },
  };
}

export type { ServiceContext };
