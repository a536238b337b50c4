/**
 * Explicit-bucket histograms (OTLP HistogramDataPoint): merge, diff, quantile. Bucket k covers
 * (bounds[k−1], bounds[k]]; the first is (−∞, bounds[0]] and the last (bounds[n−1], +∞);
 * counts.length === bounds.length + 1.
 *
 * Error bound of `quantileExplicit`: the answer is linearly interpolated by rank inside the bucket
 * holding the rank, so it is off by at most that bucket's width. The open-ended first/last
 * buckets are closed by the known min/max (else 0 and the last bound). Worked example: bounds
 * [0,5,10,25,50,75,100,250,…] ms and a p95 in (100, 250] → error ≤ 150 ms; explicit histograms
 * are only as good as their bounds. Histograms with different bounds cannot be merged exactly.
 */
import type { ExplicitBuckets } from '../../translate/rows.js';

export function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** a + b; both must have the same bounds (the caller keys rollups by bounds). */
export function mergeExplicit(a: ExplicitBuckets, b: ExplicitBuckets): ExplicitBuckets {
  return { kind: 'explicit', bounds: a.bounds, counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)) };
}

/** current − previous, or null when bounds differ or any bucket decreased (a reset). */
export function diffExplicit(current: ExplicitBuckets, previous: ExplicitBuckets): ExplicitBuckets | null {
  if (!sameBounds(current.bounds, previous.bounds)) return null;
  const counts = current.counts.map((c, i) => c - (previous.counts[i] ?? 0));
  return counts.some((c) => c < 0) ? null : { kind: 'explicit', bounds: current.bounds, counts };
}

/**
 * Nearest-rank quantile by linear interpolation inside the bucket; null when empty or when q is
 * not in [0, 1]. Rank r of the c values in (lo, hi] answers lo + (hi − lo)·(r − seen)/c, so the
 * last value of the bucket answers hi.
 */
export function quantileExplicit(h: ExplicitBuckets, q: number, min: number | null = null, max: number | null = null): number | null {
  if (!(q >= 0 && q <= 1)) return null;
  let total = 0;
  for (const c of h.counts) total += c;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let k = 0; k < h.counts.length; k++) {
    const c = h.counts[k] ?? 0;
    if (c === 0 || seen + c < rank) { seen += c; continue; }
    let lo = k === 0 ? (min ?? Math.min(0, h.bounds[0] ?? 0)) : h.bounds[k - 1]!;
    let hi = k === h.bounds.length ? (max ?? h.bounds[k - 1] ?? lo) : h.bounds[k]!;
    if (min !== null && lo < min) lo = min;
    if (max !== null && hi > max) hi = max;
    if (hi < lo) hi = lo;
    return lo + ((hi - lo) * (rank - seen)) / c;
  }
  return null;
}

/** A representative value of bucket k (its midpoint, the open ends closed by min/max). */
export function explicitBucketValue(h: ExplicitBuckets, k: number, min: number | null, max: number | null): number {
  let lo = k === 0 ? (min ?? Math.min(0, h.bounds[0] ?? 0)) : h.bounds[k - 1]!;
  let hi = k === h.bounds.length ? (max ?? h.bounds[k - 1] ?? lo) : h.bounds[k]!;
  if (min !== null && lo < min) lo = min;
  if (max !== null && hi > max) hi = max;
  return hi < lo ? lo : (lo + hi) / 2;
}
