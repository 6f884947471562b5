// The data types Raft exchanges with its driver: log entries, hard state, snapshots, membership
// and messages. Shared by the Raft core (raft/), the WAL (storage/wal) and the peer transport.
//
// Node IDs are etcd member IDs: uint64, carried as bigint; 0n means "none".
// Terms and indexes are plain numbers (exact up to 2^53, far beyond any real log).

export type NodeId = bigint;
export const NONE: NodeId = 0n;

export enum EntryType {
  Normal = 0,
  ConfChange = 1,
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque payload: a proposal for Normal entries, an encoded ConfChange for ConfChange entries. Empty for the leader's no-op entry. */
  data: Uint8Array;
}

export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  /** The application state at metadata.index; opaque to Raft. */
  data: Uint8Array;
}

export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  UpdateNode = 2,
  AddLearnerNode = 3,
}

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  /** Opaque to Raft: the server stores the member's attributes (name, peer URLs) here. */
  context: Uint8Array;
  /** Set by the server to match a proposal with its application; opaque to Raft. */
  id: bigint;
}

export enum MessageType {
  Hup = 0, // local: start an election
  Beat = 1, // local: leader sends heartbeats
  Prop = 2, // proposal (local, or forwarded from a follower to the leader)
  App = 3,
  AppResp = 4,
  Vote = 5,
  VoteResp = 6,
  Snap = 7,
  Heartbeat = 8,
  HeartbeatResp = 9,
  Unreachable = 10, // local
  SnapStatus = 11, // local
  CheckQuorum = 12, // local
  TransferLeader = 13,
  TimeoutNow = 14,
  ReadIndex = 15,
  ReadIndexResp = 16,
  PreVote = 17,
  PreVoteResp = 18,
}

export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: number;
  /** Term of the entry at `index` (App), or of the candidate's last entry (Vote/PreVote). */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  snapshot: Snapshot | null;
  reject: boolean;
  rejectHint: number;
  /** ReadIndex request context, echoed in heartbeats and responses; also used for transfer-leader campaigns. */
  context: Uint8Array;
}

/** A linearizable-read marker: the read identified by `requestCtx` may be served once applied ≥ index. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export enum StateRole {
  Follower = 0,
  Candidate = 1,
  Leader = 2,
  PreCandidate = 3,
}

export interface SoftState {
  lead: NodeId;
  role: StateRole;
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

export function emptyHardState(): HardState {
  return { term: 0, vote: NONE, commit: 0 };
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function emptySnapshot(): Snapshot {
  return { metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } }, data: EMPTY_BYTES };
}

export function isEmptySnapshot(s: Snapshot | null | undefined): boolean {
  return !s || s.metadata.index === 0;
}

/** A message with every field at its zero value except those given. */
export function message(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    to: NONE,
    from: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    snapshot: null,
    reject: false,
    rejectHint: 0,
    context: EMPTY_BYTES,
    ...fields,
  };
}
