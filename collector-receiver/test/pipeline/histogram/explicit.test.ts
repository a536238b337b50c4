import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { diffExplicit, mergeExplicit, quantileExplicit } from '../../../src/pipeline/histogram/explicit.js';
import type { ExplicitBuckets } from '../../../src/translate/rows.js';

const BOUNDS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

function record(values: number[], bounds = BOUNDS): ExplicitBuckets {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const v of values) {
    let k = bounds.findIndex((b) => v <= b);
    if (k === -1) k = bounds.length;
    counts[k]!++;
  }
  return { kind: 'explicit', bounds, counts };
}

describe('explicit histogram', () => {
  it('estimates within the width of the bucket holding the exact value', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 0.01, max: 20000, noNaN: true }), { minLength: 1, maxLength: 200 }),
      fc.constantFrom(0.5, 0.95, 0.99), (values, q) => {
        const sorted = values.slice().sort((a, b) => a - b);
        const exact = sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
        const min = sorted[0]!;
        const max = sorted[sorted.length - 1]!;
        const estimate = quantileExplicit(record(values), q, min, max)!;
        let k = BOUNDS.findIndex((b) => exact <= b);
        if (k === -1) k = BOUNDS.length;
        const lo = Math.max(min, k === 0 ? min : BOUNDS[k - 1]!);
        const hi = Math.min(max, k === BOUNDS.length ? max : BOUNDS[k]!);
        expect(estimate).toBeGreaterThanOrEqual(lo - 1e-9);
        expect(estimate).toBeLessThanOrEqual(hi + 1e-9);
      }));
  });

  it('interpolates a worked example', () => {
    // 10 values in (100, 250]: the p50 is rank 5 of 10 → 100 + 150 × 5/10 = 175
    const h = record(new Array<number>(10).fill(200));
    expect(quantileExplicit(h, 0.5)).toBe(175);
    expect(quantileExplicit(h, 0.5, 200, 200)).toBe(200);
    expect(quantileExplicit(record([]), 0.5)).toBeNull();
  });

  it('merge adds, diff subtracts, a decrease is a reset', () => {
    const a = record([1, 7, 300]);
    const b = record([7, 9000]);
    const sum = mergeExplicit(a, b);
    expect(diffExplicit(sum, a)).toEqual(b);
    expect(diffExplicit(a, sum)).toBeNull();
    expect(diffExplicit(record([1], [1, 2]), record([1], [1, 3]))).toBeNull();
  });
});
