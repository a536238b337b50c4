import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  exponentialBase, exponentialCount, exponentialIndex, quantileExponential, recordExponential,
} from '../../../src/pipeline/histogram/exponential.js';
import { quantileExplicit } from '../../../src/pipeline/histogram/explicit.js';
import { quantileOfRollups, summarizeWindow, type RollupGroup } from '../../../src/pipeline/histogram/window-summary.js';
import type { ExponentialBuckets } from '../../../src/translate/rows.js';

const BOUND6 = (exponentialBase(6) - 1) / (exponentialBase(6) + 1);

function group(h: ExponentialBuckets, unitToMs: number, min: number | null, max: number | null): RollupGroup {
  const buckets = new Map<number, number>();
  h.counts.forEach((c, k) => { if (c > 0) buckets.set(h.offset + k, c); });
  return { unitToMs, layout: `exponential:${h.scale}`, count: exponentialCount(h), errors: 0, sum: null, min, max, zeroCount: h.zeroCount, buckets };
}

describe('exponential quantile edge cases', () => {
  it('empty → null; q NaN or outside [0, 1] → null (no guess)', () => {
    expect(quantileExponential(recordExponential([], 6), 0.5)).toBeNull();
    const h = recordExponential([1, 2, 3], 6);
    for (const q of [Number.NaN, -0.01, 1.01, Infinity]) expect(quantileExponential(h, q)).toBeNull();
    expect(quantileExponential(h, 0)).not.toBeNull();
    expect(quantileExponential(h, 1)).not.toBeNull();
  });

  it('NaN values fall into no bucket; values ≤ 0 into the zero bucket', () => {
    const h = recordExponential([Number.NaN, 0, -1, 5], 6);
    expect(h.zeroCount).toBe(2);
    expect(exponentialCount(h)).toBe(3);
  });

  it('a rank in the zero bucket answers 0, or the known min when that is above 0', () => {
    const h = recordExponential([0, 0, 0, 8], 6);
    expect(quantileExponential(h, 0.5)).toBe(0);
    expect(quantileExponential(h, 0.5, 0.5, 8)).toBe(0.5);
    expect(quantileExponential(h, 1)!).toBeCloseTo(8, 1);
  });

  it('a single value is exact once min/max are known, and within the bound without them', () => {
    fc.assert(fc.property(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), fc.constantFrom(0, 0.5, 0.99, 1), (v, q) => {
      const h = recordExponential([v], 6);
      expect(quantileExponential(h, q, v, v)).toBe(v);
      expect(Math.abs(quantileExponential(h, q)! - v) / v).toBeLessThanOrEqual(BOUND6 + 1e-12);
    }));
  });

  it('all values in one bucket: every quantile is that bucket\'s value, clamped into [min, max]', () => {
    fc.assert(fc.property(fc.integer({ min: -2000, max: 2000 }), fc.array(fc.double({ min: 0.001, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 50 }),
      (index, fractions) => {
        const lo = exponentialBase(6) ** index;
        const values = fractions.map((f) => lo * exponentialBase(6) ** f).filter((v) => exponentialIndex(v, 6) === index);
        if (values.length === 0) return;
        const h = recordExponential(values, 6);
        expect(h.counts.length).toBe(1);
        const min = Math.min(...values);
        const max = Math.max(...values);
        for (const q of [0, 0.5, 1]) {
          const estimate = quantileExponential(h, q, min, max)!;
          expect(estimate).toBeGreaterThanOrEqual(min);
          expect(estimate).toBeLessThanOrEqual(max);
        }
      }));
  });

  it('never answers outside [min, max]', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 1e-4, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 100 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: -3, max: 8 }),
      (values, q, scale) => {
        const min = Math.min(...values);
        const max = Math.max(...values);
        const estimate = quantileExponential(recordExponential(values, scale), q, min, max)!;
        expect(estimate).toBeGreaterThanOrEqual(min);
        expect(estimate).toBeLessThanOrEqual(max);
      }));
  });
});

describe('explicit quantile edge cases', () => {
  const h = { kind: 'explicit' as const, bounds: [10, 100], counts: [1, 0, 3] };
  it('closes the open last bucket with max and the open first one with min', () => {
    // ranks 2–4 are in (100, +∞) closed by max 400: rank 4 → 400
    expect(quantileExplicit(h, 1, 2, 400)).toBe(400);
    expect(quantileExplicit(h, 1)).toBe(100); // no max known: the last bound
    expect(quantileExplicit(h, 0.25, 2, 400)).toBe(10); // rank 1 of 1 in (2, 10]
  });
  it('q NaN or outside [0, 1] → null; no observations → null', () => {
    expect(quantileExplicit(h, Number.NaN)).toBeNull();
    expect(quantileExplicit(h, 2)).toBeNull();
    expect(quantileExplicit({ kind: 'explicit', bounds: [10], counts: [0, 0] }, 0.5)).toBeNull();
  });
});

describe('quantileOfRollups / summarizeWindow', () => {
  it('regression: rollups in seconds merge in seconds, not re-bucketed into ms (which could add a second 0.54 %)', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 1e-5, max: 60, noNaN: true }), { minLength: 1, maxLength: 200 }), fc.constantFrom(0.5, 0.95, 0.99),
      (seconds, q) => {
        const h = recordExponential(seconds, 6);
        const min = Math.min(...seconds);
        const max = Math.max(...seconds);
        // the same as reading the seconds histogram itself, × 1000
        expect(quantileOfRollups([group(h, 1000, min, max)], q)).toBe(quantileExponential(h, q, min, max)! * 1000);
      }));
  });

  it('seconds rollups at scales 8 and 6 merge at 6 in seconds; a ms group alongside switches the window to ms', () => {
    const a = recordExponential([0.01, 0.02, 0.3], 8);
    const b = recordExponential([0.05, 1.2], 6);
    const together = recordExponential([0.01, 0.02, 0.3, 0.05, 1.2], 6);
    expect(quantileOfRollups([group(a, 1000, 0.01, 0.3), group(b, 1000, 0.05, 1.2)], 0.5))
      .toBe(quantileExponential(together, 0.5, 0.01, 1.2)! * 1000);
    const ms = recordExponential([40], 6);
    const mixed = quantileOfRollups([group(a, 1000, 0.01, 0.3), group(ms, 1, 40, 40)], 0.5)!;
    expect(Math.abs(mixed - 20) / 20).toBeLessThan(2 * BOUND6 + 1e-9); // rank 2 of 4 = 20 ms, re-bucketed once
  });

  it('no groups or only empty groups → null; q outside [0, 1] → null', () => {
    expect(quantileOfRollups([], 0.5)).toBeNull();
    expect(quantileOfRollups([group(recordExponential([], 6), 1000, null, null)], 0.5)).toBeNull();
    expect(quantileOfRollups([group(recordExponential([1], 6), 1, 1, 1)], 1.5)).toBeNull();
  });

  it('summarizeWindow with span rows and seconds rollups works in ms (spans are bucketed in ms)', () => {
    const spanHistogram = recordExponential([5, 7], 6);
    const s = summarizeWindow(
      { count: 2, errors: 0, sumMs: 12, minMs: 5, maxMs: 7, p50Ms: 6, p95Ms: 7, p99Ms: 7, histogram: spanHistogram },
      [group(recordExponential([0.009, 0.011], 6), 1000, 0.009, 0.011)]);
    expect(s.requestCount).toBe(4);
    expect(Math.abs(s.p50Ms! - 7) / 7).toBeLessThan(2 * BOUND6);
    expect(s.p99Ms).toBeCloseTo(11, 9); // clamped to the max, 0.011 s
  });
});
