import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_EXPONENTIAL_BUCKETS, boundExponential, downscaleExponential, exponentialBase, exponentialCount, fittingScale, mergeExponential,
  quantileExponential, recordExponential, diffExponential,
} from '../../../src/pipeline/histogram/exponential.js';
import type { ExponentialBuckets } from '../../../src/translate/rows.js';

/** Nearest-rank exact quantile, the definition quantileExponential estimates. */
function exactQuantile(values: number[], q: number): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

function relativeErrorBound(scale: number): number {
  const g = exponentialBase(scale);
  // + a hair for floating-point at exact bucket boundaries
  return (g - 1) / (g + 1) + 1e-9;
}

const lognormal = fc.array(fc.tuple(fc.double({ min: 1e-9, max: 1, noNaN: true }), fc.double({ min: 1e-9, max: 1, noNaN: true })), { minLength: 1, maxLength: 300 })
  .map((pairs) => pairs.map(([u1, u2]) => Math.exp(3 + 1.2 * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2))));
const bimodal = fc.array(fc.tuple(fc.boolean(), fc.double({ min: 0.5, max: 1.5, noNaN: true })), { minLength: 1, maxLength: 300 })
  .map((xs) => xs.map(([fast, f]) => (fast ? 2 * f : 800 * f)));
const constant = fc.tuple(fc.double({ min: 0.001, max: 1e6, noNaN: true }), fc.integer({ min: 1, max: 200 }))
  .map(([v, n]) => new Array<number>(n).fill(v));
const tiny = fc.array(fc.double({ min: 1e-6, max: 1e-3, noNaN: true }), { minLength: 1, maxLength: 5 });
const samples = fc.oneof(lognormal, bimodal, constant, tiny);
const quantile = fc.constantFrom(0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1);

const histogram = fc.tuple(fc.array(fc.double({ min: 1e-3, max: 1e5, noNaN: true }), { maxLength: 50 }), fc.integer({ min: -2, max: 8 }))
  .map(([values, scale]) => recordExponential(values, scale));

function canonical(h: ExponentialBuckets): unknown {
  const m = new Map<number, number>();
  h.counts.forEach((c, k) => { if (c) m.set(h.offset + k, c); });
  return { scale: h.scale, zero: h.zeroCount, buckets: [...m.entries()].sort((a, b) => a[0] - b[0]) };
}

describe('exponential histogram', () => {
  it('estimates every quantile within (γ−1)/(γ+1) of the exact nearest-rank value', () => {
    fc.assert(fc.property(samples, quantile, fc.integer({ min: 0, max: 8 }), (values, q, scale) => {
      const h = recordExponential(values, scale);
      const estimate = quantileExponential(h, q)!;
      const exact = exactQuantile(values, q);
      expect(Math.abs(estimate - exact) / exact).toBeLessThanOrEqual(relativeErrorBound(scale));
    }), { numRuns: 300 });
  });

  it('stays within the bound after merging and downscaling to the smaller scale', () => {
    fc.assert(fc.property(samples, samples, quantile, (a, b, q) => {
      const merged = mergeExponential(recordExponential(a, 6), recordExponential(b, 4));
      expect(merged.scale).toBe(4);
      const exact = exactQuantile([...a, ...b], q);
      expect(Math.abs(quantileExponential(merged, q)! - exact) / exact).toBeLessThanOrEqual(relativeErrorBound(4));
    }), { numRuns: 200 });
  });

  it('clamps to min/max', () => {
    const h = recordExponential([100], 0);
    expect(quantileExponential(h, 0.5, 100, 100)).toBe(100);
  });

  it('answers null for an empty histogram and 0 for ranks in the zero bucket', () => {
    expect(quantileExponential(recordExponential([], 6), 0.5)).toBeNull();
    expect(quantileExponential(recordExponential([0, 0, 5], 6), 0.5)).toBe(0);
  });

  it('merge is commutative and associative', () => {
    fc.assert(fc.property(histogram, histogram, histogram, (a, b, c) => {
      expect(canonical(mergeExponential(a, b))).toEqual(canonical(mergeExponential(b, a)));
      expect(canonical(mergeExponential(mergeExponential(a, b), c))).toEqual(canonical(mergeExponential(a, mergeExponential(b, c))));
    }));
  });

  it('downscale preserves the count and equals recording at the lower scale', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 1e-3, max: 1e5, noNaN: true }), { maxLength: 60 }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 6 }),
      (values, scale, by) => {
        const h = recordExponential(values, scale);
        const down = downscaleExponential(h, scale - by);
        expect(exponentialCount(down)).toBe(values.length);
        if (by === 0) return;
        // identical to recording the values at the lower scale, up to floating rounding at boundaries
        const direct = recordExponential(values, scale - by);
        expect(exponentialCount(direct)).toBe(exponentialCount(down));
      }));
  });

  it('downscales a worked example', () => {
    const h: ExponentialBuckets = { kind: 'exponential', scale: 1, zeroCount: 2, offset: -1, counts: [1, 2, 3] };
    expect(downscaleExponential(h, 0)).toEqual({ kind: 'exponential', scale: 0, zeroCount: 2, offset: -1, counts: [1, 5] });
  });

  it('diff undoes merge, and reports a reset as null', () => {
    fc.assert(fc.property(histogram, histogram, (a, b) => {
      const sum = mergeExponential(a, b);
      const d = diffExponential(sum, a)!;
      expect(d).not.toBeNull();
      expect(canonical(mergeExponential(d, downscaleExponential(a, d.scale)))).toEqual(canonical(sum));
    }));
    expect(diffExponential(recordExponential([1], 3), recordExponential([1, 2], 3))).toBeNull();
  });
});

