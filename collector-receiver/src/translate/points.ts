/**
 * Metrics → duration points: only server request-duration histograms are kept
 * (`http.server.request.duration`, seconds, and the older `http.server.duration`, milliseconds);
 * every other metric is skipped without counting as rejected. Histogram → explicit buckets,
 * ExponentialHistogram → exponential buckets (positive range only: a count in a negative bucket
 * means a negative duration, so the point is rejected). A malformed point is rejected and counted
 * with a message naming the field; the rest is kept. Pure: `nowMs` is passed in.
 *
 * Worked example: a delta Histogram point with explicitBounds [5, 10], bucketCounts [1, 2, 0],
 * count 3, sum 16 on `http.server.duration` (ms) becomes
 * `{ temporality: 'delta', unitToMs: 1, count: 3, sum: 16, buckets: { kind: 'explicit',
 * bounds: [5, 10], counts: [1, 2, 0] } }`. With bucketCounts [1, 1, 0] it is rejected:
 * "…dataPoints[0].bucketCounts should sum to count 3, instead got 2".
 */
import { hash } from 'node:crypto';
import type {
  IBuckets, IExponentialHistogramDataPoint, IExportMetricsServiceRequest, IHistogramDataPoint, IKeyValue, IMetric,
} from '../otlp/internal-types.js';
import {
  AGGREGATION_TEMPORALITY_CUMULATIVE, AGGREGATION_TEMPORALITY_DELTA, DATA_POINT_FLAGS_NO_RECORDED_VALUE,
} from '../otlp/internal-types.js';
import { httpTextProblem, toHttpAttributes } from './http-attributes.js';
import { RejectionCollector } from './rejections.js';
import type { DurationPoint, HistogramBuckets, Rejection } from './rows.js';
import { arrayField, objectField, serviceNameOf, serviceNameProblem, timeWindowProblem } from './structure.js';
import { canonicalAttributes, describe, toBigInt, toCount, toDouble } from './values.js';

/** Duration metric names → multiplier to milliseconds of their specified unit. */
export const DURATION_METRICS: ReadonlyMap<string, number> = new Map([
  ['http.server.request.duration', 1000], // semconv stable: seconds
  ['http.server.duration', 1], // semconv before 1.23: milliseconds
]);

/** Exponential histogram scales OTLP allows. */
const MIN_SCALE = -10;
const MAX_SCALE = 20;
/** Bucket offsets are sint32 in OTLP. */
const MIN_OFFSET = -(2 ** 31);
const MAX_OFFSET = 2 ** 31 - 1;
/**
 * Most positive buckets one exponential point may carry (the OTel SDK's default maxSize is 160).
 * The writer bounds stored rows further, to 4096, by downscaling (pipeline/histogram/exponential.ts).
 */
const MAX_POINT_BUCKETS = 16_384;
/**
 * Bucket bounds must be doubles: log2 of a positive double lies in (−1075, 1024], so at scale s
 * the bucket indexes (γ^i, γ^(i+1)] of real values lie in [−1075·2^s, 1024·2^s − 1]. Points
 * outside would only widen merges (offsets 2^30 apart at scale 20 are values of 2^1024).
 */
const MIN_LOG2 = -1075;
const MAX_LOG2 = 1024;

export interface DurationPointsResult {
  points: DurationPoint[];
  /** `rejected: 0` when every duration point was kept. */
  rejection: Rejection;
}

type Temporality = DurationPoint['temporality'];

/** What every point of one metric shares. */
interface MetricContext {
  serviceName: string;
  /** canonical resource attributes + scope + metric name: the stream key prefix */
  streamPrefix: string;
  temporality: Temporality;
  unitToMs: number;
  nowMs: number;
}

/**
 * Translates one ExportMetricsServiceRequest (decoded protobuf or parsed OTLP/JSON).
 * Throws LAT_ERR_TRANSLATE_MALFORMED only when a container (resourceMetrics, scopeMetrics,
 * metrics, dataPoints, resource, scope) has the wrong type.
 */
