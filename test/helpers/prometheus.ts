// Reading Prometheus' text exposition in tests: families (name, type, the label names of their
// series) and samples, and matching a PromQL vector selector (name{label="v",label=~"re"}) against
// the samples. Labels Prometheus adds itself when scraping (job, instance, ...) are ignored.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  /** Label names seen on the family's samples (le and quantile excluded), sorted. */
  labels: string[];
}

export interface Exposition {
  families: Map<string, Family>;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const labelSets = new Map<string, Set<string>>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
      labelSets.set(name!, new Set());
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
    let family = m[1]!;
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = family.slice(0, -suffix.length);
      if (family.endsWith(suffix) && ['histogram', 'summary'].includes(types.get(base) ?? '')) family = base;
    }
    const set = labelSets.get(family) ?? new Set<string>();
    labelSets.set(family, set);
    for (const k of Object.keys(labels)) if (k !== 'le' && k !== 'quantile') set.add(k);
  }
  const families = new Map<string, Family>();
  for (const [name, type] of types) families.set(name, { name, type, labels: [...(labelSets.get(name) ?? [])].sort() });
  return { families, samples };
}

/** Labels a Prometheus server attaches to scraped series: a selector on them says nothing about the target. */
const TARGET_LABELS = new Set(['job', 'instance', 'cluster', 'namespace', 'pod', 'endpoint']);

export interface Selector {
  name: string;
  matchers: Array<{ label: string; op: '=' | '!=' | '=~' | '!~'; value: string }>;
}

/**
 * The vector selectors of a PromQL expression: every `metric{matchers}` in it (the queries this is
 * used on always give a selector in braces, at least the job).
 */
export function selectorsOf(expr: string): Selector[] {
  const out: Selector[] = [];
  for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)) {
    const matchers: Selector['matchers'] = [];
    for (const l of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g))
      matchers.push({ label: l[1]!, op: l[2] as Selector['matchers'][number]['op'], value: l[3]! });
    out.push({ name: m[1]!, matchers });
  }
  return out;
}

/** Samples of `samples` that the selector finds (target labels ignored). */
export function select(samples: readonly Sample[], sel: Selector): Sample[] {
  return samples.filter((s) => {
    if (s.name !== sel.name) return false;
    for (const m of sel.matchers) {
      if (TARGET_LABELS.has(m.label)) continue;
      const v = s.labels[m.label] ?? '';
      const re = new RegExp(`^(?:${m.value})$`);
      const ok =
        m.op === '=' ? v === m.value : m.op === '!=' ? v !== m.value : m.op === '=~' ? re.test(v) : !re.test(v);
      if (!ok) return false;
    }
    return true;
  });
}
