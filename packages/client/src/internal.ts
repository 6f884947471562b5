// @conclave/client/internal — building blocks shared with @conclave/concurrency (the typed event
// emitter, the async queue, argument checks, timers and telemetry hooks). Not part of the documented
// public API: it may change in any release.

export { Emitter, type Listener } from './util/emitter.js';
export { AsyncQueue } from './util/async-queue.js';
export {
  callOptions,
  checkBool,
  checkBytes,
  checkChoice,
  checkCount,
  checkFunction,
  checkInt,
  checkMs,
  checkSignal,
  checkString,
  checkTtl,
  describe,
  invalid,
  options,
} from './util/validate.js';
export { telemetryOf } from './kv/keyspace.js';
export type { Telemetry } from './telemetry/telemetry.js';
