/**
 * One answer for a stats window from its two sources: span rows (exact durations) and per-minute
 * histogram rollups. The store decides per minute which source counts (rollups when the minute
 * has any, else spans), so nothing is counted twice; this file only does the arithmetic.
 *
 * Percentiles:
 * - spans only → the exact values the store computed (percentile_cont).
 * - one explicit-bucket group only → linear interpolation (error ≤ the bucket's width).
 * - otherwise everything is folded into one exponential histogram in milliseconds at
 *   scale = min(6, smallest stored exponential scale), and one quantile is read from it:
 *     · exponential groups in ms merge exactly (downscale, add);
 *     · span durations arrive pre-bucketed at scale 6 in ms (exact bucket, no extra error);
 *     · exponential groups in another unit (s) and explicit groups are re-bucketed: each source
 *       bucket's count moves to the ms bucket of its representative value, adding up to one
 *       source bucket of error (explicit: up to the bucket's width).
 *   Answers are clamped to the window's known min/max.
 */
import {
  STORAGE_SCALE, downscaleExponential, exponentialBucketValue, exponentialIndex, fromIndexCounts, mergeExponential, quantileExponential,
} from './exponential.js';
import { explicitBucketValue, quantileExplicit } from './explicit.js';
import type { ExplicitBuckets, ExponentialBuckets } from '../../translate/rows.js';

/** The span rows of the window's minutes that have no rollups. */
export interface SpanSummary {
  count: number;
  errors: number;
  sumMs: number;
  minMs: number | null;
  maxMs: number | null;
  /** exact percentiles, null when count is 0 */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** the same durations bucketed at STORAGE_SCALE in ms; only needed when rollups exist too */
  histogram: ExponentialBuckets | null;
}

/** The window's rollup rows of one (unit, layout), summed. */
export interface RollupGroup {
  unitToMs: number;
  layout: string;
  count: number;
  errors: number;
  /** in the source unit; null when some row had no sum */
  sum: number | null;
  min: number | null;
  max: number | null;
  zeroCount: number;
  /** absolute bucket index (exponential) or bucket position (explicit) → count */
  buckets: Map<number, number>;
}

export interface WindowSummary {
  requestCount: number;
  /** fraction of requests with status ≥ 500; null when there were none */
  errorRate: number | null;
  avgMs: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

export function summarizeWindow(spans: SpanSummary, groups: readonly RollupGroup[]): WindowSummary {
  let requestCount = spans.count;
  let errorCount = spans.errors;
  let sumMs = spans.sumMs;
  for (const g of groups) {
    requestCount += g.count;
    errorCount += g.errors;
    sumMs += (g.sum ?? estimateSum(g)) * g.unitToMs;
  }
  if (requestCount === 0) return { requestCount: 0, errorRate: null, avgMs: null, p50Ms: null, p95Ms: null, p99Ms: null };
  const base = { requestCount, errorRate: errorCount / requestCount, avgMs: sumMs / requestCount };
  if (groups.length === 0) return { ...base, p50Ms: spans.p50Ms, p95Ms: spans.p95Ms, p99Ms: spans.p99Ms };

  const only = groups[0]!;
  if (groups.length === 1 && spans.count === 0 && only.layout.startsWith('explicit:')) {
    const h = explicitOf(only);
    const q = (p: number) => scaleMs(quantileExplicit(h, p, only.min, only.max), only.unitToMs);
    return { ...base, p50Ms: q(0.5), p95Ms: q(0.95), p99Ms: q(0.99) };
  }

  let scale = STORAGE_SCALE;
  for (const g of groups) {
    const s = exponentialScaleOf(g.layout);
    if (s !== null) scale = Math.min(scale, s);
  }
  let merged = fromIndexCounts(scale, 0, new Map());
  let minMs = spans.count > 0 ? spans.minMs : null;
  let maxMs = spans.count > 0 ? spans.maxMs : null;
  if (spans.histogram) merged = mergeExponential(merged, downscaleExponential(spans.histogram, scale));
  for (const g of groups) {
    merged = mergeExponential(merged, toMsExponential(g, scale));
    if (g.min !== null) minMs = minMs === null ? g.min * g.unitToMs : Math.min(minMs, g.min * g.unitToMs);
    if (g.max !== null) maxMs = maxMs === null ? g.max * g.unitToMs : Math.max(maxMs, g.max * g.unitToMs);
  }
  const q = (p: number) => quantileExponential(merged, p, minMs, maxMs);
  return { ...base, p50Ms: q(0.5), p95Ms: q(0.95), p99Ms: q(0.99) };
}

function scaleMs(value: number | null, unitToMs: number): number | null {
  return value === null ? null : value * unitToMs;
}

/** 'exponential:6' → 6; explicit → null */
export function exponentialScaleOf(layout: string): number | null {
  return layout.startsWith('exponential:') ? Number(layout.slice('exponential:'.length)) : null;
}

/** 'explicit:0,5,10' → [0,5,10] */
export function explicitBoundsOf(layout: string): number[] {
  const list = layout.slice('explicit:'.length);
  return list === '' ? [] : list.split(',').map(Number);
}

function explicitOf(g: RollupGroup): ExplicitBuckets {
  const bounds = explicitBoundsOf(g.layout);
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const [k, c] of g.buckets) if (k >= 0 && k < counts.length) counts[k]! += c;
  return { kind: 'explicit', bounds, counts };
}

/** A group as an exponential histogram in ms at `scale` (exact for ms exponential, re-bucketed otherwise). */
function toMsExponential(g: RollupGroup, scale: number): ExponentialBuckets {
  const sourceScale = exponentialScaleOf(g.layout);
  if (sourceScale !== null && g.unitToMs === 1) {
    return downscaleExponential(fromIndexCounts(sourceScale, g.zeroCount, g.buckets), scale);
  }
  const byIndex = new Map<number, number>();
  let zeroCount = g.zeroCount;
  const explicit = sourceScale === null ? explicitOf(g) : null;
  for (const [k, c] of g.buckets) {
    if (c === 0) continue;
    const value = (explicit ? explicitBucketValue(explicit, k, g.min, g.max) : exponentialBucketValue(k, sourceScale!)) * g.unitToMs;
    if (!(value > 0)) { zeroCount += c; continue; }
    const i = exponentialIndex(value, scale);
    byIndex.set(i, (byIndex.get(i) ?? 0) + c);
  }
  return fromIndexCounts(scale, zeroCount, byIndex);
}

/** Sum of a group that lacked one, from its buckets' representative values (source unit). */
function estimateSum(g: RollupGroup): number {
  const sourceScale = exponentialScaleOf(g.layout);
  const explicit = sourceScale === null ? explicitOf(g) : null;
  let sum = 0;
  for (const [k, c] of g.buckets) {
    sum += c * (explicit ? explicitBucketValue(explicit, k, g.min, g.max) : exponentialBucketValue(k, sourceScale!));
  }
  return sum;
}
