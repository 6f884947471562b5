/**
 * @conclave/concurrency — coordination recipes on etcd v3's Lease, Txn and Watch, built only on
 * @conclave/client's public API, so they run against Conclave and any etcd v3 cluster alike: Session
 * (a lease kept alive, `done` when lost), Mutex / RWMutex / Semaphore (fencing tokens, session-loss
 * aware), Election (campaign, proclaim, resign, leader, observe with "no leader"), runSTM (the four
 * isolation levels of etcd's STM), ServiceRegistry (registration with heartbeats and automatic
 * re-registration, discovery, watch, pickers), ConfigWatcher (typed, snapshot-consistent prefix
 * view), Barrier, DoubleBarrier, Queue and PriorityQueue. Key layouts match etcd's Go recipes
 * (clientv3/concurrency, contrib/recipes, naming/endpoints), so Go and TypeScript services can share
 * a lock, an election, a queue or a service registry.
 *
 * @module @conclave/concurrency
 */

export { Session, type SessionOptions, type SessionEnd } from './session/session.js';
export { Mutex, type LockOptions } from './mutex/mutex.js';
export { RWMutex } from './mutex/rwmutex.js';
export { Semaphore } from './mutex/semaphore.js';
export { Election, type CampaignOptions } from './election/election.js';
export type { LeaderChange } from './election/observe.js';
export { runSTM, type STM, type STMOptions, type Isolation } from './stm/stm.js';
export {
  ServiceRegistry,
  Registration,
  type ServiceRegistryOptions,
  type RegistrationEvents,
  type ServicePicker,
} from './registry/registry.js';
export type { ServiceInstance } from './registry/codec.js';
export { roundRobin, random, type Picker, type PickStrategy } from './registry/pickers.js';
export {
  ConfigWatcher,
  InvalidConfigError,
  type ConfigSnapshot,
  type ConfigState,
  type ConfigWatcherOptions,
  type ConfigWatcherEvents,
} from './config/config-watcher.js';
export { Barrier } from './barrier/barrier.js';
export { DoubleBarrier } from './barrier/double-barrier.js';
export { Queue } from './queue/queue.js';
export { PriorityQueue } from './queue/priority-queue.js';
export {
  SessionExpiredError,
  SessionClosedError,
  NotHeldError,
  ReleasedError,
  type ReleaseReason,
  KeyDeletedError,
  STMConflictError,
  TooManyClientsError,
} from './util/errors.js';
