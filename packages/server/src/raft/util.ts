// Small helpers shared by the Raft core: entry sizes, size-limited slices, ID ordering.

import { type Entry, type Message, MessageType, type NodeId } from './types.js';

/** Approximate encoded size of an entry (payload plus header), used for message and Ready limits. */
export function entrySize(e: Entry): number {
  return e.data.length + 12;
}

/** Size counted against maxUncommittedEntriesSize: the payload only, so the leader's empty entry is free. */
export function payloadSize(e: Entry): number {
  return e.data.length;
}

export function entriesSize(ents: readonly Entry[]): number {
  let n = 0;
  for (const e of ents) n += entrySize(e);
  return n;
}

/** The longest prefix of `ents` whose total size is at most maxSize, but at least one entry. */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length <= 1) return ents;
  let size = entrySize(ents[0]!);
  let limit = 1;
  for (; limit < ents.length; limit++) {
    size += entrySize(ents[limit]!);
    if (size > maxSize) break;
  }
  return limit === ents.length ? ents : ents.slice(0, limit);
}

export function compareIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortedIds(ids: Iterable<NodeId>): NodeId[] {
  return [...ids].sort(compareIds);
}

/** A Map/Set key for a byte string (read-index contexts). */
export function bytesKey(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const M = MessageType;
/** Messages a node makes for itself (RawNode.step refuses them from outside). */
const LOCAL: ReadonlySet<MessageType> = new Set([M.Hup, M.Beat, M.Unreachable, M.SnapStatus, M.CheckQuorum]);
/** Answers to a request this node sent (dropped when they come from a node it does not track). */
const RESPONSES: ReadonlySet<MessageType> = new Set([
  M.AppResp,
  M.VoteResp,
  M.HeartbeatResp,
  M.Unreachable,
  M.PreVoteResp,
]);

export const isLocalMessage = (t: MessageType): boolean => LOCAL.has(t);

export const isResponseMessage = (t: MessageType): boolean => RESPONSES.has(t);

export function voteResponseType(t: MessageType): MessageType {
  switch (t) {
    case MessageType.Vote:
      return MessageType.VoteResp;
    case MessageType.PreVote:
      return MessageType.PreVoteResp;
    default:
      throw new Error(`not a vote message: ${MessageType[t]}`);
  }
}

/** One-line description of a message, for logs and failure reports. */
export function describeMessage(m: Message): string {
  let s = `${MessageType[m.type]} ${m.from}->${m.to} t${m.term}`;
  if (m.logTerm || m.index) s += ` lt${m.logTerm} i${m.index}`;
  if (m.commit) s += ` c${m.commit}`;
  if (m.entries.length) s += ` ents[${m.entries[0]!.index}..${m.entries[m.entries.length - 1]!.index}]`;
  if (m.reject) s += ` reject hint${m.rejectHint}`;
  if (m.snapshot) s += ` snap@${m.snapshot.metadata.index}/t${m.snapshot.metadata.term}`;
  return s;
}
