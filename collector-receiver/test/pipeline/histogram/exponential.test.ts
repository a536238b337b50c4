import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  downscaleExponential, exponentialBase, exponentialCount, mergeExponential, quantileExponential, recordExponential, diffExponential,
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
