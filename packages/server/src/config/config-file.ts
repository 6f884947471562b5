// --config-file: etcd's YAML configuration (keys are flag names; TLS settings are nested under
// client-transport-security / peer-transport-security). Values are typed as etcd's Go struct
// types them, with etcd's errors: `election-timeout: "100"` is a string where etcd wants a uint,
// durations are integers in nanoseconds, URL lists are comma-separated strings, log-outputs is a list.
// Unknown keys are ignored (etcd's YAML decoding is not strict); Conclave reports them as warnings.

import { readFileSync } from 'node:fs';
import { FLAGS, type FlagSpec, type FlagValue } from './flags.js';
import { parseUrlList } from './go-values.js';
import { parseYaml, YamlError, type YamlValue } from './yaml.js';

const CLIENT_SECURITY: Readonly<Record<string, string>> = {
  'cert-file': 'cert-file',
  'key-file': 'key-file',
  'client-cert-auth': 'client-cert-auth',
  'trusted-ca-file': 'trusted-ca-file',
  'auto-tls': 'auto-tls',
};

const PEER_SECURITY: Readonly<Record<string, string>> = {
  'cert-file': 'peer-cert-file',
  'key-file': 'peer-key-file',
  'client-cert-auth': 'peer-client-cert-auth',
  'trusted-ca-file': 'peer-trusted-ca-file',
  'auto-tls': 'peer-auto-tls',
  // etcd 3.5's spelling (a list there); Conclave takes a single CN here too.
  'allowed-cn': 'peer-cert-allowed-cn',
};

const BY_YAML_KEY = new Map(FLAGS.filter((s) => s.yaml !== '').map((s) => [s.yaml, s]));
const BY_NAME = new Map(FLAGS.map((s) => [s.name, s]));

export interface FileSettings {
  /** Flag values set by the file (null values leave the default, as in etcd). */
  readonly values: Map<string, FlagValue>;
  /** Keys Conclave does not know (etcd ignores them silently). */
  readonly unknownKeys: string[];
}

/** A config-file problem: `message` is etcd's error text; `plain` ones etcd prints bare and exits 1. */
export class ConfigFileError extends Error {
  constructor(
    message: string,
    readonly plain = false,
  ) {
    super(message);
  }
}

function jsonKind(v: YamlValue): string {
  if (typeof v === 'number' || typeof v === 'bigint') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  return Array.isArray(v) ? 'array' : 'object';
}

const RANGES: Readonly<Record<string, [bigint, bigint]>> = {
  uint: [0n, 2n ** 64n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int: [-(2n ** 63n), 2n ** 63n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  duration: [-(2n ** 63n), 2n ** 63n - 1n],
};

function convert(spec: FlagSpec, key: string, v: YamlValue): FlagValue {
  const mismatch = (detail = jsonKind(v)): ConfigFileError =>
    new ConfigFileError(
      `error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${detail} into Go struct field configYAML.${key} of type ${spec.goType}`,
    );
  switch (spec.kind) {
    case 'string':
    case 'enum':
      if (typeof v !== 'string') throw mismatch();
      if (spec.kind === 'enum' && !spec.values?.includes(v)) {
        if (spec.name === 'initial-cluster-state') return v; // etcd's validation reports it
        throw new ConfigFileError(`unexpected error setting up ${spec.name} flag: invalid value`, true);
      }
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw mismatch();
      return v;
    case 'uint':
    case 'uint64':
    case 'uint32':
    case 'int':
    case 'int64':
    case 'duration': {
      if (typeof v !== 'number' && typeof v !== 'bigint') throw mismatch();
      const [lo, hi] = RANGES[spec.kind] ?? [0n, 0n];
      if (typeof v === 'number' && !Number.isInteger(v)) throw mismatch(`number ${v}`);
      const big = BigInt(v);
      if (big < lo || big > hi) throw mismatch(`number ${v}`);
      return spec.kind === 'duration' ? Number(big) / 1e6 : Number(big);
    }
    case 'urls':
    case 'cors':
      if (typeof v !== 'string') throw mismatch();
      if (v === '' || (spec.kind === 'cors' && v === '*')) return spec.kind === 'cors' ? ['*'] : [];
      try {
        return parseUrlList(v);
      } catch (e) {
        const which = spec.name === 'advertise-client-urls' ? 'advertise-peer-urls' : spec.name;
        throw new ConfigFileError(`unexpected error setting up ${which}: ${(e as Error).message}`, true);
      }
    case 'unique-strings':
      if (spec.yaml === 'host-whitelist') {
        if (typeof v !== 'string') throw mismatch();
        return [...new Set(v.split(','))].sort();
      }
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw mismatch();
      return v as string[];
    case 'strings':
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw mismatch();
      return v as string[];
    case 'ignored':
      return true;
  }
}

function readSection(doc: YamlValue, section: string, map: Readonly<Record<string, string>>, out: FileSettings): void {
  if (doc === null) return;
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigFileError(
      `error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${jsonKind(doc)} into Go struct field configYAML.${section} of type embed.securityConfig`,
    );
  }
  for (const [k, v] of Object.entries(doc)) {
    const name = map[k];
    const spec = name === undefined ? undefined : BY_NAME.get(name);
    if (spec === undefined) {
      out.unknownKeys.push(`${section}.${k}`);
      continue;
    }
    if (v !== null) out.values.set(spec.name, convert(spec, `${section}.${k}`, v));
  }
}

/** Reads and types a configuration file; throws ConfigFileError with etcd's wording. */
export function readConfigFile(
  path: string,
  read: (path: string) => string | Uint8Array = (p) => readFileSync(p),
): FileSettings {
  let text: string | Uint8Array;
  try {
    text = read(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file or directory'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : (e as Error).message;
    throw new ConfigFileError(code === 'EISDIR' ? `read ${path}: ${why}` : `open ${path}: ${why}`);
  }
  let doc: Record<string, YamlValue>;
  try {
    doc = parseYaml(text);
  } catch (e) {
    if (e instanceof YamlError) throw new ConfigFileError(`error converting YAML to JSON: ${e.message}`);
    throw e;
  }
  const out: FileSettings = { values: new Map(), unknownKeys: [] };
  for (const [key, v] of Object.entries(doc)) {
    if (key === 'client-transport-security') readSection(v, key, CLIENT_SECURITY, out);
    else if (key === 'peer-transport-security') readSection(v, key, PEER_SECURITY, out);
    else {
      const spec = BY_YAML_KEY.get(key);
      if (spec === undefined) out.unknownKeys.push(key);
      else if (v !== null) out.values.set(spec.name, convert(spec, key, v));
    }
  }
  return out;
}
