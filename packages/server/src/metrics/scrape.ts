// Building blocks for families whose values are read at scrape time. The serving path keeps plain
// numbers on objects it owns (a field increment is the whole cost of counting); prom-client asks for
// the current values through each family's collect() when /metrics is scraped.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type Labels = Record<string, string>;

/**
 * The labels with their names in order: prom-client writes them in the object's order, Prometheus' Go
 * client sorted, and tools match etcd's lines as text (etcd's own e2e test does).
 */
export function sortedLabels(labels: Labels): Labels {
  const out: Labels = {};
  for (const k of Object.keys(labels).sort()) out[k] = labels[k]!;
  return out;
}

/** A counter family without labels whose value is `read()` at scrape time. */
export function scrapedCounter(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** A gauge family without labels whose value is `read()` at scrape time. */
export function scrapedGauge(registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** A labelled counter family whose series are listed by `read()` at scrape time (absent until listed). */
export function scrapedCounterVec(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: () => Iterable<[Labels, number]>,
): Counter {
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of read()) this.inc(sortedLabels(labels), v);
    },
  });
}

/** A labelled gauge family whose series are listed by `read()` at scrape time. */
export function scrapedGaugeVec(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: () => Iterable<[Labels, number]>,
): Gauge {
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of read()) this.set(sortedLabels(labels), v);
    },
  });
}

/** `count` buckets start, start·factor, start·factor², … (Prometheus' ExponentialBuckets). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0, b = start; i < count; i++, b *= factor) out.push(b);
  return out;
}

/** A histogram family without labels, observed directly on the path it measures. */
export function histogram(registry: Registry, name: string, help: string, buckets: number[]): Histogram {
  return new Histogram({ name, help, buckets, registers: [registry] });
}
