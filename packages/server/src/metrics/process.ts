// The process families Prometheus' Go client exports (process_*, etcd's os_fd_*), read from /proc at
// scrape time as the Go client does, and a small set of Go-runtime families (go_*) with the nearest
// Node.js equivalent, so dashboards and tools written for etcd find them. Go runtime families with no
// counterpart in V8 (mallocs/frees, mspan/mcache, stack allocator...) are left out: see
// docs/metrics.md.

import { readdirSync, readFileSync } from 'node:fs';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';
import { Summary, type Registry } from 'prom-client';
import { families } from './scrape.js';

/** 2^64 - 1 (as a float64, 2^64): what Go reports for an unlimited resource. */
const UNLIMITED = 2 ** 64;

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** A soft limit from /proc/self/limits ("Max open files  1024  4096  files"). */
function softLimit(limits: string | null, name: string): number {
  const line = limits?.split('\n').find((l) => l.startsWith(name));
  const v = line?.slice(name.length).trim().split(/\s+/)[0];
  if (v === undefined) return 0;
  return v === 'unlimited' ? UNLIMITED : Number(v);
}

/** Virtual memory size from /proc/self/stat (field 23, after the parenthesised command name). */
function virtualMemoryBytes(): number {
  const stat = readProc('/proc/self/stat');
  if (!stat) return 0;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[20] ?? 0);
}

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

/** Bytes received and sent over every interface of the process' network namespace (/proc/self/net/dev). */
function networkBytes(): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  const dev = readProc('/proc/self/net/dev');
  for (const line of dev?.split('\n').slice(2) ?? []) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    rx += Number(f[0] ?? 0);
    tx += Number(f[8] ?? 0);
  }
  return { rx, tx };
}

function osThreads(): number {
  const m = /^Threads:\s+(\d+)/m.exec(readProc('/proc/self/status') ?? '');
  return m ? Number(m[1]) : 1;
}

const HELP = {
  process_cpu_seconds_total: 'Total user and system CPU time spent in seconds.',
  process_open_fds: 'Number of open file descriptors.',
  process_max_fds: 'Maximum number of open file descriptors.',
  process_virtual_memory_bytes: 'Virtual memory size in bytes.',
  process_virtual_memory_max_bytes: 'Maximum amount of virtual memory available in bytes.',
  process_resident_memory_bytes: 'Resident memory size in bytes.',
  process_start_time_seconds: 'Start time of the process since unix epoch in seconds.',
  process_network_receive_bytes_total: 'Number of bytes received by the process over the network.',
  process_network_transmit_bytes_total: 'Number of bytes sent by the process over the network.',
  os_fd_used: 'The number of used file descriptors.',
  os_fd_limit: 'The file descriptor limit.',
  go_goroutines: 'Number of goroutines that currently exist (Node.js: active handles and requests of the event loop).',
  go_threads: 'Number of OS threads created.',
  go_sched_gomaxprocs_threads:
    'The number of operating system threads that can execute user-level code simultaneously (Node.js: 1, the event loop).',
  go_info: 'Information about the runtime environment (Node.js version in the version label).',
  go_memstats_alloc_bytes:
    'Number of bytes allocated in heap and currently in use (V8 heap used plus external memory).',
  go_memstats_heap_alloc_bytes: 'Number of heap bytes allocated and currently in use (V8 heap used).',
  go_memstats_heap_inuse_bytes: 'Number of heap bytes that are in use (V8 heap used).',
  go_memstats_heap_idle_bytes: 'Number of heap bytes waiting to be used (V8 heap total minus used).',
  go_memstats_heap_sys_bytes: 'Number of heap bytes obtained from system (V8 heap total).',
  go_memstats_sys_bytes: 'Number of bytes obtained from system (resident set size).',
  go_gc_gomemlimit_bytes: 'Runtime memory limit (V8 heap size limit).',
  go_memstats_last_gc_time_seconds: 'Number of seconds since 1970 of last garbage collection.',
} as const;

type Families = ReturnType<typeof families<typeof HELP>>;

/** Registers the process and Go-runtime-like families on `registry`; returns a function that stops the GC observer. */
export function registerProcessFamilies(registry: Registry): () => void {
  const f = families(registry, HELP);
  const limit = (name: string) => (): number => softLimit(readProc('/proc/self/limits'), name);
  f.counter('process_cpu_seconds_total', () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  });
  f.gauge('process_open_fds', openFds);
  f.gauge('process_max_fds', limit('Max open files'));
  f.gauge('process_virtual_memory_bytes', virtualMemoryBytes);
  f.gauge('process_virtual_memory_max_bytes', limit('Max address space'));
  f.gauge('process_resident_memory_bytes', () => process.memoryUsage.rss());
  f.gauge('process_start_time_seconds', () => performance.timeOrigin / 1000);
  f.counter('process_network_receive_bytes_total', () => networkBytes().rx);
  f.counter('process_network_transmit_bytes_total', () => networkBytes().tx);
  // etcd's own copies of the descriptor counts (etcd refreshes them every 10 minutes; read here at scrape)
  f.gauge('os_fd_used', openFds);
  f.gauge('os_fd_limit', limit('Max open files'));
  return registerRuntimeFamilies(registry, f);
}

function registerRuntimeFamilies(r: Registry, f: Families): () => void {
  f.gauge('go_goroutines', () => process.getActiveResourcesInfo().length);
  f.gauge('go_threads', osThreads);
  f.gauge('go_sched_gomaxprocs_threads', () => 1);
  f.info('go_info', { version: process.version });
  const mem = () => process.memoryUsage();
  f.gauge('go_memstats_alloc_bytes', () => {
    const m = mem();
    return m.heapUsed + m.external;
  });
  f.gauge('go_memstats_heap_alloc_bytes', () => mem().heapUsed);
  f.gauge('go_memstats_heap_inuse_bytes', () => mem().heapUsed);
  f.gauge('go_memstats_heap_idle_bytes', () => {
    const m = mem();
    return m.heapTotal - m.heapUsed;
  });
  f.gauge('go_memstats_heap_sys_bytes', () => mem().heapTotal);
  f.gauge('go_memstats_sys_bytes', () => mem().rss);
  f.gauge('go_gc_gomemlimit_bytes', () => v8.getHeapStatistics().heap_size_limit);
  let lastGc = 0;
  f.gauge('go_memstats_last_gc_time_seconds', () => lastGc);
  const pauses = new Summary({
    name: 'go_gc_duration_seconds',
    help: 'A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.',
    percentiles: [0, 0.25, 0.5, 0.75, 1],
    registers: [r],
  });
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as PerformanceEntry[]) {
      pauses.observe(e.duration / 1000);
      lastGc = (performance.timeOrigin + e.startTime + e.duration) / 1000;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}
