// peer/ — how members talk to each other: framed Raft message streams over HTTP/2 on the peer URLs
// (reconnecting, bounded), snapshot transfer with the backend database, the member list for joining
// members, request forwarding between members, and a file-driven fault hook for partition tests.

export { PeerTransport, type TransportDeps } from './transport.js';
export { PeerServer, memberToJson, type PeerHandler } from './server.js';
export { PeerFaults } from './faults.js';
export { PEER_HEADERS } from './frame.js';
export { DEFAULT_PEER_LIMITS, type PeerLimits, snapshotDbLimit } from './limits.js';
export type { PeerCounters, PeerStats } from './stats.js';
