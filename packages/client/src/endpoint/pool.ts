// The endpoint pool: round-robin over endpoints whose circuit is closed; failed endpoints are taken
// out and probed back (gRPC health check) when their cooldown ends. The endpoint list can be replaced
// at any time (auto-sync from MemberList); removed endpoints' channels are closed.

import { GrpcCode, healthpb } from '@conclave/api';
import { Endpoint, parseEndpoint, type EndpointOptions } from './endpoint.js';
import type { StatusHub } from '../status/status.js';
import { type Logger, SILENT_LOGGER } from '../telemetry/telemetry.js';
import { UnavailableError, type ConclaveError } from '../errors/base.js';
import { errorFromStatus } from '../errors/map.js';
import { codecs } from '../rpc/codecs.js';

export interface PoolOptions extends EndpointOptions {
  /** Deadline of a health probe (default 1000 ms). */
  probeTimeoutMs?: number;
  /** Endpoints without a scheme use TLS (true when `tls` options are given). */
  defaultSecure?: boolean;
}

const HEALTH = healthpb.HealthService.Check;

export class Pool {
  private list: Endpoint[] = [];
  private rr = 0;
  private closed = false;

  constructor(
    addresses: readonly string[],
    private readonly opts: PoolOptions,
    private readonly status: StatusHub,
    private readonly log: Logger = SILENT_LOGGER,
  ) {
    if (addresses.length === 0) throw new TypeError('at least one endpoint is required');
    this.setEndpoints(addresses);
  }

  get endpoints(): readonly Endpoint[] {
    return this.list;
  }

  get addresses(): string[] {
    return this.list.map((e) => e.address);
  }

  get(address: string): Endpoint | undefined {
    return this.list.find((e) => e.address === address);
  }

  /**
   * The next endpoint for a call: round-robin over closed-circuit endpoints not in `exclude`; else any
   * closed-circuit endpoint; else (every circuit open) the one whose probe is due soonest.
   */
  pick(exclude?: ReadonlySet<Endpoint>): Endpoint {
    const list = this.list;
    const n = list.length;
    if (n === 1) return list[0]!;
    let fallback: Endpoint | undefined;
    for (let i = 0; i < n; i++) {
      const idx = (this.rr + i) % n;
      const ep = list[idx]!;
      if (!ep.breaker.closed) continue;
      if (exclude?.has(ep)) {
        fallback ??= ep;
        continue;
      }
      this.rr = (idx + 1) % n;
      return ep;
    }
    if (fallback) return fallback;
    let best = list[0]!;
    for (const ep of list) if (ep.breaker.openUntil < best.breaker.openUntil) best = ep;
    return best;
  }

  /** True if some endpoint with a closed circuit is not in `exclude`. */
  hasUntried(exclude: ReadonlySet<Endpoint>): boolean {
    return this.list.some((e) => e.breaker.closed && !exclude.has(e));
  }

  succeeded(ep: Endpoint): void {
    if (ep.connected && ep.breaker.closed) return;
    ep.breaker.success();
    if (!ep.connected && !ep.closed) {
      ep.connected = true;
      ep.lastError = undefined;
      this.log.info({ endpoint: ep.address }, 'endpoint up');
      this.status.emit({ type: 'connected', endpoint: ep.address });
    }
  }

  failed(ep: Endpoint, err: ConclaveError): void {
    ep.lastError = err;
    const opened = ep.breaker.failure();
    if (opened || ep.connected) {
      ep.connected = false;
      if (!ep.closed) {
        this.log.warn({ endpoint: ep.address, error: err.message }, 'endpoint down');
        this.status.emit({ type: 'disconnected', endpoint: ep.address, error: err });
      }
    }
    if (!ep.breaker.closed) this.scheduleProbe(ep);
  }

  private scheduleProbe(ep: Endpoint): void {
    if (this.closed || ep.closed || ep.probing) return;
    if (ep.probeTimer) clearTimeout(ep.probeTimer);
    ep.probeTimer = setTimeout(() => {
      ep.probeTimer = undefined;
      void this.probe(ep);
    }, ep.breaker.msUntilProbe());
    ep.probeTimer.unref();
  }

  /** One gRPC health check; SERVING (or a server without the health service) closes the circuit. */
  private async probe(ep: Endpoint): Promise<void> {
    if (this.closed || ep.closed || ep.breaker.closed) return;
    ep.probing = true;
    const err = await new Promise<ConclaveError | undefined>((resolve) => {
      const c = codecs(HEALTH);
      ep.transport.unary(
        HEALTH.path,
        c.serialize({ service: '' }),
        {},
        Date.now() + (this.opts.probeTimeoutMs ?? 1000),
        {
          onHeaders: () => {},
          onEnd: (e, bytes) => {
            if (e) {
              resolve(e.code === GrpcCode.UNIMPLEMENTED ? undefined : errorFromStatus(e, ep.address, e));
              return;
            }
            let res: healthpb.HealthCheckResponse | undefined;
            try {
              res = c.deserialize(bytes!);
            } catch {
              res = undefined;
            }
            if (!res || res.status !== healthpb.HealthCheckResponse_ServingStatus.SERVING) {
              resolve(
                new UnavailableError({
                  message: `${ep.address}: health check reports not serving`,
                  code: 'Unavailable',
                  retriable: true,
                  endpoint: ep.address,
                }),
              );
            } else resolve(undefined);
          },
        },
      );
    });
    ep.probing = false;
    if (this.closed || ep.closed) return;
    if (err) this.failed(ep, err);
    else this.succeeded(ep);
  }

  /** Whether endpoints given without a scheme use TLS. */
  get defaultSecure(): boolean {
    return this.opts.defaultSecure ?? this.opts.tls !== undefined;
  }

  /** Replaces the endpoint list; returns true if it changed. Keeps the channels of endpoints still listed. */
  setEndpoints(addresses: readonly string[]): boolean {
    if (addresses.length === 0) return false;
    const secure = this.defaultSecure;
    const wanted = new Map<string, ReturnType<typeof parseEndpoint>>();
    for (const a of addresses) {
      const p = parseEndpoint(a, secure);
      wanted.set(p.address, p);
    }
    const before = this.addresses;
    const keep: Endpoint[] = [];
    for (const ep of this.list) {
      if (wanted.has(ep.address)) {
        keep.push(ep);
        wanted.delete(ep.address);
      } else ep.close();
    }
    for (const addr of wanted.values()) keep.push(new Endpoint(addr, this.opts));
    this.list = keep;
    this.rr = this.rr % keep.length;
    const after = this.addresses;
    const changed = before.length !== after.length || before.some((a, i) => a !== after[i]);
    return changed;
  }

  close(): void {
    this.closed = true;
    for (const ep of this.list) ep.close();
  }
}
