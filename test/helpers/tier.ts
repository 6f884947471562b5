// The two test tiers. `npm test` (the fast tier, under 10 minutes on a 2-core machine) runs the test
// matrices against Conclave and etcd 3.5, the line users run in production; `npm run test:slow`
// (CONCLAVE_SLOW_TESTS=1; CI runs both) runs the same matrices' etcd 3.4 variants, plus the files in
// SLOW (scripts/test-files.mjs). A file whose matrix goes through `forThisTier` runs in both tiers,
// each time with its own part of the matrix: nothing runs twice, nothing is left out.

export const slowTier = process.env.CONCLAVE_SLOW_TESTS === '1';

/** The entries of a test matrix this tier runs: the etcd 3.4 ones in the slow tier, the others in the fast. */
export function forThisTier<T>(matrix: readonly T[], isEtcd34: (entry: T) => boolean): T[] {
  return matrix.filter((entry) => isEtcd34(entry) === slowTier);
}

/** Tests outside a matrix in a tiered file belong to the fast tier: `onlyFastTier(() => test(...))`. */
export function onlyFastTier(define: () => void): void {
  if (!slowTier) define();
}
