#!/usr/bin/env node
// The `conclave` binary. It sets V8 flags first and only then loads the server (cli-main.ts), so
// that every function of the server is created under them.
//
// V8 optimizes a function once it has run a budget of bytecode (67,584 bytes by default). A
// server's request path is a few hundred small functions that each run for microseconds, so with
// the default a fresh member spends its first seconds interpreting them while compiling: on a
// 3-member cluster the first 20,000 puts ran at 7.5-7.8k ops/s and the next 20,000 at 12.4-13.0k.
// With a budget of 4,096 they ran at 8.2-8.4k and 13.2-14.0k (docs/benchmarks.md).

import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--interrupt-budget=4096');
await import('./cli-main.js');
