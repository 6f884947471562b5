// Version identity. Conclave reports itself to clients as etcd ETCD_COMPAT_VERSION (the /version
// endpoint, Maintenance.Status, the cluster version), so tools that gate features on the etcd
// version behave as they do against etcd 3.4.

/** Conclave's own version (packages/server/package.json; a test keeps them equal). */
export const CONCLAVE_VERSION = '0.1.0';

/** The etcd server version Conclave reports ("etcdserver" in /version, Status.version). Debian's etcd. */
export const ETCD_COMPAT_VERSION = '3.4.23';

/** The cluster version Conclave reports ("etcdcluster" in /version), as a 3.4 cluster does. */
export const ETCD_CLUSTER_VERSION = '3.4.0';

/** The API version, as etcd logs it ("enabled capabilities for version", "cluster-version"). */
export const ETCD_API_VERSION = '3.4';

export interface VersionInfo {
  /** Git commit of the build; etcd prints "Not provided (use ./build instead of go build)" without one. */
  gitSha?: string;
}

/**
 * What `conclave --version` prints, shaped like `etcd --version` so scripts that read
 * "etcd Version: X" still work:
 *   conclave Version: 0.1.0
 *   etcd Version: 3.4.23
 *   etcd API Version: 3.4
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