export function toDurationPoints(request: IExportMetricsServiceRequest, nowMs: number): DurationPointsResult {
  const points: DurationPoint[] = [];
  const rejections = new RejectionCollector();
  const resourceMetricsList = arrayField(request.resourceMetrics, () => 'resourceMetrics');
  for (let r = 0; r < resourceMetricsList.length; r++) {
    const resourceMetrics = objectField(resourceMetricsList[r], () => `resourceMetrics[${r}]`);
    if (!resourceMetrics) continue;
    const resource = objectField(resourceMetrics.resource, () => `resourceMetrics[${r}].resource`);
    const serviceName = serviceNameOf(resource);
    let resourceKey: string | undefined; // built lazily: most resources carry no duration metric
    const scopeMetricsList = arrayField(resourceMetrics.scopeMetrics, () => `resourceMetrics[${r}].scopeMetrics`);
    for (let s = 0; s < scopeMetricsList.length; s++) {
      const scopeMetrics = objectField(scopeMetricsList[s], () => `resourceMetrics[${r}].scopeMetrics[${s}]`);
      if (!scopeMetrics) continue;
      const scope = objectField(scopeMetrics.scope, () => `resourceMetrics[${r}].scopeMetrics[${s}].scope`);
      const metrics = arrayField(scopeMetrics.metrics, () => `resourceMetrics[${r}].scopeMetrics[${s}].metrics`);
      for (let m = 0; m < metrics.length; m++) {
        const metricPath = `resourceMetrics[${r}].scopeMetrics[${s}].metrics[${m}]`;
        const metric = objectField(metrics[m], () => metricPath);
        if (!metric || typeof metric.name !== 'string' || !DURATION_METRICS.has(metric.name)) continue;
        resourceKey ??= canonicalAttributes(resource?.attributes);
        const scopeName = typeof scope?.name === 'string' ? scope.name : describe(scope?.name ?? '');
        const streamPrefix = `${resourceKey}\u0000${scopeName}\u0000${metric.name}\u0000`;
        translateMetric(metric, metricPath, { serviceName, streamPrefix, nowMs }, points, rejections);
      }
    }
  }
  return { points, rejection: rejections.toRejection() };
}

function translateMetric(
  metric: IMetric,
  path: string,
  base: { serviceName: string; streamPrefix: string; nowMs: number },
  out: DurationPoint[],
  rejections: RejectionCollector,
): void {
  const histogram = objectField(metric.histogram, () => `${path}.histogram`);
  const exponential = objectField(metric.exponentialHistogram, () => `${path}.exponentialHistogram`);
  const data = histogram ?? exponential;
  const dataName = histogram ? 'histogram' : 'exponentialHistogram';
  if (!data) {
    const other = metric.sum ? 'sum' : metric.gauge ? 'gauge' : metric.summary ? 'summary' : undefined;
    if (other === undefined) return; // a metric without data has no points to reject
    const count = Array.isArray(metric[other]?.dataPoints) ? metric[other]!.dataPoints!.length : 0;
    rejections.add(count, () => `${path} (${String(metric.name)}) should be a histogram or exponentialHistogram, instead got '${other}'`);
    return;
  }
  const dataPoints: Array<IHistogramDataPoint | IExponentialHistogramDataPoint> =
    arrayField<IHistogramDataPoint | IExponentialHistogramDataPoint>(data.dataPoints, () => `${path}.${dataName}.dataPoints`);
  if (dataPoints.length === 0) return;

  const serviceProblem = serviceNameProblem(base.serviceName);
  if (serviceProblem !== undefined) {
    rejections.add(dataPoints.length, () => `${path.slice(0, path.indexOf('.'))}.resource.${serviceProblem}`);
    return;
  }
  const temporality = toTemporality(data.aggregationTemporality);
  if (temporality === undefined) {
    rejections.add(dataPoints.length, () => `${path}.${dataName}.aggregationTemporality should be 1 (delta) or 2 (cumulative), instead got '${describe(data.aggregationTemporality ?? 0)}'`);
    return;
  }
  const unitToMs = toUnitToMs(metric);
  if (typeof unitToMs === 'string') {
    rejections.add(dataPoints.length, () => `${path}.unit ${unitToMs}`);
    return;
  }
  const context: MetricContext = { ...base, temporality, unitToMs };
  for (let p = 0; p < dataPoints.length; p++) {
    const point = objectField(dataPoints[p], () => `${path}.${dataName}.dataPoints[${p}]`);
    if (!point) continue;
    // typeof check: `&` would coerce a hostile JSON object and may throw.
    if (typeof point.flags === 'number' && (point.flags & DATA_POINT_FLAGS_NO_RECORDED_VALUE) !== 0) continue; // staleness marker
    const result = histogram
      ? toExplicitPoint(point as IHistogramDataPoint, context)
      : toExponentialPoint(point as IExponentialHistogramDataPoint, context);
    if (typeof result === 'string') rejections.add(1, () => `${path}.${dataName}.dataPoints[${p}].${result}`);
    else out.push(result);
  }
}

function toTemporality(value: number | string | null | undefined): Temporality | undefined {
  if (value === AGGREGATION_TEMPORALITY_DELTA || value === 'AGGREGATION_TEMPORALITY_DELTA') return 'delta';
  if (value === AGGREGATION_TEMPORALITY_CUMULATIVE || value === 'AGGREGATION_TEMPORALITY_CUMULATIVE') return 'cumulative';
  return undefined;
}

