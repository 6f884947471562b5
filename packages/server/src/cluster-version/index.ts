// The cluster version and the downgrade job (etcd 3.5's Maintenance.Downgrade): semantic versions
// as etcd reads them, and the job every member applies through Raft.

export { DowngradeStore, downgrade, type DowngradeInfo, type DowngradePorts } from './downgrade.js';
export { clusterVersionOf, compareSemver, formatSemver, parseSemver, type Semver } from './semver.js';
