// Options, results and named cluster shapes of a simulator run, and the command that replays one.

export interface SimOptions {
  seed: number;
  /** Founding voters. */
  voters: number;
  /** Founding learners. */
  learners: number;
  /** Clients add, remove, promote and demote members during the chaos phase. */
  membership: boolean;
  /** Length of the chaos phase, in simulated milliseconds (a tick is about 10 ms). */
  chaosMs: number;
  /** After healing, the cluster must commit on every member within this many simulated ms. */
  healBoundMs: number;
  /** Receives a line per event when set (for replaying a failure). */
  trace?: (line: string) => void;
}

export const DEFAULT_SIM: Omit<SimOptions, 'seed'> = {
  voters: 3,
  learners: 0,
  membership: false,
  chaosMs: 1500,
  healBoundMs: 6000,
};

export interface SimStats {
  events: number;
  elections: number;
  maxCommitted: number;
  readsChecked: number;
  readsServed: number;
  crashes: number;
  partitions: number;
  snapshotsSent: number;
  proposalsDropped: number;
  confChanges: number;
  /** Simulated ms from healing to a fresh entry applied on every member. */
  recoveryMs: number;
}

export interface SimResult {
  options: SimOptions;
  ok: boolean;
  error?: string;
  stats: SimStats;
}

/** The shape of a cluster: founding voters and learners, and whether membership changes. */
export type Profile = Pick<SimOptions, 'voters' | 'learners' | 'membership'>;

/** The cluster shapes the test suite and the soak cycle through, by seed. */
export const PROFILES: Profile[] = [
  { voters: 3, learners: 0, membership: false },
  { voters: 3, learners: 1, membership: false },
  { voters: 5, learners: 1, membership: false },
  { voters: 3, learners: 0, membership: true },
];

export function profileFor(seed: number): Profile {
  return PROFILES[seed % PROFILES.length]!;
}

/** The one-line command that replays a run (add --trace for a log of every event). */
export function replayCommand(o: SimOptions): string {
  let s = `npm run test:raft-soak -- --seed ${o.seed} --nodes ${o.voters}`;
  if (o.learners) s += ` --learners ${o.learners}`;
  if (o.membership) s += ' --membership';
  if (o.chaosMs !== DEFAULT_SIM.chaosMs) s += ` --chaos-ms ${o.chaosMs}`;
  if (o.healBoundMs !== DEFAULT_SIM.healBoundMs) s += ` --heal-ms ${o.healBoundMs}`;
  return s;
}