describe('exponential size bound (MAX_EXPONENTIAL_BUCKETS)', () => {
  const one = (scale: number, offset: number, counts: number[]): ExponentialBuckets => ({ kind: 'exponential', scale, zeroCount: 0, offset, counts });

  it('downscales a merge of far-apart offsets until it fits (worked example, max 4)', () => {
    expect(mergeExponential(one(1, 0, [1]), one(1, 8, [1]), 4)).toEqual(one(-1, 0, [1, 0, 1]));
  });

  it('keeps the smaller scale when the merged range fits', () => {
    expect(mergeExponential(one(3, 0, [1, 2]), one(2, 5, [4]), 4096)).toEqual(one(2, 0, [3, 0, 0, 0, 0, 4]));
  });

  it('bounds merges of any offsets at any scales, with the exact total and the largest fitting scale', () => {
    const side = fc.record({
      scale: fc.integer({ min: -10, max: 20 }),
      offset: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 64 }),
      counts: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 40 }),
    });
    fc.assert(fc.property(side, side, fc.integer({ min: 2, max: 4096 }), (a, b, max) => {
      const x = one(a.scale, a.offset, a.counts);
      const y = one(b.scale, b.offset, b.counts);
      const m = mergeExponential(x, y, max);
      expect(m.counts.length).toBeLessThanOrEqual(Math.max(max, a.counts.length + b.counts.length));
      expect(exponentialCount(m)).toBe(exponentialCount(x) + exponentialCount(y));
      expect(m).toEqual(mergeExponential(y, x, max));
      // One scale finer would not fit (or is not allowed): the merge lost no more resolution than needed.
      const smaller = Math.min(a.scale, b.scale);
      if (m.scale < smaller) {
        const finer = mergeExponential(downscaleExponential(x, m.scale + 1), downscaleExponential(y, m.scale + 1), Number.MAX_SAFE_INTEGER);
        expect(finer.counts.length).toBeGreaterThan(max);
      }
    }));
  });

  it('merges points 2^30 buckets apart at scale 20 into at most 4096 buckets', () => {
    const m = mergeExponential(one(20, 0, [1]), one(20, 2 ** 30, [2]));
    expect(m.counts.length).toBeLessThanOrEqual(MAX_EXPONENTIAL_BUCKETS);
    expect(m.scale).toBe(20 - 19); // 2^30 >> 19 = 2048: indexes 0…2048 fit in 4096
    expect(exponentialCount(m)).toBe(3);
  });

  it('boundExponential leaves a small histogram alone and downscales a wide one', () => {
    const small = one(6, 10, [1, 2]);
    expect(boundExponential(small)).toBe(small);
    const wide = one(6, 0, [...new Array<number>(5000).fill(0), 7]);
    const bounded = boundExponential(wide);
    expect(bounded.scale).toBe(5);
    expect(bounded.counts.length).toBeLessThanOrEqual(MAX_EXPONENTIAL_BUCKETS);
    expect(exponentialCount(bounded)).toBe(7);
  });

  it('fittingScale: the largest scale whose range fits', () => {
    expect(fittingScale(0, 4095, 6)).toBe(6);
    expect(fittingScale(0, 4096, 6)).toBe(5);
    expect(fittingScale(-(2 ** 31), 2 ** 31 - 1, 20, 4096)).toBe(0); // −2048 … 2047
  });
});
