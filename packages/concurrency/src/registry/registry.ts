// Service registration and discovery. Instances are registered under one lease per registry (a
// Session), kept alive by heartbeats (the lease keepalive). If the lease is lost — expired during a
// long disconnection, revoked, or the cluster forgot it — every instance is registered again under a
// new lease as soon as the cluster can be reached; after the client reconnects, each instance key is
// checked and restored if it went missing. `close()` (or `deregister()`) deletes the keys at once.
// An instance that dies without deregistering disappears when its lease expires (within its TTL).
//
// Keys and values follow etcd's naming/endpoints (see codec.ts), so Go gRPC clients resolving
// through etcd see these instances, and instances registered by Go services are discovered here.

import { cmp, op, type CallOptions, type Client, type KeySpace, type KeyValue } from '@conclave/client';
import { anySignal, sleep } from '../util/async.js';
import { AsyncQueue, Emitter, callOptions, checkString, checkTtl, options } from '@conclave/client/internal';
import { Session, checkKeySpace } from '../session/session.js';
import {
  decodeInstance,
  encodeInstance,
  instanceKey,
  serviceKeyPrefix,
  validateInstance,
  type ServiceInstance,
} from './codec.js';
import { pickerFor, type PickStrategy, type Picker } from './pickers.js';

/** Options of a ServiceRegistry. */
export interface ServiceRegistryOptions {
  /** Prepended to every key: instances live at `<prefix><service>/<id>` (default "": etcd endpoints' `target/` layout). */
  prefix?: string;
  /** TTL (seconds) of the registry's lease: how long a dead instance stays listed (default 10). */
  ttl?: number;
}

/** The events of a Registration. */
export interface RegistrationEvents extends Record<string, unknown[]> {
  /** The instance key was written (first registration, or again after a loss); with the lease used. */
  registered: [lease: bigint];
  /** The lease carrying the instance was lost; it is being registered again. */
  lost: [error: Error];
}

/** One registered instance, returned by `register()`: its events, and `deregister()`. */
export class Registration extends Emitter<RegistrationEvents> {
  /** Lease of the current registration, undefined while re-registering or after deregister. */
  lease: bigint | undefined;
  /** @internal */
  active = true;

  constructor(
    private readonly registry: ServiceRegistry,
    readonly instance: ServiceInstance,
    readonly key: string,
    readonly value: string,
  ) {
    super();
  }

  /** @internal */
  notify<K extends keyof RegistrationEvents>(event: K, ...args: RegistrationEvents[K]): void {
    this.emit(event, ...args);
  }

  /** Removes the instance (deletes its key) and stops re-registering it. */
  deregister(opts: CallOptions = {}): Promise<void> {
    return this.registry.deregister(this, opts);
  }

  /** Deregisters the instance. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.deregister();
  }
}

/** A live picker over a service's instance set (kept current by a watch). */
export interface ServicePicker {
  /** Resolves once the first instance set is known. */
  readonly ready: Promise<void>;
  /** The current instances (sorted by id). */
  readonly instances: readonly ServiceInstance[];
  /** An instance by the picker's strategy, or undefined when there is none. */
  pick(): ServiceInstance | undefined;
  /** Stops following the service. */
  close(): void;
}

/**
 * Service registration and discovery, in etcd's `naming/endpoints` layout (Go gRPC clients
 * resolving through etcd see these instances). Instances stay registered while the process lives:
 * after a lost lease they are registered again under a new one.
 *
 * ```ts
 * await using registry = new ServiceRegistry(client, { prefix: 'services/', ttl: 10 });
 * const reg = await registry.register({ service: 'api', id: 'api-1', address: '10.0.0.5', port: 8080 });
 * reg.on('lost', (err) => log.warn(err.message)); // re-registering
 * const picker = registry.picker('api');
 * await picker.ready;
 * const target = picker.pick(); // round-robin over the live instances
 * ```
 */
export class ServiceRegistry {
  readonly prefix: string;
  readonly ttl: number;
  private session: Session | undefined;
  private sessionPending: Promise<Session> | undefined;
  private readonly registrations = new Set<Registration>();
  private readonly controller = new AbortController();
  private statusLoop = false;

  /** A registry on `client` (or a namespace view); instances live at `<prefix><service>/<id>`. */
  constructor(
    readonly client: KeySpace,
    opts?: ServiceRegistryOptions,
  ) {
    checkKeySpace(client, 'ServiceRegistry: client');
    opts = options(opts, 'ServiceRegistry: options');
    if (opts.prefix !== undefined) checkString(opts.prefix, 'ServiceRegistry: options.prefix');
    if (opts.ttl !== undefined) checkTtl(opts.ttl, 'ServiceRegistry: options.ttl');
    this.prefix = opts.prefix ?? '';
    this.ttl = opts.ttl ?? 10;
  }

