// Observability hooks: a logger (pino's call shape, silent unless given) for what a client does on
// its own — retries, failovers, endpoint health changes, late lease renewals — and optional
// OpenTelemetry: a span per unary RPC and histograms (the recipes' lock wait and hold time, lease
// keep-alive round trip and lateness, watch lag). The OpenTelemetry types are described here by
// their shape, so the declarations need no @opentelemetry/api; `openTelemetry: true` loads that
// package (an optional peer dependency) only when asked.

import { createRequire } from 'node:module';

/** The logger shape the client calls: pino's (`logger.warn({ endpoint }, 'endpoint down')`); console fits too. */
export interface Logger {
  /** Detail: a retry. */
  debug(obj: object, msg?: string): void;
  /** Routine: a failover, an endpoint back up, a stream reopened. */
  info(obj: object, msg?: string): void;
  /** Worth a look: an endpoint down, a lease renewal late. */
  warn(obj: object, msg?: string): void;
  /** Not used by the client yet; part of the shape. */
  error(obj: object, msg?: string): void;
}

/** Attribute values of spans and metrics. */
export type Attributes = Record<string, string | number | boolean>;

/** The part of an OpenTelemetry `Span` the client uses. */
export interface OtelSpan {
  /** Sets an attribute of the span. */
  setAttribute(key: string, value: string | number | boolean): unknown;
  /** Sets the span's status (code 2: error). */
  setStatus(status: { code: number; message?: string }): unknown;
  /** Records an error on the span. */
  recordException(exception: Error): unknown;
  /** Ends the span. */
  end(): void;
}

/** The part of an OpenTelemetry `Tracer` the client uses (`trace.getTracer(...)` is one). */
export interface OtelTracer {
  /** Starts a span (kind 2: client). */
  startSpan(name: string, options?: { kind?: number; attributes?: Attributes }): OtelSpan;
}

/** The part of an OpenTelemetry `Histogram` the client uses. */
export interface OtelHistogram {
  /** Records one value. */
  record(value: number, attributes?: Attributes): void;
}

/** The part of an OpenTelemetry `Meter` the client uses (`metrics.getMeter(...)` is one). */
export interface OtelMeter {
  /** Creates a histogram. */
  createHistogram(name: string, options?: { unit?: string; description?: string }): OtelHistogram;
}

/**
 * OpenTelemetry for a client: `true` takes the global tracer and meter of `@opentelemetry/api`
 * (install it; it is an optional peer dependency), or pass a tracer and/or meter.
 */
export type OpenTelemetryOptions = boolean | { tracer?: OtelTracer; meter?: OtelMeter };

/** Histograms the client and the recipes record (name → unit, description). */
export const HISTOGRAMS = {
  'conclave.lock.wait': ['ms', 'Time a lock, read/write hold, permit or leadership was waited for'],
  'conclave.lock.hold': ['ms', 'Time a lock, read/write hold, permit or leadership was held'],
  'conclave.lease.keepalive.rtt': ['ms', 'Round trip of a lease renewal on the keep-alive stream'],
  'conclave.lease.keepalive.lateness': ['ms', 'How much later than due (TTL/3 after the last one) a renewal succeeded'],
  'conclave.watch.lag': ['{revision}', 'Revisions between the store and the last event of a delivered watch batch'],
} as const;

export type HistogramName = keyof typeof HISTOGRAMS;

/** The default logger: says nothing. */
export const SILENT_LOGGER: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const VERSION = '0.1.0';

/** SpanKind.CLIENT and SpanStatusCode.ERROR of @opentelemetry/api. */
export const SPAN_KIND_CLIENT = 2;
export const SPAN_STATUS_ERROR = 2;

function globalOtel(): { tracer: OtelTracer; meter: OtelMeter } {
  let api: {
    trace: { getTracer(name: string, version?: string): OtelTracer };
    metrics: { getMeter(name: string, version?: string): OtelMeter };
  };
  try {
    api = createRequire(import.meta.url)('@opentelemetry/api');
  } catch {
    throw new TypeError(
      'Client: options.openTelemetry true needs @opentelemetry/api (npm install @opentelemetry/api), or pass { tracer, meter }',
    );
  }
  return {
    tracer: api.trace.getTracer('@conclave/client', VERSION),
    meter: api.metrics.getMeter('@conclave/client', VERSION),
  };
}

/** A client's logger, tracer and histograms. */
export class Telemetry {
  readonly logger: Logger;
  readonly tracer: OtelTracer | undefined;
  private readonly meter: OtelMeter | undefined;
  private readonly histograms = new Map<HistogramName, OtelHistogram>();

  constructor(logger: Logger | undefined, otel: OpenTelemetryOptions | undefined) {
    this.logger = logger ?? SILENT_LOGGER;
    const o = otel === true ? globalOtel() : otel || {};
    this.tracer = o.tracer;
    this.meter = o.meter;
  }

  /** Whether metrics are recorded (skip measuring otherwise). */
  get measuring(): boolean {
    return this.meter !== undefined;
  }

  /** Records a value in one of the client's histograms (nothing without a meter). */
  record(name: HistogramName, value: number, attributes?: Attributes): void {
    if (!this.meter) return;
    let h = this.histograms.get(name);
    if (!h) {
      const [unit, description] = HISTOGRAMS[name];
      h = this.meter.createHistogram(name, { unit, description });
      this.histograms.set(name, h);
    }
    h.record(value, attributes);
  }
}
