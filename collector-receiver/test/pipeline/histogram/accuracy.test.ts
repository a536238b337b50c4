/**
 * The accuracy claim, end to end through the engine: durations recorded by the real OpenTelemetry
 * SDK with the Lattice SDK's View, split over 3 instances × 60 one-minute delta points, translated,
 * rolled up (downscaled to scale 6) and merged as selectServiceStats merges them. p50/p95/p99
 * must be within (γ−1)/(γ+1) = 0.5417 % (scale 6) of the exact nearest-rank quantile — under
 * the 1 %. The same data through the real store: test/store/sql-quantile.test.ts.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AggregationType } from '@opentelemetry/sdk-metrics';
import { toRollupRows } from '../../../src/pipeline/rollup.js';
import { exponentialBase } from '../../../src/pipeline/histogram/exponential.js';
import { exponentialScaleOf, quantileOfRollups } from '../../../src/pipeline/histogram/window-summary.js';
import {
  DISTRIBUTIONS, METER_NAME, SERVER_DURATION_METRIC, SERVER_DURATION_VIEW, exactQuantile, groupsOf, recordWithSdk, sampleDurations, spread,
} from './sdk-recorder.js';

const T = Date.parse('2026-11-27T10:00:00Z');
const SERVICES = new Map([['checkout', '1']]);
/** 25 runs × 180 SDK collects: seconds normally, minutes on a loaded shared machine. */
const SLOW = 300_000;

function bound(scale: number): number {
  const g = exponentialBase(scale);
  return (g - 1) / (g + 1);
}

async function mergedEstimate(seconds: number[], seed: number, options: { instances?: number; minutes?: number; view?: typeof SERVER_DURATION_VIEW } = {}) {
  const instances = options.instances ?? 3;
  const minutes = options.minutes ?? 60;
  const points = await recordWithSdk({ instances, minutes, startMs: T, samples: spread(seconds, seed, instances, minutes), view: options.view });
  const rows = toRollupRows(points, SERVICES);
  const groups = groupsOf(rows);
  const scale = Math.min(...groups.map((g) => exponentialScaleOf(g.layout) ?? Infinity));
  return { points, rows, groups, scale, quantile: (q: number) => quantileOfRollups(groups, q) };
}

describe('percentile accuracy (real SDK, 3 instances × 60 minutes, merged)', () => {
  it('the SDK View under test is the Lattice SDK\'s: exponential, maxSize 2048, min/max', () => {
    expect(SERVER_DURATION_VIEW).toMatchObject({
      meterName: METER_NAME, instrumentName: SERVER_DURATION_METRIC,
      aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 2048, recordMinMax: true } },
    });
  });

  it.each(DISTRIBUTIONS)('%s: p50/p95/p99 within 0.5417 % (< 1 %) of the exact nearest-rank value', async (distribution) => {
    await fc.assert(fc.asyncProperty(fc.integer(), fc.integer({ min: 1, max: 3000 }), async (seed, n) => {
      const seconds = sampleDurations(distribution, seed, n);
      const m = await mergedEstimate(seconds, seed);
      expect(m.points.reduce((total, p) => total + p.count, 0)).toBe(seconds.length);
      // these ranges (≤ 2^20) fit 2048 buckets at scale ≥ 6, so rollups are stored at 6
      expect(m.scale).toBe(6);
      const sorted = seconds.slice().sort((a, b) => a - b);
      for (const q of [0.5, 0.95, 0.99]) {
        const exact = exactQuantile(sorted, q) * 1000;
        const relative = Math.abs(m.quantile(q)! - exact) / exact;
        expect(relative, `q=${q} exact=${exact} ms`).toBeLessThanOrEqual(bound(6) + 1e-9);
        expect(relative).toBeLessThan(0.01);
      }
    }), { numRuns: 25 });
  }, SLOW);

  it('keeps scale ≥ 6 for 10 µs … 60 s in one point (what maxSize 2048 is for)', async () => {
    const m = await mergedEstimate([1e-5, 0.003, 0.2, 60], 1, { instances: 1, minutes: 1 });
    expect(m.points[0]!.buckets.kind).toBe('exponential');
    expect((m.points[0]!.buckets as { scale: number }).scale).toBeGreaterThanOrEqual(6);
  });

  it('a source with the default maxSize 160 lands below scale 6: the whole window merges at its scale, with that wider bound', async () => {
    const view = { ...SERVER_DURATION_VIEW, aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160, recordMinMax: true } } } as typeof SERVER_DURATION_VIEW;
    const seconds = sampleDurations('pareto', 7, 2000).concat(sampleDurations('tiny', 8, 5), [1e-5, 60]);
    const m = await mergedEstimate(seconds, 7, { instances: 3, minutes: 5, view });
    expect(m.scale).toBeLessThan(6);
    const sorted = seconds.slice().sort((a, b) => a - b);
    for (const q of [0.5, 0.95, 0.99]) {
      const exact = exactQuantile(sorted, q) * 1000;
      expect(Math.abs(m.quantile(q)! - exact) / exact).toBeLessThanOrEqual(bound(m.scale) + 1e-9);
    }
  }, SLOW);
});
