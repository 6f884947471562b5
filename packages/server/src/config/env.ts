// ETCD_* environment variables, as etcd's pkg/flags.SetFlagsFromEnv applies them: every flag not
// given on the command line is read from ETCD_<NAME> (upper case, "-" → "_") when that variable is
// non-empty; a variable for a flag that *was* given on the command line is a fatal conflict;
// other ETCD_* variables are reported as unrecognized.

import { goQuote } from '../log/index.js';
import { convertFlagValue, type Assignment } from './argv.js';
import { FLAGS, flagEnvName, type FlagValue } from './flags.js';
import type { ConfigNotice } from './types.js';

export interface EnvOutcome {
  readonly assignments: Assignment[];
  readonly notices: ConfigNotice[];
  /** The last invalid value met (etcd reports the last one), as "invalid value "x" for ETCD_Y: parse error". */
  readonly error?: string;
  /** A variable shadowed by a command-line flag (etcd exits on the first one). */
  readonly conflict?: string;
}

export function applyEnv(
  env: Readonly<Record<string, string | undefined>>,
  setOnCommandLine: ReadonlySet<string>,
  current: (name: string) => FlagValue,
): EnvOutcome {
  const assignments: Assignment[] = [];
  const notices: ConfigNotice[] = [];
  const used = new Set<string>();
  const shadowed = new Set([...setOnCommandLine].map(flagEnvName));
  let error: string | undefined;
  const byName = [...FLAGS].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const spec of byName) {
    if (setOnCommandLine.has(spec.name)) continue;
    const key = flagEnvName(spec.name);
    const val = env[key];
    if (val === undefined || val === '') continue;
    used.add(key);
    const r = convertFlagValue(spec, val, current(spec.name));
    if ('error' in r) {
      error = `invalid value ${goQuote(val)} for ${key}: ${r.error}`;
      continue;
    }
    if (spec.kind === 'ignored') notices.push(ignoredFlagNotice(spec.name));
    assignments.push({ spec, raw: val, value: r.value });
    notices.push({ level: 'info', msg: `recognized and used environment variable ${key}=${val}` });
  }
  for (const [key, val] of Object.entries(env)) {
    if (val === undefined || used.has(key)) continue;
    if (shadowed.has(key)) return { assignments, notices, ...(error === undefined ? {} : { error }), conflict: key };
    if (key.startsWith('ETCD_'))
      notices.push({ level: 'warn', msg: `unrecognized environment variable ${key}=${val}` });
  }
  return { assignments, notices, ...(error === undefined ? {} : { error }) };
}

/** What etcd logs when a legacy flag is set. */
export function ignoredFlagNotice(name: string): ConfigNotice {
  return { level: 'warn', msg: `flag "-${name}" is no longer supported - ignoring.` };
}
