// corrupt/ — etcd's data corruption checks: the peer route that serves a member's HashKV, the
// initial check before a member serves (--experimental-initial-corrupt-check) and the leader's
// periodic check that raises the CORRUPT alarm (--experimental-corrupt-check-time).

export { checkInitialHashKV, DataInconsistencyError, type CorruptCheckDeps } from './initial-check.js';
export { checkHashKV, startCorruptMonitor, type CorruptMonitor, type CorruptMonitorDeps } from './monitor.js';
export { fetchPeerHashKV, serveHashKV, PEER_HASHKV_PATH, type HashKVSource, type PeerInfo } from './peer-hashkv.js';
