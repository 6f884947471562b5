// `conclave snapshot save | restore | status`: etcdutl's (and etcdctl's) snapshot commands with
// their flags, messages ("Error: ..." on stderr) and exit codes (1 for a failure, 128 for a wrong
// number of arguments, 4 for an unsupported output format). Returns the exit code.

import { existsSync, readFileSync } from 'node:fs';
import { restoreSnapshot, RestoreError, RESTORE_DEFAULTS } from './restore.js';
import { saveSnapshot } from './save.js';
import { formatStatus, snapshotStatus, type StatusFormat } from './status.js';

interface Io {
  out(s: string): void;
  err(s: string): void;
}

const stdio: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

type FlagKind = 'string' | 'bool';

class UsageError extends Error {}

/** pflag-style parsing: --flag value, --flag=value, -w value, bools with optional =true|false. */
function parseFlags(args: string[], spec: Record<string, FlagKind>, short: Record<string, string> = {}) {
  const flags = new Map<string, string | boolean>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positional.push(a);
      continue;
    }
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(a)!;
    const name = a.startsWith('--') ? m[1]! : (short[m[1]!] ?? m[1]!);
    const kind = spec[name];
    if (!kind)
      throw new UsageError(
        a.startsWith('--') ? `unknown flag: --${name}` : `unknown shorthand flag: '${m[1]}' in ${a}`,
      );
    if (kind === 'bool') {
      const v = m[2];
      if (v !== undefined && v !== 'true' && v !== 'false')
        throw new UsageError(
          `invalid argument "${v}" for "--${name}" flag: strconv.ParseBool: parsing "${v}": invalid syntax`,
        );
      flags.set(name, v !== 'false');
      continue;
    }
    let v = m[2];
    if (v === undefined) {
      if (i + 1 >= args.length) throw new UsageError(`flag needs an argument: --${name}`);
      v = args[++i]!;
    }
    flags.set(name, v);
  }
  return { flags, positional };
}

const USAGE = {
  snapshot: `Usage:
  conclave snapshot [command]

Available Commands:
  restore     Restores an etcd member snapshot to an etcd directory
  save        Stores an etcd node backend snapshot to a given file
  status      Gets backend snapshot status of a given file

Flags:
  -w, --write-out string   set the output format (fields, json, simple, table) (default "simple")
`,
  restore: `Usage:
  conclave snapshot restore <filename> --data-dir {output dir} [options] [flags]

Flags:
      --data-dir string                      Path to the output data directory
      --initial-advertise-peer-urls string   List of this member's peer URLs to advertise to the rest of the cluster (default "${RESTORE_DEFAULTS.initialAdvertisePeerUrls}")
      --initial-cluster string               Initial cluster configuration for restore bootstrap (default "${RESTORE_DEFAULTS.initialCluster}")
      --initial-cluster-token string         Initial cluster token for the etcd cluster during restore bootstrap (default "${RESTORE_DEFAULTS.initialClusterToken}")
      --name string                          Human-readable name for this member (default "${RESTORE_DEFAULTS.name}")
      --skip-hash-check                      Ignore snapshot integrity hash value (required if copied from data directory)
      --wal-dir string                       Path to the WAL directory (use --data-dir if none given)
`,
  status: `Usage:
  conclave snapshot status <filename> [flags]

Flags:
  -w, --write-out string   set the output format (fields, json, simple, table) (default "simple")
`,
  save: `Usage:
  conclave snapshot save <filename> [flags]

Flags:
      --endpoints string            gRPC endpoint of one member (default "127.0.0.1:2379")
      --cacert string               verify certificates of TLS-enabled secure servers using this CA bundle
      --cert string                 identify secure client using this TLS certificate file
      --key string                  identify secure client using this TLS key file
      --insecure-skip-tls-verify    skip server certificate verification
      --user string                 username[:password] for authentication
      --password string             password for authentication (if this option is used, --user option shouldn't include password)
`,
};

function logLine(io: Io, msg: string, fields: Record<string, unknown>): void {
  io.err(`${new Date().toISOString()}\tinfo\tsnapshot\t${msg}\t${JSON.stringify(fields)}\n`);
}

/**
 * The flags of a subcommand (each also takes --write-out/-w and --help/-h) and its one file argument;
 * an exit code instead after --help (0) or without exactly one argument (128, with etcdctl's `countError`).
 */
function parseCommand(
  args: string[],
  io: Io,
  spec: Record<string, FlagKind>,
  usage: string,
  countError: string,
): { flags: Map<string, string | boolean>; file: string } | number {
  const { flags, positional } = parseFlags(
    args,
    { ...spec, 'write-out': 'string', help: 'bool' },
    { w: 'write-out', h: 'help' },
  );
  if (flags.get('help')) {
    io.out(usage);
    return 0;
  }
  if (positional.length !== 1) {
    io.err(`Error: ${countError}\n`);
    return 128;
  }
  return { flags, file: positional[0]! };
}