  /** Registers an instance; resolves once its key is written. Registering the same service/id again replaces it. */
  async register(instance: ServiceInstance, opts?: CallOptions): Promise<Registration> {
    validateInstance(instance);
    opts = callOptions(opts, 'ServiceRegistry.register');
    if (this.controller.signal.aborted) throw new TypeError('ServiceRegistry: closed');
    const inst: ServiceInstance = { ...instance };
    const reg = new Registration(this, inst, instanceKey(this.prefix, inst), encodeInstance(inst));
    for (const other of this.registrations) if (other.key === reg.key) await this.deregister(other, opts);
    this.registrations.add(reg);
    this.watchStatus();
    try {
      for (let attempt = 0; ; attempt++) {
        const s = await this.currentSession(opts);
        try {
          await this.client.put(reg.key, reg.value, { lease: s.lease, ...opts });
          reg.lease = s.lease;
          reg.notify('registered', s.lease);
          return reg;
        } catch (e) {
          const mapped = s.mapError(e);
          if (!s.isDone || attempt >= 2) throw mapped; // lease vanished under us: once more with a new one
        }
      }
    } catch (e) {
      this.registrations.delete(reg);
      reg.active = false;
      throw e;
    }
  }

  /** @internal */
  async deregister(reg: Registration, opts: CallOptions = {}): Promise<void> {
    if (!reg.active) return;
    reg.active = false;
    this.registrations.delete(reg);
    const lease = reg.lease;
    reg.lease = undefined;
    if (lease !== undefined)
      await this.client
        .txn()
        .if(cmp.lease(reg.key, '=', lease))
        .then(op.delete(reg.key))
        .commit(opts);
  }

  /** The instances of `service` now (sorted by id). */
  async discover(service: string, opts?: CallOptions): Promise<ServiceInstance[]> {
    checkString(service, 'ServiceRegistry.discover: service', true);
    opts = callOptions(opts, 'ServiceRegistry.discover');
    const p = serviceKeyPrefix(this.prefix, service);
    const r = await this.client.range(p, { prefix: true, ...opts });
    return decodeAll(r.kvs, service, p);
  }

  /**
   * The instance set of `service`: the current set first, then the whole set after every change.
   * A slow consumer skips to the newest set (never an older one). Survives reconnects and compaction.
   */
  watch(service: string, opts?: { signal?: AbortSignal }): AsyncIterableIterator<ServiceInstance[]> {
    checkString(service, 'ServiceRegistry.watch: service', true);
    opts = callOptions(opts, 'ServiceRegistry.watch');
    const controller = new AbortController();
    const signal = anySignal([controller.signal, opts.signal, this.controller.signal]);
    const ch = new AsyncQueue<ServiceInstance[]>(() => controller.abort(), 'latest');
    this.follow(service, signal, (set) => ch.push(set)).then(
      () => ch.end(),
      (e: unknown) => (signal.aborted ? ch.end() : ch.fail(e)),
    );
    return ch;
  }

