/**
 * One answer for a stats window from its two sources: span rows (exact durations) and per-minute
 * histogram rollups. The store decides per minute which source counts (rollups when the minute
 * has any, else spans), so nothing is counted twice; this file only does the arithmetic.
 *
 * Percentiles:
 * - spans only → the exact values the store computed (percentile_cont).
 * - one explicit-bucket group only → linear interpolation (error ≤ the bucket's width).
 * - otherwise everything is folded into one exponential histogram at
 *   scale S = min(6, smallest stored exponential scale) in one working unit U, and one quantile
 *   is read from it (`quantileExponential`: nearest rank, DDSketch midpoint, clamped to the
 *   window's min/max) and converted to ms:
 *     · U is the unit of the exponential groups when they all share one and no span rows take
 *       part (the SDK records seconds, so U = s): they merge exactly (downscale, add) and the
 *       bound (γ−1)/(γ+1) at scale S holds — 0.54 % at S = 6;
 *     · otherwise U = ms; span durations arrive pre-bucketed at scale 6 in ms (exact bucket);
 *       exponential groups in ms merge exactly;
 *     · every other group (another unit, explicit bounds) is re-bucketed: each source bucket's
 *       count moves to the U bucket of its representative value, adding up to one source
 *       bucket of error (exponential in another unit: ≤ 2 × 0.54 % at scale 6; explicit: up to
 *       the bucket's width).
 * `quantileOfRollups` is the rollups-only part; migration 003's SQL `lattice_quantile` implements
 * the same steps in the same order, so both answer the same number.
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

  const q = foldRollups(groups, spans.count > 0 ? spans : null);
  return { ...base, p50Ms: q(0.5), p95Ms: q(0.95), p99Ms: q(0.99) };
}

/**
 * The q-quantile in ms of rollup groups alone (no span rows), as `summarizeWindow` computes it;
 * null when they hold no observations or q is not in [0, 1]. SQL: `lattice_quantile` (003).
 */
export function quantileOfRollups(groups: readonly RollupGroup[], q: number): number | null {
  return foldRollups(groups, null)(q);
}

/** Merges the groups (and pre-bucketed span durations in ms) once; returns a quantile reader in ms. */
function foldRollups(groups: readonly RollupGroup[], spans: SpanSummary | null): (q: number) => number | null {
  const spanHistogram = spans?.histogram ?? null;
  const only = groups[0];
  if (groups.length === 1 && spans === null && only!.layout.startsWith('explicit:')) {
    const h = explicitOf(only!);
    return (p) => scaleMs(quantileExplicit(h, p, only!.min, only!.max), only!.unitToMs);
  }
  let scale = STORAGE_SCALE;
  const units = new Set<number>();
  for (const g of groups) {
    const s = exponentialScaleOf(g.layout);
    if (s !== null) { scale = Math.min(scale, s); units.add(g.unitToMs); }
  }
  if (spanHistogram) scale = Math.min(scale, spanHistogram.scale);
  const unit = spans === null && units.size === 1 ? [...units][0]! : 1;
  let merged = fromIndexCounts(scale, 0, new Map());
  let min = spans?.minMs ?? null;
  let max = spans?.maxMs ?? null;
  if (spanHistogram) merged = mergeExponential(merged, downscaleExponential(spanHistogram, scale));
  for (const g of groups) {
    merged = mergeExponential(merged, toUnitExponential(g, scale, unit));
    if (g.min !== null) { const v = convert(g.min, g.unitToMs, unit); min = min === null ? v : Math.min(min, v); }
    if (g.max !== null) { const v = convert(g.max, g.unitToMs, unit); max = max === null ? v : Math.max(max, v); }
  }
  return (p) => scaleMs(quantileExponential(merged, p, min, max), unit);
}

/** A value in a unit (×toMs = ms) expressed in another; exact when the units are equal. */
function convert(value: number, fromUnitToMs: number, toUnitToMs: number): number {
  return fromUnitToMs === toUnitToMs ? value : (value * fromUnitToMs) / toUnitToMs;
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

/**
 * A group as an exponential histogram at `scale` in the working unit (×unitToMs = ms): exact when
 * it is exponential in that unit, else re-bucketed by each source bucket's representative value.
 */
function toUnitExponential(g: RollupGroup, scale: number, unitToMs: number): ExponentialBuckets {
  const sourceScale = exponentialScaleOf(g.layout);
  if (sourceScale !== null && g.unitToMs === unitToMs) {
    return downscaleExponential(fromIndexCounts(sourceScale, g.zeroCount, g.buckets), scale);
  }
  const byIndex = new Map<number, number>();
  let zeroCount = g.zeroCount;
  const explicit = sourceScale === null ? explicitOf(g) : null;
  for (const [k, c] of g.buckets) {
    if (c === 0 || (explicit !== null && (k < 0 || k >= explicit.counts.length))) continue;
    const value = convert(explicit ? explicitBucketValue(explicit, k, g.min, g.max) : exponentialBucketValue(k, sourceScale!), g.unitToMs, unitToMs);
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
