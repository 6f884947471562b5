// Version identity. Conclave reports itself to clients as etcd ETCD_COMPAT_VERSION (the /version
// endpoint, Maintenance.Status, the cluster version), so tools that gate features on the etcd
// version behave as they do against etcd 3.5.30: the release whose client-visible behaviour
// Conclave matches (watch progress notifications, auth checks, Downgrade; test/conformance/etcd35-*).
// kube-apiserver serves consistent reads from its watch cache only from etcd 3.4.31 / 3.5.13 on,
// because it relies on their progress-notification guarantees, which Conclave keeps (watch/stream.ts).
// The decision and what it covers: docs/etcd-3.5.md.

/** Conclave's own version (packages/server/package.json; a test keeps them equal). */
export const CONCLAVE_VERSION = '0.1.0';

/** The etcd releases Conclave can report: 3.5.30 (the default) and the 3.4 release it was compared with. */
export const REPORTABLE_ETCD_VERSIONS = ['3.5.30', '3.4.23'] as const;

/**
 * The etcd version a process reports: 3.5.30, or what CONCLAVE_ETCD_VERSION names among
 * REPORTABLE_ETCD_VERSIONS. 3.4.23 is for tools that check for exactly that release (etcd's own 3.4
 * e2e suite compares the version strings of /metrics with its own); a cluster reporting it starts at
 * cluster version 3.4.0, where the auth reads are not put through Raft and Downgrade is refused, as
 * in a 3.4 cluster. Behaviour is 3.5.30's otherwise (docs/etcd-3.5.md).
 */
export function reportedEtcdVersion(env: string | undefined): string {
  if (env === undefined || env === '') return REPORTABLE_ETCD_VERSIONS[0];
  if ((REPORTABLE_ETCD_VERSIONS as readonly string[]).includes(env)) return env;
  throw new Error(
    `CONCLAVE_ETCD_VERSION must be one of ${REPORTABLE_ETCD_VERSIONS.join(', ')} (got ${JSON.stringify(env)})`,
  );
}

/** The etcd server version Conclave reports ("etcdserver" in /version, Status.version). */
export const ETCD_COMPAT_VERSION = reportedEtcdVersion(process.env['CONCLAVE_ETCD_VERSION']);

/** The API version, as etcd logs it ("enabled capabilities for version", "cluster-version"). */
export const ETCD_API_VERSION = ETCD_COMPAT_VERSION.split('.').slice(0, 2).join('.');

/** The cluster version a new Conclave cluster starts at ("etcdcluster" in /version), as etcd's of that release. */
export const ETCD_CLUSTER_VERSION = `${ETCD_API_VERSION}.0`;

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
