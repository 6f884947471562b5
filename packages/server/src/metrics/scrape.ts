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

/** The series of a family at scrape time: labels and value of each. */
export type Series = () => Iterable<[Labels, number]>;

/** Help texts by family name: etcd's words (or Prometheus' Go client's), one table per module. */
export type HelpTexts = Readonly<Record<string, string>>;

/**
 * Registers families on `registry`, each with its help text from `help`: a family's name must be a
 * key of the table, so none is registered without one. Counters and gauges are read at scrape time
 * (`read()`); histograms are observed on the path they measure.
 */
export function families<H extends HelpTexts>(registry: Registry, help: H) {
  type Name = Extract<keyof H, string>;
  const base = (name: Name) => ({ name, help: help[name] as string, registers: [registry] });
  /** A counter or gauge holding exactly the series `read()` lists (a labelled one's absent until listed). */
  const scraped = <F extends Counter | Gauge>(
    name: Name,
    labelNames: readonly string[],
    read: Series,
    write: (family: F, labels: Labels, v: number) => void,
  ) => ({
    ...base(name),
    labelNames,
    collect(this: F): void {
      this.reset();
      for (const [labels, v] of read()) write(this, sortedLabels(labels), v);
    },
  });
  const inc = (c: Counter, labels: Labels, v: number): void => c.inc(labels, v);
  const set = (g: Gauge, labels: Labels, v: number): void => g.set(labels, v);
  const single =
    (read: () => number): Series =>
    () => [[{}, read()]];
  return {
    counter: (name: Name, read: () => number): Counter => new Counter(scraped(name, [], single(read), inc)),
    gauge: (name: Name, read: () => number): Gauge => new Gauge(scraped(name, [], single(read), set)),
    counterVec: (name: Name, labelNames: readonly string[], read: Series): Counter =>
      new Counter(scraped(name, labelNames, read, inc)),
    gaugeVec: (name: Name, labelNames: readonly string[], read: Series): Gauge =>
      new Gauge(scraped(name, labelNames, read, set)),
    histogram: (name: Name, buckets: number[], labelNames: readonly string[] = []): Histogram =>
      new Histogram({ ...base(name), labelNames, buckets }),
    /** A gauge at 1 whose one series' labels say what is running (etcd_server_version, go_info). */
    info: (name: Name, labels: Labels): void => {
      new Gauge({ ...base(name), labelNames: Object.keys(labels) }).set(labels, 1);
    },
  };
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
