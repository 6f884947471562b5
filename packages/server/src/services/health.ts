// grpc.health.v1.Health, which etcd registers: SERVING while the member has a leader.

import { healthpb } from '@conclave/api';
import type { ServiceHandlers } from '../grpc/grpc-server.js';
import type { ServiceContext } from './context.js';

const { SERVING, NOT_SERVING } = healthpb.HealthCheckResponse_ServingStatus;

export function healthService(ctx: ServiceContext): ServiceHandlers<typeof healthpb.HealthService> {
  const status = () => (ctx.member.leader !== 0n ? SERVING : NOT_SERVING);
  return {
    Check: () => ({ status: status() }),
    Watch: (_req, call) => {
      let last = status();
      call.send({ status: last });
      const timer = setInterval(() => {
        const now = status();
        if (now !== last) {
          last = now;
          call.send({ status: now });
        }
      }, 500);
      timer.unref();
      call.onDone = () => clearInterval(timer);
    },
  };
}
