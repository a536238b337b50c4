/**
 * The rows translation produces and the pipeline stores. This file is the contract between
 * `translate/` (pure OTLP → rows) and `pipeline/` + `store/` (aggregate, batch, commit).
 */

/** One SERVER span = one request = one `service_metrics` row. */
export interface RequestRow {
  serviceName: string;
  /** HTTP method, upper case; `_OTHER` when the span carried none. */
  method: string;
  /** Route template (`/users/:id`), or UNMATCHED_ROUTE; never a raw URL. */
  route: string;
  /** HTTP status; 0 when the span carried none. */
  statusCode: number;
  /** end − start, in milliseconds, fractional. */
  responseTimeMs: number;
  callerServiceName: string | null;
  /** Span start as epoch milliseconds (fractional: microsecond precision survives). */
  startUnixMs: number;
  /** 32 lower-case hex characters. */
  traceId: string;
  /** 16 lower-case hex characters. */
  spanId: string;
  /** 16 lower-case hex characters, or null for a root span. */
  parentSpanId: string | null;
}

/** The route value shared by every request that matched no route (404s, scanners). */
export const UNMATCHED_ROUTE = '(unmatched)';

/**
 * A base-2 exponential histogram (OTLP ExponentialHistogramDataPoint), positive range only:
 * durations are never negative. Bucket i covers (base^(offset+i), base^(offset+i+1)] where
 * base = 2^(2^-scale).
 */
export interface ExponentialBuckets {
  kind: 'exponential';
  scale: number;
  zeroCount: number;
  offset: number;
  counts: number[];
}

/** An explicit-bucket histogram (OTLP HistogramDataPoint). counts.length === bounds.length + 1. */
export interface ExplicitBuckets {
  kind: 'explicit';
  bounds: number[];
  counts: number[];
}

export type HistogramBuckets = ExponentialBuckets | ExplicitBuckets;

/**
 * One data point of a server request-duration histogram (`http.server.request.duration` in s,
 * or the older `http.server.duration` in ms), as it arrived: delta or cumulative.
 * The pipeline turns cumulative points into deltas (state kept in the database) and adds deltas
 * into per-minute rollup rows.
 */
export interface DurationPoint {
  serviceName: string;
  /**
   * Stable identity of the stream this point belongs to: a hash of resource attributes, scope,
   * metric name and point attributes. Two points of the same stream share it across exports.
   */
  streamKey: string;
  temporality: 'delta' | 'cumulative';
  /** Nanoseconds since epoch, as decimal strings (uint64 does not fit a JS number exactly). */
  startTimeUnixNano: string;
  timeUnixNano: string;
  method: string;
  route: string;
  statusCode: number;
  callerServiceName: string | null;
  /** Multiply a recorded value by this to get milliseconds: 1000 for unit `s`, 1 for `ms`. */
  unitToMs: number;
  count: number;
  /** Sum of recorded values in the point's own unit; NaN when the source omitted it. */
  sum: number;
  min: number | null;
  max: number | null;
  buckets: HistogramBuckets;
}

/** OTLP Span.SpanKind, spelled in lower case as stored in `spans.kind`. */
export type SpanKindName = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/**
 * One span of any kind = one `spans` row: the pieces of a trace's journey across services
 * (GET /traces/:traceId). SERVER spans are also RequestRows; this row keeps what the journey
 * shows, not the request metrics.
 */
export interface SpanRow {
  serviceName: string;
  /** 32 lower-case hex characters. */
  traceId: string;
  /** 16 lower-case hex characters. */
  spanId: string;
  /** 16 lower-case hex characters, or null for a root span. */
  parentSpanId: string | null;
  /** The span name, NUL-free and at most MAX_SPAN_NAME_CHARS (display only, never a key). */
  name: string;
  kind: SpanKindName;
  /** Span start as epoch milliseconds (fractional: microsecond precision survives). */
  startUnixMs: number;
  /** end − start, in milliseconds, fractional. */
  durationMs: number;
  /** OTLP Status.code: 0 unset, 1 ok, 2 error. */
  statusCode: 0 | 1 | 2;
  /** Status ERROR, or an HTTP status ≥ 500. */
  error: boolean;
  /** HTTP method (upper case, `_OTHER` for unknown ones) when the span carried one, else null. */
  httpMethod: string | null;
  /** `http.route` when the span carried one; UNMATCHED_ROUTE for a SERVER span without one; else null. */
  httpRoute: string | null;
  /** HTTP response status when the span carried one, else null. */
  httpStatusCode: number | null;
}

/** What one OTLP export request translates to. */
export interface IngestBatch {
  requests: RequestRow[];
  durationPoints: DurationPoint[];
  /**
   * projects.id of the key that sent the export (tenancy/service-key.ts assignProject); absent =
   * the default project. Rows of other projects carry service keys as their serviceName.
   */
  projectId?: string;
  /** Every span of a traces export (all kinds, SERVER spans too); empty for metrics. */
  spans: SpanRow[];
}

/** Items of the request that were dropped, reported back as OTLP partial success. */
export interface Rejection {
  /** rejected spans (traces) or data points (metrics) */
  rejected: number;
  /** human-readable reason(s), naming the field that was wrong */
  message: string;
}
