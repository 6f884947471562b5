// The gRPC services a member serves, registered on one GrpcServer.

import { etcdError, etcdserverpb, healthpb } from '@conclave/api';
import type { GrpcServer, Interceptor } from '../transport/grpc-server.js';
import { clusterService } from './cluster.js';
import { requireLeaderIfAsked, type ServiceContext } from './context.js';
import { healthService } from './health.js';
import { kvService } from './kv.js';
import { maintenanceService } from './maintenance.js';

export interface RegisteredServices {
  /** Ends long-lived streams (watches, keep-alives) before the server stops. */
  close(): void;
}

/**
 * etcd's interceptors: a learner serves Status and serializable Range only; a request with
 * `hasleader: true` metadata fails at once with "no leader" when there is none.
 */
function interceptors(ctx: ServiceContext): Interceptor {
  return (path, req, call) => {
    requireLeaderIfAsked(ctx, call);
    if (!ctx.server.isLearner) return;
    if (path === etcdserverpb.MaintenanceService.Status.path) return;
    if (path === etcdserverpb.KVService.Range.path && (req as etcdserverpb.RangeRequest | undefined)?.serializable) return;
    throw etcdError('NotSupportedForLearner');
  };
}

export function registerServices(grpc: GrpcServer, ctx: ServiceContext): RegisteredServices {
  grpc.interceptor = interceptors(ctx);
  grpc.addService(etcdserverpb.KVService, kvService(ctx));
  grpc.addService(etcdserverpb.MaintenanceService, maintenanceService(ctx, ctx.server.alarms));
  grpc.addService(etcdserverpb.ClusterService, clusterService(ctx));
  grpc.addService(healthpb.HealthService, healthService(ctx));
  return { close: () => {} };
}

export type { ServiceContext };
