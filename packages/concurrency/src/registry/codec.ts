// Key layout and value format of service instances, compatible with etcd's `naming/endpoints`
// (clientv3/naming/endpoints and the gRPC resolver built on it): one key per instance,
// `<prefix><service>/<id>`, whose value is the JSON of endpoints' internal Update
// `{"Op":0,"Addr":"host:port","Metadata":...}`. The instance's own fields travel in Metadata, so Go's
// resolver sees a plain endpoint, and endpoints written by Go services are read back here (id = the
// key's last part, address and port split from Addr, metadata = their Metadata).

import type { KeyValue } from '@conclave/client';

/** A service instance as registered and discovered. */
export interface ServiceInstance {
  service: string;
  /** Unique within the service; no "/". */
  id: string;
  /** Host name or IP (with `port`), or a whole "host:port" / URL. */
  address: string;
  port?: number;
  metadata?: Record<string, unknown>;
}

/** The key prefix of a service's instances: `<prefix><service>/` (etcd endpoints' target + "/"). */
export function serviceKeyPrefix(prefix: string, service: string): string {
  return `${prefix}${service}/`;
}

export function instanceKey(prefix: string, inst: ServiceInstance): string {
  return `${serviceKeyPrefix(prefix, inst.service)}${inst.id}`;
}

/** "host:port" as gRPC resolvers dial it (IPv6 hosts bracketed), or the address alone without port. */
export function dialAddress(inst: ServiceInstance): string {
  if (inst.port === undefined) return inst.address;
  const host = inst.address.includes(':') && !inst.address.startsWith('[') ? `[${inst.address}]` : inst.address;
  return `${host}:${inst.port}`;
}

export function validateInstance(inst: ServiceInstance): void {
  if (!inst || typeof inst.service !== 'string' || inst.service === '')
    throw new TypeError('service instance: `service` must be a non-empty string');
  if (typeof inst.id !== 'string' || inst.id === '' || inst.id.includes('/'))
    throw new TypeError('service instance: `id` must be a non-empty string without "/"');
  if (typeof inst.address !== 'string' || inst.address === '')
    throw new TypeError('service instance: `address` must be a non-empty string');
  if (inst.port !== undefined && !(Number.isInteger(inst.port) && inst.port > 0 && inst.port < 65536))
    throw new TypeError('service instance: `port` must be 1..65535');
}

export function encodeInstance(inst: ServiceInstance): string {
  const meta: Record<string, unknown> = { service: inst.service, id: inst.id, address: inst.address };
  if (inst.port !== undefined) meta['port'] = inst.port;
  if (inst.metadata !== undefined) meta['metadata'] = inst.metadata;
  return JSON.stringify({ Op: 0, Addr: dialAddress(inst), Metadata: meta });
}

function splitAddr(addr: string): { address: string; port?: number } {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(addr);
  if (m && !/^[a-z]+:\/\//i.test(addr)) {
    const port = Number(m[2]);
    if (port > 0 && port < 65536) return { address: m[1]!, port };
  }
  return { address: addr };
}

/** Decodes an instance key-value of `service` under `servicePrefix`; undefined if it is not one (bad JSON, Op ≠ 0, no address). */
export function decodeInstance(kv: KeyValue, service: string, servicePrefix: string): ServiceInstance | undefined {
  let v: unknown;
  try {
    v = JSON.parse(kv.valueString);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const u = v as { Op?: unknown; Addr?: unknown; Metadata?: unknown };
  if ((u.Op ?? 0) !== 0 || typeof u.Addr !== 'string' || u.Addr === '') return undefined;
  const key = kv.keyString;
  const keyId = key.startsWith(servicePrefix) ? key.slice(servicePrefix.length) : key;
  if (keyId === '' || keyId.includes('/')) return undefined; // a nested service's key, not one of ours
  const m = u.Metadata as Partial<ServiceInstance> | null | undefined;
  if (m && typeof m === 'object' && m.service === service && m.id === keyId && typeof m.address === 'string') {
    const inst: ServiceInstance = { service, id: keyId, address: m.address };
    if (typeof m.port === 'number') inst.port = m.port;
    if (m.metadata !== undefined && typeof m.metadata === 'object' && m.metadata !== null) inst.metadata = m.metadata;
    return inst;
  }
  // written by someone else (e.g. Go's endpoints.Manager)
  const inst: ServiceInstance = { service, id: keyId, ...splitAddr(u.Addr) };
  if (u.Metadata !== undefined && u.Metadata !== null)
    inst.metadata = typeof u.Metadata === 'object' ? (u.Metadata as Record<string, unknown>) : { value: u.Metadata };
  return inst;
}
