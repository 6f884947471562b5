// Majority arithmetic over a set of voters: the committed index and the outcome of a vote.

import type { NodeId } from './types.js';

export enum VoteResult {
  Pending = 0,
  Lost = 1,
  Won = 2,
}

export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The largest index that a majority of `voters` have acknowledged, given each voter's match index
 * (missing voters count as 0). 0 for an empty voter set.
 */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number | undefined): number {
  const n = voters.length;
  if (n === 0) return 0;
  if (n === 1) return matchOf(voters[0]!) ?? 0;
  const srt = new Array<number>(n);
  for (let i = 0; i < n; i++) srt[i] = matchOf(voters[i]!) ?? 0;
  srt.sort((a, b) => b - a);
  return srt[majority(n) - 1]!;
}

/** The election outcome given the votes received so far (true = granted). */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return VoteResult.Won;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = majority(voters.length);
  if (granted >= q) return VoteResult.Won;
  if (granted + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}

/**
 * Whether two voter sets admit disjoint majorities (a majority of `a` and a majority of `b` that
 * share no member). Raft's safety rests on this never being true for configurations in use together.
 */
export function haveDisjointMajorities(a: ReadonlySet<NodeId>, b: ReadonlySet<NodeId>): boolean {
  if (a.size === 0 || b.size === 0) return false;
  let aOnly = 0;
  for (const id of a) if (!b.has(id)) aOnly++;
  // Pick a majority of a that avoids b as far as possible; what it must take from b is lost to b.
  const overlap = Math.max(0, majority(a.size) - aOnly);
  return b.size - overlap >= majority(b.size);
}
