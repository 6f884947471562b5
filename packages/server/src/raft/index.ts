// Raft consensus core: an I/O-free state machine in the style of etcd-io/raft, written from the
// Raft paper and Ongaro's thesis. It never touches disk, network, timers, the clock or Math.random:
// the server feeds it ticks and messages and carries out the work it hands back in Ready batches.
// Features: elections with randomized timeouts, pre-vote, check-quorum (with leases), log
// replication with per-follower flow control (probe / replicate / snapshot, bounded in-flight
// windows), fast conflict backtracking, ReadIndex reads (safe mode), leadership transfer, learners
// and single-server membership changes (effective when applied), snapshots and log compaction.
// The design note is docs/raft.md; the proof is the simulator in sim/ (npm run test:raft-soak).
//
// THE READY CONTRACT
//
// The driver runs one loop per node. Between two turns of it, and while a Ready is being handled
// (e.g. during an fsync), it may call tick(), step(), propose(), readIndex(), ... at any time.
//
//   if (node.hasReady()) {
//     const rd = node.ready();                          // at most one Ready outstanding
//     const leader = rd.softState.role === StateRole.Leader;
//     if (leader) send(rd.messages);                    // (1) a leader may send at once
//     wal.save(rd.snapshot, rd.hardState, rd.entries);  // (2) make durable, in this order;
//     if (rd.mustSync) await wal.fsync();               //     fsync when mustSync (even if (2)
//                                                       //     wrote nothing new)
//     storage.applySnapshot(rd.snapshot);               // (3) update the MemoryStorage copy
//     storage.setHardState(rd.hardState); storage.append(rd.entries);
//     if (!leader) send(rd.messages);                   // (4) everyone else only after (2)
//     apply(rd.snapshot); apply(rd.committedEntries);   // (5) only after (2), snapshot first;
//                                                       //     applyConfChange() for ConfChange
//                                                       //     entries
//     serve each read in rd.readStates once applied ≥ its index
//     node.advance(rd);                                 // (6) all of the above is done
//   }
//
// What must be durable before what, and why:
// - A non-leader's messages (vote grants, append acknowledgements) promise that rd's hard state
//   and entries survive a crash: they go out only once (2) is durable.
// - A leader's messages may go out before its own entries are durable (Raft thesis §10.2.1),
//   because a leader counts its own log toward a quorum only after advance() of the Ready that
//   carried it: no commit index, read index or TimeoutNow it sends ever depends on entries a crash
//   could still erase. A Ready with role Leader never changes term or vote: a candidate counts its
//   own vote only after advance() of the Ready persisting it, so even a single-voter cluster never
//   leads from an unpersisted term (a one-node cluster therefore takes two Readies to elect
//   itself and two per write: entries, then their commit).
// - committedEntries may include entries of the same Ready: apply them once (2) is durable.
// - mustSync is false for a Ready that only moves the commit index: that may be written without
//   fsync, and losing it in a crash is harmless. It is true when term, vote, entries or snapshot
//   change, and when committedEntries include a configuration change (a node must not forget that
//   a membership change committed once it has acted on it).
// - advance(rd) says rd was persisted and applied: only then are its entries stable, the applied
//   index moved, a leader's own copy counted and a further configuration change allowed.
//   ready() throws if called again before advance(); hasReady() is false meanwhile.
//
// Other duties of the driver:
// - Call tick() at a fixed interval; electionTick and heartbeatTick count those ticks.
// - Proposals made between two ready() calls leave together, in one append per follower; a server
//   that batches client requests can also use proposeBatch().
// - The transport calls reportUnreachable(id) when it cannot reach a peer, and reportSnapshot(id,
//   ok) once for every snapshot message it sends (or that follower stays paused in snapshot state).
// - Snapshots and compaction: storage.createSnapshot(i, confState, data) with i ≤ applied and
//   confState as returned by the last applyConfChange() at or before i; then storage.compact(j),
//   j ≤ i. A follower needing compacted entries gets storage.snapshot(); one taken before that
//   follower was added is fine (it then learns of its own addition from the log).
// - A new cluster: every founding member calls bootstrap(voters, learners) once, on empty storage.
//   The founding membership then lives in log entries 1..n, so members added later learn it. (A
//   MemoryStorage constructed with a ConfState is for tests, or for a log restored from a snapshot.)
//   A member added later starts with empty storage and no bootstrap.
// - Restart: open Storage with what is durable and pass config.applied = the index the state
//   machine reflects (at least the snapshot index; if it is beyond a commit index lost in the
//   crash, the commit index follows it). Membership comes from storage.initialState().confState and
//   is brought up to date by the committed entries handed out again: call applyConfChange() for
//   every ConfChange entry in committedEntries even if the state machine had applied it before.
//   A node does not campaign until it has.
// - Removing a member: keep the removed server running until every remaining voter has applied the
//   change. With membership effective on apply, a voter that has not learned that the change
//   committed may still need the removed server's vote (going from two voters to one). The leader
//   removing itself hands leadership to the most up-to-date voter (after making sure it applies
//   the change first), then steps down within an election timeout.
// - A proposal forwarded by a follower can reach the leader twice (the network may duplicate it)
//   or late: match applied entries to requests by ID, and (like etcd) refuse a configuration change
//   that re-adds a removed member by applying it as a change of node 0 (NONE), which is a no-op.
// - propose(), proposeBatch(), proposeConfChange() and readIndex() throw ProposalDroppedError (with
//   a reason) when the request cannot be accepted now: no leader, leadership transfer in progress,
//   proposal forwarding disabled, this leader removed, uncommitted-size limit, configuration change
//   pending or invalid. Followers forward proposals and reads to the leader; those can still be
//   lost in transit, so the server needs its own timeouts.

export { RawNode, type Ready, type Status, type PeerProgress } from './raw-node.js';
export { type Config, type Logger, silentLogger, seededRandom } from './config.js';
export { type Storage, type InitialState, MemoryStorage } from './storage.js';
export {
  RaftError,
  ProposalDroppedError,
  type DropReason,
  CompactedError,
  UnavailableError,
  SnapshotOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  RaftUsageError,
} from './errors.js';
export * from './types.js';
export * from './codec.js';
