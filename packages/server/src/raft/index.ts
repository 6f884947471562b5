// Raft consensus core: an I/O-free state machine in the style of etcd-io/raft, written from the
// Raft paper and Ongaro's thesis. It never touches disk, network, timers, the clock or Math.random:
// the server feeds it ticks and messages and carries out the work it hands back in Ready batches.
// Features: elections with randomized timeouts, pre-vote, check-quorum (with leases), log
// replication with per-follower flow control (probe / replicate / snapshot, bounded in-flight
// windows), fast conflict backtracking, ReadIndex reads (safe mode), leadership transfer, learners
// and single-server membership changes (effective on apply), snapshots and log compaction.
//
// THE READY CONTRACT
//
// The driver runs one loop per node. Between two loop turns it may call tick(), step(),
// propose(), readIndex(), ... at any time, including while a Ready is being handled.
//
//   if (node.hasReady()) {
//     const rd = node.ready();                          // at most one Ready outstanding
//     const leader = rd.softState.role === StateRole.Leader;
//     if (leader) send(rd.messages);                    // (1) a leader may send first
//     if (rd.snapshot) persist(rd.snapshot);            // (2) then, in this order, make durable:
//     if (rd.hardState) persist(rd.hardState);          //     snapshot, hard state, entries
//     persist(rd.entries);                              //     (fsync when rd.mustSync)
//     storage.applySnapshot / setHardState / append     // (3) update the MemoryStorage copy
//     if (!leader) send(rd.messages);                   // (4) others send only after (2)
//     apply(rd.snapshot); apply(rd.committedEntries);   // (5) only after (2); call
//                                                       //     applyConfChange for ConfChange entries
//     serve reads of rd.readStates once applied ≥ their index
//     node.advance(rd);                                 // (6) everything above is done
//   }
//
// What must be durable before what:
// - Messages of a non-leader Ready (vote grants, append acknowledgements) promise that rd's hard
//   state and entries survive a crash: send them only after (2) is durable.
// - A Ready whose softState.role is Leader never changes term or vote and carries only messages
//   that are safe before its own entries are durable (Raft thesis §10.2.1): appends, heartbeats,
//   snapshots, read-index answers and TimeoutNow. (A single voter counts its own vote only after the
//   Ready carrying it was advanced, so even a one-node cluster never leads from an unpersisted term.)
// - committedEntries may include entries of the same Ready: apply them only once (2) is durable.
//   Apply rd.snapshot (the state machine's new base) before rd.committedEntries.
// - A commit-only hard state change has mustSync false: it may be written without fsync, and losing
//   it in a crash is harmless.
// - advance(rd) tells Raft that rd was persisted and its committed entries applied: only then are
//   entries considered stable, the applied index moved and a configuration change allowed to follow.
//   ready() throws if called again before advance(); hasReady() is false meanwhile.
//
// Other duties of the driver:
// - Call tick() at a fixed interval; electionTick/heartbeatTick are counted in those ticks.
// - The transport reports failures with reportUnreachable(id), and the outcome of every snapshot it
//   sends with reportSnapshot(id, ok) (or the follower stays paused in snapshot state).
// - Snapshots/compaction: storage.createSnapshot(i, confState, data) for some i ≤ applied, then
//   storage.compact(j) for j ≤ i. confState is what applyConfChange last returned for an index ≤ i.
// - Restart: open Storage with what is durable, and pass `applied` = the index the state machine
//   reflects (at least the snapshot index). Raft's membership comes from storage.initialState()
//   (the snapshot's ConfState) and is brought up to date by re-delivered committed entries: call
//   applyConfChange for each ConfChange entry in committedEntries even if the state machine had
//   already applied it. A node does not campaign until those have been applied.
// - A new cluster: every founding member calls bootstrap(voters) once, on empty storage (or starts
//   from a MemoryStorage constructed with the initial ConfState). A member added later starts
//   empty and learns everything from the leader.
// - propose(), proposeConfChange() and readIndex() throw ProposalDroppedError (with a reason)
//   when the request cannot be accepted now: no leader, leadership transfer in progress, proposal
//   forwarding disabled, uncommitted-size limit, configuration change pending or invalid.
//   Followers forward proposals and reads to the leader; those can still be lost in transit, so
//   the server needs its own timeouts.

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
