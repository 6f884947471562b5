// Semantic versions as etcd reads them (the coreos/go-semver rules it uses for cluster and
// downgrade versions): "MAJOR.MINOR.PATCH", optionally "-prerelease" and "+metadata", numbers in
// base 10. Only what the cluster version and the downgrade job need.

export interface Semver {
  major: number;
  minor: number;
  patch: number;
  /** '' when there is none. */
  preRelease: string;
}

const IDENTIFIER = /^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/;
const NUMBER = /^[+-]?\d+$/;

/** Parses a version as go-semver's NewVersion does; null where it would fail. */
export function parseSemver(text: string): Semver | null {
  let rest = text;
  let metadata = '';
  let preRelease = '';
  const plus = rest.indexOf('+');
  if (plus >= 0) {
    metadata = rest.slice(plus + 1);
    rest = rest.slice(0, plus);
  }
  const dash = rest.indexOf('-');
  if (dash >= 0) {
    preRelease = rest.slice(dash + 1);
    rest = rest.slice(0, dash);
  }
  // SplitN(version, ".", 3): a fourth dotted part stays glued to the third and fails its parse.
  const first = rest.indexOf('.');
  const second = first < 0 ? -1 : rest.indexOf('.', first + 1);
  if (first < 0 || second < 0) return null;
  const parts = [rest.slice(0, first), rest.slice(first + 1, second), rest.slice(second + 1)];
  if (preRelease !== '' && !IDENTIFIER.test(preRelease)) return null;
  if (metadata !== '' && !IDENTIFIER.test(metadata)) return null;
  if (!parts.every((p) => NUMBER.test(p))) return null;
  const [major, minor, patch] = parts.map((p) => Number.parseInt(p, 10)) as [number, number, number];
  return { major, minor, patch, preRelease };
}

/** "3.5.0": major.minor.patch (and "-pre" when set), as go-semver prints a version. */
export function formatSemver(v: Semver): string {
  return `${v.major}.${v.minor}.${v.patch}${v.preRelease ? `-${v.preRelease}` : ''}`;
}

/** Only major.minor count for cluster versions (etcd's convertToClusterVersion drops the rest). */
export function clusterVersionOf(v: Semver): Semver {
  return { major: v.major, minor: v.minor, patch: 0, preRelease: '' };
}

/** major, minor, patch; a pre-release sorts before its release (enough for cluster versions). */
export function compareSemver(a: Semver, b: Semver): number {
  if (a.major !== b.major) return a.major - b.major;
  if (a.minor !== b.minor) return a.minor - b.minor;
  if (a.patch !== b.patch) return a.patch - b.patch;
  if (a.preRelease === b.preRelease) return 0;
  if (a.preRelease === '') return 1;
  if (b.preRelease === '') return -1;
  return a.preRelease < b.preRelease ? -1 : 1;
}