/** The unit decides; an empty unit falls back to the one the metric name specifies. */
function toUnitToMs(metric: IMetric): number | string {
  const unit = metric.unit ?? '';
  if (unit === 's') return 1000;
  if (unit === 'ms') return 1;
  if (unit === '') return DURATION_METRICS.get(metric.name as string) ?? 1;
  return `should be 's' or 'ms', instead got '${describe(unit)}'`;
}

/** The fields both histogram kinds share, checked; or a problem naming the field. */
interface CommonFields {
  start: bigint;
  time: bigint;
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
}

function optionalDuration(value: unknown, field: string): number | null | string {
  if (value === undefined || value === null) return null;
  const number = toDouble(value as string | number);
  if (number === undefined || !Number.isFinite(number) || number < 0) {
    return `${field} should be a finite, non-negative duration, instead got '${describe(value)}'`;
  }
  return number;
}

function toCommonFields(point: IHistogramDataPoint | IExponentialHistogramDataPoint, nowMs: number): CommonFields | string {
  const time = toBigInt(point.timeUnixNano);
  if (time === undefined || time <= 0n) {
    return `timeUnixNano should be a positive integer of nanoseconds, instead got '${describe(point.timeUnixNano)}'`;
  }
  const start = toBigInt(point.startTimeUnixNano);
  if (start === undefined || start < 0n) {
    return `startTimeUnixNano should be an integer of nanoseconds, instead got '${describe(point.startTimeUnixNano)}'`;
  }
  if (start > time) return `startTimeUnixNano should be at or before timeUnixNano ${time}, instead got ${start}`;
  // Only the point's own time is windowed: a cumulative start is the process start, which may be old.
  const timeProblem = timeWindowProblem(time, nowMs);
  if (timeProblem !== undefined) return `timeUnixNano ${timeProblem}`;
  const count = toCount(point.count);
  if (count === undefined) return `count should be a non-negative integer, instead got '${describe(point.count)}'`;
  const sum = optionalDuration(point.sum, 'sum');
  if (typeof sum === 'string') return sum;
  const min = optionalDuration(point.min, 'min');
  if (typeof min === 'string') return min;
  const max = optionalDuration(point.max, 'max');
  if (typeof max === 'string') return max;
  if (min !== null && max !== null && min > max) return `min should be at most max ${max}, instead got ${min}`;
  return { start, time, count, sum: sum ?? NaN, min, max };
}

/** Counts of a repeated uint64 field, or a problem. */
function toCounts(values: unknown, field: string): number[] | string {
  if (values === undefined || values === null) return [];
  if (!Array.isArray(values)) return `${field} should be an array of counts, instead got '${describe(values)}'`;
  const counts = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const count = toCount(values[i]);
    if (count === undefined) return `${field}[${i}] should be a non-negative integer, instead got '${describe(values[i])}'`;
    counts[i] = count;
  }
  return counts;
}

function sumOf(counts: number[]): number {
  let total = 0;
  for (const count of counts) total += count;
  return total;
}

function toExplicitPoint(point: IHistogramDataPoint, context: MetricContext): DurationPoint | string {
  const common = toCommonFields(point, context.nowMs);
  if (typeof common === 'string') return common;
  const counts = toCounts(point.bucketCounts, 'bucketCounts');
  if (typeof counts === 'string') return counts;
  const rawBounds = point.explicitBounds ?? [];
  if (!Array.isArray(rawBounds)) return `explicitBounds should be an array of numbers, instead got '${describe(rawBounds)}'`;
  const bounds = new Array<number>(rawBounds.length);
  for (let i = 0; i < rawBounds.length; i++) {
    const bound = toDouble(rawBounds[i]);
    if (bound === undefined || !Number.isFinite(bound)) {
      return `explicitBounds[${i}] should be a finite number, instead got '${describe(rawBounds[i])}'`;
    }
    if (i > 0 && bound <= bounds[i - 1]!) {
      return `explicitBounds[${i}] should be greater than explicitBounds[${i - 1}] ${bounds[i - 1]}, instead got ${bound}`;
    }
    bounds[i] = bound;
  }
  let buckets: HistogramBuckets;
  if (counts.length === 0 && bounds.length === 0) {
    // A histogram without buckets (count and sum only): one bucket holding everything.
    buckets = { kind: 'explicit', bounds: [], counts: [common.count] };
  } else {
    if (counts.length !== bounds.length + 1) {
      return `bucketCounts should have explicitBounds.length + 1 = ${bounds.length + 1} entries, instead got ${counts.length}`;
    }
    const total = sumOf(counts);
    if (total !== common.count) return `bucketCounts should sum to count ${common.count}, instead got ${total}`;
    buckets = { kind: 'explicit', bounds, counts };
  }
  return toPoint(point.attributes, common, buckets, context);
}

