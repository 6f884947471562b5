#!/usr/bin/env node
// The `conclave` command. npm links a package's bin only if its file exists at install time, so this
// small file is committed (a fresh clone gets node_modules/.bin/conclave from its first npm ci) and
// loads the built CLI, dist/cli.js, whose first import checks the Node version.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('conclave: dist/cli.js is missing: build it first (npm run build in the repository)');
  process.exit(1);
}
await import(cli.href);