  /** A live picker for `service`: 'round-robin' (default), 'random', or a Picker function. */
  picker(
    service: string,
    strategy: PickStrategy | Picker = 'round-robin',
    opts?: { signal?: AbortSignal },
  ): ServicePicker {
    checkString(service, 'ServiceRegistry.picker: service', true);
    opts = callOptions(opts, 'ServiceRegistry.picker');
    const pick = pickerFor(strategy);
    const controller = new AbortController();
    const signal = anySignal([controller.signal, opts.signal, this.controller.signal]);
    let current: ServiceInstance[] = [];
    let resolveReady!: () => void;
    let rejectReady!: (e: unknown) => void;
    const ready = new Promise<void>((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    ready.catch(() => undefined);
    this.follow(service, signal, (set) => {
      current = set;
      resolveReady();
    }).catch((e: unknown) => rejectReady(e));
    return {
      ready,
      get instances() {
        return current;
      },
      pick: () => pick(current),
      close: () => controller.abort(),
    };
  }

  /** Deregisters every instance, revokes the lease, and ends watches and pickers. */
  async close(): Promise<void> {
    if (this.controller.signal.aborted) return;
    this.controller.abort();
    const regs = [...this.registrations];
    await Promise.allSettled(regs.map((r) => this.deregister(r)));
    const s = this.session;
    this.session = undefined;
    await s?.close();
  }

  /** Closes the registry (deregisters everything). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async follow(service: string, signal: AbortSignal, onSet: (set: ServiceInstance[]) => void): Promise<void> {
    const p = serviceKeyPrefix(this.prefix, service);
    const keys = new Map<string, KeyValue>();
    let last: string | undefined;
    const publish = (): void => {
      const set = decodeAll([...keys.values()], service, p);
      const sig = JSON.stringify(set);
      if (sig === last) return;
      last = sig;
      onSet(set);
    };
    const r = await this.client.range(p, { prefix: true, signal });
    for (const kv of r.kvs) keys.set(kv.keyString, kv);
    publish();
    const w = this.client.watch(p, { prefix: true, startRevision: r.revision + 1n, onCompacted: 'resync', signal });
    try {
      for await (const batch of w) {
        if (batch.type === 'resync') {
          keys.clear();
          for (const kv of batch.kvs) keys.set(kv.keyString, kv);
        } else if (batch.type === 'events') {
          for (const e of batch.events) {
            if (e.type === 'delete') keys.delete(e.kv.keyString);
            else keys.set(e.kv.keyString, e.kv);
          }
        } else continue;
        publish();
      }
    } finally {
      w.close();
    }
  }

  /**
   * The live session, creating one if needed (one attempt shared by concurrent callers). A caller's
   * signal is not handed to the session (aborting a Session.create signal closes the session later):
   * only the registry's own, which ends it on close().
   */
  private async currentSession(opts: CallOptions = {}): Promise<Session> {
    if (this.session && !this.session.isDone) return this.session;
    if (!this.sessionPending) {
      const create = {
        ttl: this.ttl,
        signal: this.controller.signal,
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      };
      this.sessionPending = Session.create(this.client, create).then(
        (s) => {
          this.sessionPending = undefined;
          if (this.controller.signal.aborted) {
            void s.close();
            throw new TypeError('ServiceRegistry: closed');
          }
          this.session = s;
          void s.done.then((end) => this.onLost(s, end));
          return s;
        },
        (e: unknown) => {
          this.sessionPending = undefined;
          throw e;
        },
      );
    }
    return this.sessionPending;
  }

  /**
   * The lease was lost: register every instance again under a new one, retrying until it works or
   * the registry closes; then revoke the old lease if it may still exist (a loss seen locally, its
   * TTL elapsed without renewal, while the cluster may have kept it: after a restart, say), so no
   * lease is left behind. Each instance reports one `lost`, then one `registered`.
   */
  private async onLost(s: Session, end: Error): Promise<void> {
    if (this.controller.signal.aborted || this.session !== s) return;
    this.session = undefined;
    for (const reg of this.registrations) {
      reg.lease = undefined;
      reg.notify('lost', end);
    }
    for (let attempt = 0; !this.controller.signal.aborted && this.registrations.size > 0; attempt++) {
      try {
        const next = await this.currentSession();
        for (const reg of [...this.registrations]) {
          if (reg.lease === next.lease) continue;
          await this.client.put(reg.key, reg.value, { lease: next.lease, signal: this.controller.signal });
          if (!reg.active) continue;
          reg.lease = next.lease;
          reg.notify('registered', next.lease);
        }
        break;
      } catch {
        await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)), this.controller.signal).catch(() => undefined);
      }
    }
    // the instance keys have moved to the new lease: revoking the old one deletes nothing of ours
    await s.close();
  }

  /** After the client reconnects (Client only), make sure every instance key is still there. */
  private watchStatus(): void {
    if (this.statusLoop || typeof (this.client as Partial<Client>).status !== 'function') return;
    this.statusLoop = true;
    const events = (this.client as Client).status({ signal: this.controller.signal });
    void (async () => {
      let down = false;
      for await (const e of events) {
        if (e.type === 'disconnected') down = true;
        else if (e.type === 'connected' && down) {
          down = false;
          await this.restore().catch(() => undefined);
        }
      }
    })().catch(() => undefined);
  }

  private async restore(): Promise<void> {
    for (const reg of [...this.registrations]) {
      const lease = reg.lease;
      if (lease === undefined) continue; // being re-registered after a loss
      const r = await this.client
        .txn()
        .if(cmp.lease(reg.key, '=', lease))
        .else(op.put(reg.key, reg.value, { lease }))
        .commit({ signal: this.controller.signal });
      if (!r.succeeded && reg.active) reg.notify('registered', lease);
    }
  }
}

function decodeAll(kvs: KeyValue[], service: string, servicePrefix: string): ServiceInstance[] {
  const out: ServiceInstance[] = [];
  for (const kv of kvs) {
    const inst = decodeInstance(kv, service, servicePrefix);
    if (inst) out.push(inst);
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
