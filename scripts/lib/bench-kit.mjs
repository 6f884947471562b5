// What the scripts that drive real members with a Go tool share (bench.mjs, bench-cluster.mjs,
// bench-scale.mjs, lincheck.mjs), besides the members themselves (members.mjs): finding the Go tool,
// parsing the script's command line, the last JSON line a Go tool prints, and a median.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The path of a Go tool built by ../shared/NAME/build.sh into ~/.cache/NAME/NAME (or $ENV_VAR);
 * exits with a hint when it is not there.
 */
export function goTool(name, envVar) {
  const path = process.env[envVar] ?? join(homedir(), `.cache/${name}/${name}`);
  if (!existsSync(path)) {
    console.error(`${name} not found at ${path}: run ../shared/${name}/build.sh (or set ${envVar})`);
    process.exit(1);
  }
  return path;
}

/**
 * The command line as `{ option: value, names: [the other words] }`. `spec` maps each `--option` to
 * its default: a number takes a number, a boolean is a flag (true when given), anything else a string.
 * The value is the next word whatever it starts with (`--node-flags --max-old-space-size=512`), which
 * node:util's parseArgs refuses. Unknown options, a missing value, a value that is not a number, or
 * other words where `names` is false end the script with exit code 2.
 */
export function commandLine(spec, { names = true } = {}) {
  const fail = (msg) => {
    console.error(msg);
    process.exit(2);
  };
  const out = { ...spec, names: [] };
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const key = a.startsWith('--') ? a.slice(2) : null;
    if (key === null && names) out.names.push(a);
    else if (key === null || !Object.hasOwn(spec, key)) fail(`unknown argument ${a}`);
    else if (typeof spec[key] === 'boolean') out[key] = true;
    else if (i + 1 === args.length) fail(`${a} takes a value`);
    else if (typeof spec[key] !== 'number') out[key] = args[++i];
    else {
      const v = args[++i];
      out[key] = Number(v);
      if (v.trim() === '' || !Number.isFinite(out[key])) fail(`${a} takes a number, not ${JSON.stringify(v)}`);
    }
  }
  return out;
}

/** The last line of a Go tool's output, parsed as JSON (etcdbench and lincheck end with their result). */
export function lastJsonLine(stdout) {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** The upper median (the middle of an odd count, the higher middle of an even one). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
