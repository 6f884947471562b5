// A histogram whose observations are counted by the caller into plain arrays (a bucket search and
// three number updates: cheap enough for a per-request path) and handed to prom-client, which writes
// the exposition, at scrape time.

import { Histogram, type Registry } from 'prom-client';
import { type Labels, sortedLabels } from './scrape.js';

/** One labelled series: observe() is all the hot path calls. */
export class CountedSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    if (i < b.length) this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

type HistogramValues = Awaited<ReturnType<Histogram<string>['get']>>;

export class CountedHistogram extends Histogram<string> {
  private readonly all = new Map<string, CountedSeries>();

  constructor(
    r: Registry,
    private readonly family: string,
    private readonly helpText: string,
    labelNames: string[],
    private readonly bounds: number[],
  ) {
    super({ name: family, help: helpText, labelNames, buckets: bounds, registers: [r] });
  }

  /** The series of `labels` (created at 0 on first use; the same object afterwards). */
  series(labels: Labels): CountedSeries {
    const l = sortedLabels(labels);
    const key = JSON.stringify(l);
    let s = this.all.get(key);
    if (!s) this.all.set(key, (s = new CountedSeries(l, this.bounds)));
    return s;
  }

  override async get(): Promise<HistogramValues> {
    const values: HistogramValues['values'] = [];
    const bucket = `${this.family}_bucket`;
    for (const s of this.all.values()) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ metricName: bucket, labels: { ...s.labels, le: this.bounds[i]! }, value: acc });
      }
      values.push({ metricName: bucket, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${this.family}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.family}_count`, labels: s.labels, value: s.count });
    }
    return {
      name: this.family,
      help: this.helpText,
      type: 'histogram',
      values,
      aggregator: 'sum',
    } as unknown as HistogramValues;
  }

  /** What the registry reads when it writes the text format (prom-client's Histogram has its own). */
  async getForPromString(): Promise<HistogramValues> {
    return this.get();
  }
}
