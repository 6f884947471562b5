// The texts of `conclave -h`: etcd prints a short usage block on stderr (also after any flag
// syntax error) and the flag list on stdout. Both mirror etcd 3.4's, with "conclave" where etcd
// names itself, Conclave's defaults, and a note under each flag Conclave does not support.

import { FLAGS, type HelpGroup } from './flags.js';

/** The usage block (etcd's `usageline`), ending with a newline. */
export function usageText(): string {
  return `Usage:

  conclave [flags]
    Start a conclave server.

  conclave --version
    Show the version of conclave.

  conclave -h | --help
    Show the help information about conclave.

  conclave --config-file
    Path to the server configuration file. Note that if a configuration file is provided, other command line flags and environment variables will be ignored.
`;
}

/** Note added under the help of flags Conclave accepts only with their default value. */
export const NOT_SUPPORTED_NOTE = '(not supported by conclave yet: accepted only with its default value)';

const SECTIONS: ReadonlyArray<{ group: HelpGroup; header: string }> = [
  { group: 'Member', header: '\nMember:\n' },
  { group: 'Clustering', header: '\nClustering:\n' },
  { group: 'Security', header: '\nSecurity:\n' },
  { group: 'Auth', header: '\nAuth:\n' },
  { group: 'Profiling and Monitoring', header: '\nProfiling and Monitoring:\n' },
  { group: 'Logging', header: '\nLogging:\n' },
  { group: 'v2 Proxy (to be deprecated in v4)', header: '\nv2 Proxy (to be deprecated in v4):\n' },
  { group: 'Experimental feature', header: '\nExperimental feature:\n' },
  { group: 'Unsafe feature', header: '\nUnsafe feature:\n' },
  {
    group: 'TO BE DEPRECATED',
    header:
      '\nCAUTIOUS with unsafe flag! It may break the guarantees given by the consensus protocol!\n\nTO BE DEPRECATED:\n\n',
  },
];

/** The flag list (etcd's `flagsline`), ending with a newline. */
export function flagsText(): string {
  let out = '';
  for (const { group, header } of SECTIONS) {
    out += header;
    for (const spec of FLAGS) {
      if (spec.group !== group) continue;
      out += `  --${spec.name} ${spec.helpDefault}\n`;
      for (const line of spec.help.split('\n')) out += `    ${line}\n`;
      if (!spec.implemented) out += `    ${NOT_SUPPORTED_NOTE}\n`;
    }
  }
  return out;
}

/** Prints what `conclave -h` prints: the usage block on stderr, the flag list on stdout. */
export function printUsage(
  out: { stdout: (s: string) => void; stderr: (s: string) => void } = {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  },
): void {
  out.stderr(`${usageText()}\n`);
  out.stdout(`${flagsText()}\n`);
}
