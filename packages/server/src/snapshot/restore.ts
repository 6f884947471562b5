// `conclave snapshot restore`: a snapshot made by etcd 3.4/3.5 (`etcdctl snapshot save`) or by
// Conclave — both etcd's format — into a new member data dir, with etcdutl's flags, checks and
// messages, in etcdutl's order: the cluster flags, the data dir (absent or empty), then the file
// (its SHA-256 trailer, then the database). The state (keys with their whole history, compaction,
// leases, users, roles) is kept; the membership is the one given by the flags, with new member and
// cluster IDs; the old Raft log and alarms are not.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseInitialCluster, parseUrlList, verifyBootstrap, type ServerConfig } from '../config/index.js';
import { BoltReader, BoltReadError } from '../storage/bbolt/index.js';
import { isAbsentOrEmpty, resolveCluster, writeDataDir } from './data-dir.js';
import { checkSnapshotHash } from './hash-check.js';
import { importEtcdBackend, type ImportResult } from './import.js';
import { SNAPSHOT_HASH_SIZE } from './stream.js';

export interface RestoreOptions {
  file: string;
  dataDir: string;
  walDir?: string;
  name?: string;
  initialCluster?: string;
  initialClusterToken?: string;
  initialAdvertisePeerUrls?: string;
  skipHashCheck?: boolean;
}

/** A restore that was refused or failed; `message` is what etcdutl prints after "Error: ". */
export class RestoreError extends Error {
  override readonly name = 'RestoreError';
}

export const RESTORE_DEFAULTS = {
  name: 'default',
  initialCluster: 'default=http://localhost:2380',
  initialClusterToken: 'etcd-cluster',
  initialAdvertisePeerUrls: 'http://localhost:2380',
} as const;

export interface RestoreLog {
  info(msg: string, fields: Record<string, unknown>): void;
}

export async function restoreSnapshot(o: RestoreOptions, log?: RestoreLog): Promise<ImportResult> {
  const name = o.name ?? RESTORE_DEFAULTS.name;
  const initialCluster = o.initialCluster ?? RESTORE_DEFAULTS.initialCluster;
  const token = o.initialClusterToken ?? RESTORE_DEFAULTS.initialClusterToken;
  let members: ReadonlyMap<string, string[]>;
  try {
    const cluster = parseInitialCluster(initialCluster);
    const advertised = parseUrlList(o.initialAdvertisePeerUrls ?? RESTORE_DEFAULTS.initialAdvertisePeerUrls);
    // etcd's VerifyBootstrap, with the same texts (name present, advertised URLs match, no duplicates).
    verifyBootstrap({
      name,
      initialCluster,
      initialClusterState: 'new',
      initialAdvertisePeerUrls: advertised,
      logger: 'zap',
    } as unknown as ServerConfig);
    members = new Map([...cluster].map(([n, urls]) => [n, urls.map((u) => u.href)]));
  } catch (e) {
    throw new RestoreError((e as Error).message);
  }
  if (!(await isAbsentOrEmpty(o.dataDir)))
    throw new RestoreError(`data-dir "${o.dataDir}" not empty or could not be read`);
  if (o.walDir && !(await isAbsentOrEmpty(o.walDir))) {
    throw new RestoreError(`wal-dir "${o.walDir}" not empty or could not be read`);
  }
  try {
    await stat(o.file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new RestoreError(`open ${o.file}: no such file or directory`);
    throw e;
  }
  const memberDir = join(o.dataDir, 'member');
  log?.info('restoring snapshot', {
    path: o.file,
    'wal-dir': o.walDir || join(memberDir, 'wal'),
    'data-dir': o.dataDir,
    'snap-dir': join(memberDir, 'snap'),
  });
  const cluster = resolveCluster({ name, members, clusterToken: token });
  let result: ImportResult | null = null;
  try {
    const { hasHash } = await checkSnapshotHash(o.file, o.skipHashCheck === true);
    const reader = BoltReader.open(o.file, { trailerBytes: hasHash ? SNAPSHOT_HASH_SIZE : 0 });
    try {
      await writeDataDir({
        dataDir: o.dataDir,
        ...(o.walDir ? { walDir: o.walDir } : {}),
        cluster,
        fill: (backend) => {
          result = importEtcdBackend(reader, backend);
        },
      });
    } finally {
      reader.close();
    }
  } catch (e) {
    if (e instanceof BoltReadError || (e as Error).name.startsWith('Snapshot'))
      throw new RestoreError((e as Error).message);
    throw e;
  }
  log?.info('restored snapshot', {
    path: o.file,
    'wal-dir': o.walDir || join(memberDir, 'wal'),
    'data-dir': o.dataDir,
    'snap-dir': join(memberDir, 'snap'),
    revision: result!.revision,
  });
  return result!;
}
