// Picking one instance out of a service's current set. A picker is a function of the set, so it
// works on `discover()` results and inside live pickers alike; round-robin keeps its position across
// calls (and across changes of the set).

import type { ServiceInstance } from './codec.js';

/** Picks one instance of a set (or undefined for an empty set). */
export type Picker = (instances: readonly ServiceInstance[]) => ServiceInstance | undefined;
/** The built-in pickers of `registry.picker()`. */
export type PickStrategy = 'round-robin' | 'random';

/** Each call returns the next instance in order of id, wrapping around. */
export function roundRobin(): Picker {
  let next = 0;
  return (instances) => {
    if (instances.length === 0) return undefined;
    const i = next % instances.length;
    next = (i + 1) % Number.MAX_SAFE_INTEGER;
    return instances[i];
  };
}

/** Each call returns a uniformly random instance. */
export function random(): Picker {
  return (instances) => (instances.length === 0 ? undefined : instances[Math.floor(Math.random() * instances.length)]);
}

export function pickerFor(strategy: PickStrategy | Picker): Picker {
  if (typeof strategy === 'function') return strategy;
  if (strategy === 'round-robin') return roundRobin();
  if (strategy === 'random') return random();
  throw new TypeError(`unknown pick strategy ${JSON.stringify(strategy)}`);
}