function toExponentialPoint(point: IExponentialHistogramDataPoint, context: MetricContext): DurationPoint | string {
  const common = toCommonFields(point, context.nowMs);
  if (typeof common === 'string') return common;
  const scale = point.scale ?? 0;
  if (!Number.isInteger(scale) || scale < MIN_SCALE || scale > MAX_SCALE) {
    return `scale should be an integer from ${MIN_SCALE} to ${MAX_SCALE}, instead got '${describe(scale)}'`;
  }
  const zeroCount = toCount(point.zeroCount);
  if (zeroCount === undefined) return `zeroCount should be a non-negative integer, instead got '${describe(point.zeroCount)}'`;
  const negative = toBuckets(point.negative, 'negative');
  if (typeof negative === 'string') return negative;
  const negativeTotal = sumOf(negative.counts);
  if (negativeTotal > 0) {
    return `negative.bucketCounts should be empty (durations are never negative), instead got ${negativeTotal} negative values`;
  }
  const positive = toBuckets(point.positive, 'positive');
  if (typeof positive === 'string') return positive;
  const rangeProblem = positiveRangeProblem(positive, scale);
  if (rangeProblem !== undefined) return rangeProblem;
  const total = zeroCount + sumOf(positive.counts);
  if (total !== common.count) {
    return `zeroCount + positive.bucketCounts should sum to count ${common.count}, instead got ${total}`;
  }
  return toPoint(point.attributes, common, {
    kind: 'exponential', scale, zeroCount, offset: positive.offset, counts: positive.counts,
  }, context);
}

/** Bucket count and index range of the positive buckets (see MAX_POINT_BUCKETS, MIN_LOG2). */
function positiveRangeProblem(positive: { offset: number; counts: number[] }, scale: number): string | undefined {
  const n = positive.counts.length;
  if (n === 0) return undefined;
  if (n > MAX_POINT_BUCKETS) {
    return `positive.bucketCounts should have at most ${MAX_POINT_BUCKETS} entries, instead got '${n}'`;
  }
  const lowest = Math.floor(MIN_LOG2 * 2 ** scale);
  const highest = Math.ceil(MAX_LOG2 * 2 ** scale) - 1;
  const last = positive.offset + n - 1;
  if (positive.offset < lowest || last > highest) {
    return `positive.offset should keep every bucket within the double range (indexes ${lowest} to ${highest} at scale ${scale}), instead got '${positive.offset}' (last index ${last})`;
  }
  return undefined;
}

function toBuckets(buckets: IBuckets | null | undefined, field: string): { offset: number; counts: number[] } | string {
  if (buckets === undefined || buckets === null) return { offset: 0, counts: [] };
  if (typeof buckets !== 'object') return `${field} should be an object, instead got '${describe(buckets)}'`;
  const offset = buckets.offset ?? 0;
  // sint32 on the wire; JSON may carry any number, which the bucket_offset int column cannot hold.
  if (!Number.isInteger(offset) || offset < MIN_OFFSET || offset > MAX_OFFSET) {
    return `${field}.offset should be an integer from ${MIN_OFFSET} to ${MAX_OFFSET}, instead got '${describe(offset)}'`;
  }
  const counts = toCounts(buckets.bucketCounts, `${field}.bucketCounts`);
  if (typeof counts === 'string') return counts;
  return { offset, counts };
}

function toPoint(
  attributes: IKeyValue[] | null | undefined,
  common: CommonFields,
  buckets: HistogramBuckets,
  context: MetricContext,
): DurationPoint | string {
  const http = toHttpAttributes(attributes);
  const textProblem = httpTextProblem(http);
  if (textProblem !== undefined) return textProblem;
  return {
    serviceName: context.serviceName,
    // One-shot hash: the same digest as createHash().update(prefix).update(attributes), without a
    // Hash object per point (stream keys stored by earlier versions still match).
    streamKey: hash('sha1', context.streamPrefix + canonicalAttributes(attributes)),
    temporality: context.temporality,
    startTimeUnixNano: common.start.toString(),
    timeUnixNano: common.time.toString(),
    method: http.method,
    route: http.route,
    statusCode: http.statusCode,
    callerServiceName: http.callerServiceName,
    unitToMs: context.unitToMs,
    count: common.count,
    sum: common.sum,
    min: common.min,
    max: common.max,
    buckets,
  };
}
