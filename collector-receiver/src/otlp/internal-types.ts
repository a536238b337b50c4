/**
 * OTLP wire shapes that BOTH encodings satisfy, so translation is written once (like
 * `@opentelemetry/otlp-transformer`'s internal-types.ts, read side):
 *
 * - protobuf, decoded by the protobufjs code in `collector-receiver/generated/`: ids are Uint8Array,
 *   64-bit integers are Long objects ({ low, high, unsigned }) or numbers, absent fields read as
 *   proto3 defaults (0, '', empty arrays) or null for messages and `optional` scalars;
 * - OTLP/JSON after `JSON.parse`: lowerCamelCase keys, trace/span ids as hex strings, 64-bit
 *   integers as decimal strings or numbers, enums as integers, doubles as numbers or the strings
 *   'NaN' / 'Infinity' / '-Infinity', `bytes` as base64 strings, and anything may be missing.
 *
 * Every field is optional and nullable because JSON senders may omit anything; translation checks
 * types at run time (JSON is untrusted) and names the offending field when a value is wrong.
 */

/** A uint64/int64/fixed64 as it arrives: Long from protobuf, decimal string or number from JSON. */
export type Int64Value = number | string | LongLike | null | undefined;

/** protobufjs decodes 64-bit integers into `long` instances; only these fields are read. */
export interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

/** A double: JSON may spell non-finite values as strings. */
export type DoubleValue = number | string | null | undefined;

/** `bytes` ids: Uint8Array from protobuf, hex string from OTLP/JSON. */
export type IdValue = Uint8Array | string | null | undefined;

export interface IAnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: Int64Value;
  doubleValue?: DoubleValue;
  arrayValue?: IArrayValue | null;
  kvlistValue?: IKeyValueList | null;
  /** Uint8Array from protobuf, base64 string from JSON. */
  bytesValue?: Uint8Array | string | null;
}

export interface IArrayValue {
  values?: IAnyValue[] | null;
}

export interface IKeyValueList {
  values?: IKeyValue[] | null;
}

export interface IKeyValue {
  key?: string | null;
  value?: IAnyValue | null;
}

export interface IResource {
  attributes?: IKeyValue[] | null;
}

export interface IInstrumentationScope {
  name?: string | null;
  version?: string | null;
  attributes?: IKeyValue[] | null;
}

// ---- traces ---------------------------------------------------------------------------------

/** Span.SpanKind: SPAN_KIND_SERVER. JSON carries enums as integers. */
export const SPAN_KIND_SERVER = 2;

export interface ISpan {
  traceId?: IdValue;
  spanId?: IdValue;
  parentSpanId?: IdValue;
  name?: string | null;
  /** Span.SpanKind as an integer (JSON senders sometimes spell the enum name; both accepted). */
  kind?: number | string | null;
  startTimeUnixNano?: Int64Value;
  endTimeUnixNano?: Int64Value;
  attributes?: IKeyValue[] | null;
}

export interface IScopeSpans {
  scope?: IInstrumentationScope | null;
  spans?: ISpan[] | null;
}

export interface IResourceSpans {
  resource?: IResource | null;
  scopeSpans?: IScopeSpans[] | null;
}

export interface IExportTraceServiceRequest {
  resourceSpans?: IResourceSpans[] | null;
}

// ---- metrics --------------------------------------------------------------------------------

/** AggregationTemporality values. */
export const AGGREGATION_TEMPORALITY_DELTA = 1;
export const AGGREGATION_TEMPORALITY_CUMULATIVE = 2;

/** DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK: a staleness marker, not a value. */
export const DATA_POINT_FLAGS_NO_RECORDED_VALUE = 1;

export interface IHistogramDataPoint {
  attributes?: IKeyValue[] | null;
  startTimeUnixNano?: Int64Value;
  timeUnixNano?: Int64Value;
  count?: Int64Value;
  sum?: DoubleValue;
  bucketCounts?: Int64Value[] | null;
  explicitBounds?: DoubleValue[] | null;
  flags?: number | null;
  min?: DoubleValue;
  max?: DoubleValue;
}

export interface IBuckets {
  offset?: number | null;
  bucketCounts?: Int64Value[] | null;
}

export interface IExponentialHistogramDataPoint {
  attributes?: IKeyValue[] | null;
  startTimeUnixNano?: Int64Value;
  timeUnixNano?: Int64Value;
  count?: Int64Value;
  sum?: DoubleValue;
  scale?: number | null;
  zeroCount?: Int64Value;
  positive?: IBuckets | null;
  negative?: IBuckets | null;
  flags?: number | null;
  min?: DoubleValue;
  max?: DoubleValue;
  zeroThreshold?: DoubleValue;
}

export interface IHistogram {
  dataPoints?: IHistogramDataPoint[] | null;
  aggregationTemporality?: number | string | null;
}

export interface IExponentialHistogram {
  dataPoints?: IExponentialHistogramDataPoint[] | null;
  aggregationTemporality?: number | string | null;
}

/** Data kinds the receiver ignores; only their data point counts matter (for messages). */
export interface IOtherData {
  dataPoints?: unknown[] | null;
}

export interface IMetric {
  name?: string | null;
  unit?: string | null;
  gauge?: IOtherData | null;
  sum?: IOtherData | null;
  histogram?: IHistogram | null;
  exponentialHistogram?: IExponentialHistogram | null;
  summary?: IOtherData | null;
}

export interface IScopeMetrics {
  scope?: IInstrumentationScope | null;
  metrics?: IMetric[] | null;
}

export interface IResourceMetrics {
  resource?: IResource | null;
  scopeMetrics?: IScopeMetrics[] | null;
}

export interface IExportMetricsServiceRequest {
  resourceMetrics?: IResourceMetrics[] | null;
}
