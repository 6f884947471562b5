// Writing a member's data dir for a new cluster that starts from restored state, as etcdutl's
// restore does for etcd: the backend (filled by the caller), the membership of --initial-cluster
// with etcd's member and cluster IDs, and a Raft history that already contains it — a snapshot at
// index N (N = number of members, term 1, every member a voter), the WAL with this member's IDs,
// that snapshot's marker and a hard state committing it. The member then starts as a restart and
// elects a leader with its peers; nothing of the old cluster's Raft log is kept.
//
// Everything is written into a temporary sibling directory and renamed into place at the end, so a
// failed restore leaves no data dir behind.

import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { encodeWalMetadata, layout } from '../etcdserver/bootstrap.js';
import { computeClusterId, computeMemberId } from '../etcdserver/ids.js';
import { Membership, type Member } from '../etcdserver/membership.js';
import { Backend } from '../storage/backend/index.js';
import { Snapshotter } from '../storage/snap/index.js';
import { Wal } from '../storage/wal/index.js';

export interface NewClusterSpec {
  /** This member's name (must be one of `members`). */
  name: string;
  /** --initial-cluster: name → peer URLs. */
  members: ReadonlyMap<string, readonly string[]>;
  clusterToken: string;
}

export interface ResolvedCluster {
  memberId: bigint;
  clusterId: bigint;
  members: Member[];
}

/** Member and cluster IDs exactly as etcd derives them from the same flags. */
export function resolveCluster(spec: NewClusterSpec): ResolvedCluster {
  const members: Member[] = [];
  for (const [name, peerUrls] of spec.members) {
    members.push({
      id: computeMemberId(peerUrls, spec.clusterToken),
      name,
      peerUrls: [...peerUrls],
      clientUrls: [],
      isLearner: false,
    });
  }
  const me = members.find((m) => m.name === spec.name);
  if (!me) throw new Error(`couldn't find local name "${spec.name}" in the initial cluster configuration`);
  return { memberId: me.id, clusterId: computeClusterId(members.map((m) => m.id)), members };
}

/** True when `dir` does not exist or is an empty directory (etcdutl restores only there). */
export async function isAbsentOrEmpty(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function publish(tmp: string, final: string): Promise<void> {
  await rmdir(final).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await rename(tmp, final);
  await fsyncDir(dirname(final));
}

export interface WriteDataDirOptions {
  dataDir: string;
  /** A WAL directory outside the data dir (--wal-dir), or '' for <data-dir>/member/wal. */
  walDir?: string;
  cluster: ResolvedCluster;
  /** Fills the new backend (called once, before the membership is written). */
  fill(backend: Backend): Promise<void> | void;
}

/** Writes the data dir (and WAL dir), or nothing at all if anything fails. */
export async function writeDataDir(opts: WriteDataDirOptions): Promise<void> {
  const dataDir = resolve(opts.dataDir);
  const walDir = opts.walDir ? resolve(opts.walDir) : '';
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const tmpData = join(dirname(dataDir), `.${basename(dataDir)}.restoring-${tag}`);
  const tmpWal = walDir ? join(dirname(walDir), `.${basename(walDir)}.restoring-${tag}`) : '';
  const dirs = layout(tmpData, tmpWal);
  let walPublished = false;
  try {
    await mkdir(dirs.snapDir, { recursive: true });
    const { cluster } = opts;
    const n = cluster.members.length;
    const backend = await Backend.open({ path: dirs.backendDir });
    try {
      await opts.fill(backend);
      backend.batch(() => {
        const membership = new Membership(backend);
        membership.setClusterId(cluster.clusterId);
        for (const m of cluster.members) membership.put(m);
        // The entries the members bootstrap with are covered by the snapshot below.
        backend.setAppliedIndex(n, 1);
      });
      await backend.sync();
    } finally {
      await backend.close();
    }
    const voters = cluster.members.map((m) => m.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    await new Snapshotter(dirs.snapDir).save({
      metadata: { index: n, term: 1, confState: { voters, learners: [] } },
      data: new Uint8Array(0),
    });
    const wal = await Wal.create(dirs.walDir, {
      metadata: encodeWalMetadata({ memberId: cluster.memberId, clusterId: cluster.clusterId }),
      preallocate: true,
      segmentSize: 16 * 1024 * 1024,
    });
    try {
      await wal.saveSnapshotMarker({ index: n, term: 1 });
      await wal.save({ term: 1, vote: 0n, commit: n }, [], true);
    } finally {
      await wal.close();
    }
    if (walDir) {
      await publish(tmpWal, walDir);
      walPublished = true;
    }
    await publish(tmpData, dataDir);
  } catch (err) {
    await rm(tmpData, { recursive: true, force: true });
    if (tmpWal) await rm(tmpWal, { recursive: true, force: true });
    if (walPublished) await rm(walDir, { recursive: true, force: true });
    throw err;
  }
}
