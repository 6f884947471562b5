// The gRPC services a member serves, registered on one GrpcServer.

import { etcdserverpb, healthpb } from '@conclave/api';
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

export function registerServices(grpc: GrpcServer, ctx: ServiceContext): RegisteredServices {
  grpc.addService(etcdserverpb.KVService, kvService(ctx));
  grpc.addService(etcdserverpb.MaintenanceService, maintenanceService(ctx, ctx.server.alarms));
  grpc.addService(etcdserverpb.ClusterService, clusterService(ctx));
  grpc.addService(healthpb.HealthService, healthService(ctx));
  return { close: () => {} };
}

export type { ServiceContext };
