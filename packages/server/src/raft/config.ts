// Configuration of a Raft node, injected by the driver. Everything that would otherwise come from
// the environment (time, randomness, logging) comes through here.

import { RaftUsageError } from './errors.js';
import type { Storage } from './storage.js';
import { NONE, type NodeId } from './types.js';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

export interface Config {
  /** This node's ID; never NONE (0n). */
  id: NodeId;
  /** The node's log, hard state and snapshot as of the last Ready it persisted. */
  storage: Storage;
  /**
   * Ticks a follower waits without hearing from a leader before campaigning. The actual timeout is
   * randomized in [electionTick, 2*electionTick). Must be greater than heartbeatTick; 10 is typical.
   */
  electionTick: number;
  /** Ticks between leader heartbeats; 1 is typical. */
  heartbeatTick: number;
  /**
   * The index of the last entry the application has applied (on restart). Raft hands out committed
   * entries after it. Default 0 (or the snapshot index, if larger).
   */
  applied?: number;
  /** Uniform random numbers in [0, 1), used only to randomize election timeouts. Default: a PRNG seeded from `id`. */
  random?: () => number;
  /** Largest total entry size (bytes) of one append message; at least one entry is always sent. Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Largest total size of committed entries handed out in one Ready. Default unlimited. */
  maxCommittedSizePerReady?: number;
  /** Most append messages in flight to one follower in replicate state. Default 256. */
  maxInflightMsgs?: number;
  /** Most entry bytes in flight to one follower; 0 = unlimited. Default 0. */
  maxInflightBytes?: number;
  /** Leader refuses proposals while its uncommitted entry payloads exceed this; 0 = unlimited. Default 0. */
  maxUncommittedEntriesSize?: number;
  /** Run a pre-vote round before incrementing the term (Raft thesis §9.6). Default false. */
  preVote?: boolean;
  /** Leader steps down without quorum contact per election timeout; followers in lease ignore votes (§6.2, §9.6). Default false. */
  checkQuorum?: boolean;
  /** Followers drop proposals instead of forwarding them to the leader. Default false. */
  disableProposalForwarding?: boolean;
  logger?: Logger;
}

export interface ResolvedConfig {
  id: NodeId;
  storage: Storage;
  electionTick: number;
  heartbeatTick: number;
  applied: number;
  random: () => number;
  maxSizePerMsg: number;
  maxCommittedSizePerReady: number;
  maxInflightMsgs: number;
  maxInflightBytes: number;
  maxUncommittedEntriesSize: number;
  preVote: boolean;
  checkQuorum: boolean;
  disableProposalForwarding: boolean;
  logger: Logger;
}

/** splitmix-style PRNG; deterministic per seed, no global state. */
export function seededRandom(seed: bigint): () => number {
  let s = Number(BigInt.asUintN(32, seed ^ (seed >> 32n))) ^ 0x9e3779b9;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0)
    throw new RaftUsageError(`raft config: ${name} must be a positive integer, got ${v}`);
  return v;
}

function nonNegativeInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0)
    throw new RaftUsageError(`raft config: ${name} must be a non-negative integer, got ${v}`);
  return v;
}

export function resolveConfig(c: Config): ResolvedConfig {
  if (c.id === NONE) throw new RaftUsageError('raft config: id must not be 0');
  const heartbeatTick = positiveInt('heartbeatTick', c.heartbeatTick);
  const electionTick = positiveInt('electionTick', c.electionTick);
  if (electionTick <= heartbeatTick)
    throw new RaftUsageError('raft config: electionTick must be greater than heartbeatTick');
  const maxInflightMsgs = positiveInt('maxInflightMsgs', c.maxInflightMsgs ?? 256);
  const maxInflightBytes = nonNegativeInt('maxInflightBytes', c.maxInflightBytes ?? 0);
  const maxSizePerMsg = nonNegativeInt('maxSizePerMsg', c.maxSizePerMsg ?? 1024 * 1024);
  if (maxInflightBytes > 0 && maxInflightBytes < maxSizePerMsg) {
    throw new RaftUsageError('raft config: maxInflightBytes must be at least maxSizePerMsg');
  }
  const maxCommitted = nonNegativeInt('maxCommittedSizePerReady', c.maxCommittedSizePerReady ?? 0);
  return {
    id: c.id,
    storage: c.storage,
    electionTick,
    heartbeatTick,
    applied: nonNegativeInt('applied', c.applied ?? 0),
    random: c.random ?? seededRandom(c.id),
    maxSizePerMsg,
    maxCommittedSizePerReady: maxCommitted === 0 ? Number.MAX_SAFE_INTEGER : maxCommitted,
    maxInflightMsgs,
    maxInflightBytes: maxInflightBytes === 0 ? Number.MAX_SAFE_INTEGER : maxInflightBytes,
    maxUncommittedEntriesSize:
      nonNegativeInt('maxUncommittedEntriesSize', c.maxUncommittedEntriesSize ?? 0) || Number.MAX_SAFE_INTEGER,
    preVote: c.preVote ?? false,
    checkQuorum: c.checkQuorum ?? false,
    disableProposalForwarding: c.disableProposalForwarding ?? false,
    logger: c.logger ?? silentLogger,
  };
}