async function restoreCmd(args: string[], io: Io): Promise<number> {
  const spec: Record<string, FlagKind> = {
    'data-dir': 'string',
    'wal-dir': 'string',
    name: 'string',
    'initial-cluster': 'string',
    'initial-cluster-token': 'string',
    'initial-advertise-peer-urls': 'string',
    'skip-hash-check': 'bool',
  };
  const cmd = parseCommand(args, io, spec, USAGE.restore, 'snapshot restore requires exactly one argument');
  if (typeof cmd === 'number') return cmd;
  const { flags, file } = cmd;
  const dataDir = flags.get('data-dir') as string | undefined;
  if (!dataDir) {
    io.err('Error: required flag(s) "data-dir" not set\n');
    return 1;
  }
  const str = (k: string) => flags.get(k) as string | undefined;
  await restoreSnapshot(
    {
      file,
      dataDir,
      ...(str('wal-dir') ? { walDir: str('wal-dir')! } : {}),
      ...(str('name') !== undefined ? { name: str('name')! } : {}),
      ...(str('initial-cluster') !== undefined ? { initialCluster: str('initial-cluster')! } : {}),
      ...(str('initial-cluster-token') !== undefined ? { initialClusterToken: str('initial-cluster-token')! } : {}),
      ...(str('initial-advertise-peer-urls') !== undefined
        ? { initialAdvertisePeerUrls: str('initial-advertise-peer-urls')! }
        : {}),
      skipHashCheck: flags.get('skip-hash-check') === true,
    },
    { info: (msg, fields) => logLine(io, msg, fields) },
  );
  return 0;
}

function statusCmd(args: string[], io: Io): number {
  const cmd = parseCommand(args, io, {}, USAGE.status, 'snapshot status requires exactly one argument');
  if (typeof cmd === 'number') return cmd;
  const { flags, file } = cmd;
  const format = (flags.get('write-out') as string | undefined) ?? 'simple';
  if (format === 'protobuf') {
    io.err('Error: protobuf not supported as output format\n');
    return 4;
  }
  if (!['simple', 'table', 'json', 'fields'].includes(format)) {
    io.err('Error: unsupported output format\n');
    return 4;
  }
  if (!existsSync(file)) {
    io.err(`Error: stat ${file}: no such file or directory\n`);
    return 1;
  }
  io.out(formatStatus(snapshotStatus(file), format as StatusFormat));
  return 0;
}

async function saveCmd(args: string[], io: Io): Promise<number> {
  const spec: Record<string, FlagKind> = {
    endpoints: 'string',
    cacert: 'string',
    cert: 'string',
    key: 'string',
    'insecure-skip-tls-verify': 'bool',
    user: 'string',
    password: 'string',
  };
  const cmd = parseCommand(args, io, spec, USAGE.save, 'snapshot save expects one argument');
  if (typeof cmd === 'number') return cmd;
  const { flags, file } = cmd;
  const endpoints = ((flags.get('endpoints') as string | undefined) ?? '127.0.0.1:2379').split(',').filter(Boolean);
  if (endpoints.length !== 1) {
    io.err(`Error: snapshot must be requested to one selected node, not multiple [${endpoints.join(' ')}]\n`);
    return 1;
  }
  const str = (k: string) => flags.get(k) as string | undefined;
  const secure = str('cacert') || str('cert') || flags.get('insecure-skip-tls-verify') === true;
  const tls = secure
    ? {
        ...(str('cacert') ? { ca: readFileSync(str('cacert')!) } : {}),
        ...(str('cert') ? { cert: readFileSync(str('cert')!) } : {}),
        ...(str('key') ? { key: readFileSync(str('key')!) } : {}),
        insecureSkipVerify: flags.get('insecure-skip-tls-verify') === true,
      }
    : undefined;
  let user: { name: string; password: string } | undefined;
  const u = str('user');
  if (u !== undefined) {
    const colon = u.indexOf(':');
    user =
      str('password') !== undefined
        ? { name: u, password: str('password')! }
        : colon >= 0
          ? { name: u.slice(0, colon), password: u.slice(colon + 1) }
          : { name: u, password: '' };
  }
  logLine(io, 'fetching snapshot', { endpoint: endpoints[0] });
  const size = await saveSnapshot({
    endpoint: endpoints[0]!,
    file,
    ...(tls ? { tls } : {}),
    ...(user ? { user } : {}),
  });
  logLine(io, 'saved', { path: file, size });
  io.out(`Snapshot saved at ${file}\n`);
  return 0;
}

/** Runs `conclave snapshot <args>`; returns the process exit code. */
export async function snapshotCommand(args: string[], io: Io = stdio): Promise<number> {
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case 'restore':
        return await restoreCmd(rest, io);
      case 'status':
        return statusCmd(rest, io);
      case 'save':
        return await saveCmd(rest, io);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.out(USAGE.snapshot);
        return 0;
      default:
        io.err(`Error: unknown command "${sub}" for "conclave snapshot"\n`);
        return 1;
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`Error: ${e.message}\n${sub && sub in USAGE ? USAGE[sub as keyof typeof USAGE] : USAGE.snapshot}`);
      return 1;
    }
    const msg = e instanceof RestoreError || e instanceof Error ? e.message : String(e);
    io.err(`Error: ${msg}\n`);
    return 1;
  }
}
