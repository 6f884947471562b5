// An etcd 3.5.30 cluster and a Conclave cluster side by side, for conformance tests where several
// members matter: N members each (names m0..), the same election timing (heartbeat 100 ms, election
// 500 ms), started before the tests of the suite that asks for them and stopped after those tests.
// One member each: side-by-side.ts.

import { after, before } from 'node:test';
import { TestCluster } from './cluster.js';
import { type EtcdCluster, startEtcdCluster } from './etcd-cluster.js';

export interface ClustersSideBySide {
  /** The etcd 3.5.30 cluster, from before() on. */
  readonly etcd: EtcdCluster;
  /** The Conclave cluster, from before() on. */
  readonly conclave: TestCluster;
}

/**
 * Registers before() / after() in the current suite: starts both clusters of `n` members; afterwards
 * stops them. A suite's own before() registered after this call runs once both are up.
 */
export function etcd35AndConclaveClusters(n: number): ClustersSideBySide {
  let clusters: [EtcdCluster, TestCluster] | undefined;
  before(async () => {
    clusters = await Promise.all([
      startEtcdCluster(n, { version: '3.5' }),
      TestCluster.start(n, { heartbeatMs: 100, electionMs: 500 }),
    ]);
  });
  after(async () => {
    await Promise.all((clusters ?? []).map((c) => c.stop()));
  });
  const started = (): [EtcdCluster, TestCluster] => {
    if (!clusters) throw new Error('clusters: not started (used before before() ran)');
    return clusters;
  };
  return {
    get etcd() {
      return started()[0];
    },
    get conclave() {
      return started()[1];
    },
  };
}
