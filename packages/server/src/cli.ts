#!/usr/bin/env node
// The `conclave` binary. It sets V8 flags first and only then loads the server (cli-main.ts), so
// that every function of the server is created under them.
//
// V8 optimizes a function once it has run a budget of bytecode (67,584 bytes by default). A
// server's request path is a few hundred small functions that each run for microseconds, so with
// the default a fresh member spends its first seconds interpreting them while compiling: on a
// 3-member cluster the first 20,000 puts ran at 7.5-7.8k ops/s and the next 20,000 at 12.4-13.0k.
// With a budget of 4,096 they ran at 8.2-8.4k and 13.2-14.0k (docs/benchmarks.md).
//
// V8 lets the old generation grow to up to 4x what survived the last full GC before collecting it
// again. A member's survivors are mostly its key index and Raft log, and under a put load most of the
// rest is short-lived request garbage promoted along the way: after 200,000 puts the old space held
// 146 MB for 47 MB live (RSS 358 MB). Growing by at most 50% gave 72 MB for the same 47 MB and RSS
// 270 MB; load rate 3,120 puts/s against 2,600 in that pair of runs on a shared machine (no cost
// visible at ±20% noise; docs/benchmarks.md, "Where the memory goes"). Flags of
// the process, so only this binary sets them, not startServer() in an embedding application.

import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--interrupt-budget=4096');
setFlagsFromString('--heap-growing-percent=50');
await import('./cli-main.js');
