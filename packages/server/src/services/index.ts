// The gRPC services a member serves, registered on one GrpcServer.

import { etcdError, etcdserverpb, healthpb } from '@conclave/api';
import type { GrpcServer } from '../transport/grpc-server.js';
import { clusterService } from './cluster.js';
import type { ServiceContext } from './context.js';
import { healthService } from './health.js';
import { kvService } from './kv.js';
import { maintenanceService } from './maintenance.js';

export interface RegisteredServices {
  /** Ends long-lived streams (watches, keep-alives) before the server stops. */
  close(): void;
}

/** etcd's learner rule: a learner serves Status and serializable Range only. */
function learnerGuard(ctx: ServiceContext): (path: string, req: unknown) => void {
  return (path, req) => {
    if (!ctx.server.isLearner) return;
    if (path === etcdserverpb.MaintenanceService.Status.path) return;
    if (path === etcdserverpb.KVService.Range.path && (req as etcdserverpb.RangeRequest | undefined)?.serializable) return;
    throw etcdError('NotSupportedForLearner');
  };
}

export function registerServices(grpc: GrpcServer, ctx: ServiceContext): RegisteredServices {
  grpc.interceptor = learnerGuard(ctx);
  grpc.addService(etcdserverpb.KVService, kvService(ctx));
  grpc.addService(etcdserverpb.MaintenanceService, maintenanceService(ctx, ctx.server.alarms));
  grpc.addService(etcdserverpb.ClusterService, clusterService(ctx));
  grpc.addService(healthpb.HealthService, healthService(ctx));
  return { close: () => {} };
}

export type { ServiceContext };
