// Version identity. Conclave reports itself to clients as etcd ETCD_COMPAT_VERSION (the /version
// endpoint, Maintenance.Status, the cluster version), so tools that gate features on the etcd
// version behave as they do against etcd 3.5.30: the release whose client-visible behaviour
// Conclave matches (watch progress notifications, auth checks, Downgrade; test/conformance/etcd35-*).
// kube-apiserver serves consistent reads from its watch cache only from etcd 3.4.31 / 3.5.13 on,
// because it relies on their progress-notification guarantees, which Conclave keeps (watch/stream.ts).
// The decision and what it covers: docs/etcd-3.5.md.

/** Conclave's own version (packages/server/package.json; a test keeps them equal). */
export const CONCLAVE_VERSION = '0.1.0';

/** The etcd server version Conclave reports ("etcdserver" in /version, Status.version). */
export const ETCD_COMPAT_VERSION = '3.5.30';

/** The cluster version a new Conclave cluster starts at ("etcdcluster" in /version), as a 3.5 cluster does. */
export const ETCD_CLUSTER_VERSION = '3.5.0';

/** The API version, as etcd logs it ("enabled capabilities for version", "cluster-version"). */
export const ETCD_API_VERSION = '3.5';

export interface VersionInfo {
  /** Git commit of the build; etcd prints "Not provided (use ./build instead of go build)" without one. */
  gitSha?: string;
}

/**
 * What `conclave --version` prints, shaped like `etcd --version` so scripts that read
 * "etcd Version: X" still work:
 *   conclave Version: 0.1.0
 *   etcd Version: 3.5.30
 *   etcd API Version: 3.5
 *   Git SHA: Not provided
 *   Node Version: v20.20.2
 *   Node OS/Arch: linux/x64
 */
export function versionText(info: VersionInfo = {}): string {
  const sha = info.gitSha ?? process.env['CONCLAVE_GIT_SHA'] ?? 'Not provided';
  return (
    `conclave Version: ${CONCLAVE_VERSION}\n` +
    `etcd Version: ${ETCD_COMPAT_VERSION}\n` +
    `etcd API Version: ${ETCD_API_VERSION}\n` +
    `Git SHA: ${sha === '' ? 'Not provided' : sha}\n` +
    `Node Version: ${process.version}\n` +
    `Node OS/Arch: ${process.platform}/${process.arch}\n`
  );
}
