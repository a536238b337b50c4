import { describe, expect, it } from 'vitest';
import { DEFAULT_HEALTH_SETTINGS, healthOf, type HealthInput } from '../../src/api/health.js';
import { countAtMost } from '../../src/store/queries/grouped-window.js';
import { recordExponential } from '../../src/pipeline/histogram/exponential.js';
import type { RollupGroup } from '../../src/pipeline/histogram/window-summary.js';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const base: HealthInput = { nowMs: NOW, lastSeenMs: NOW - 5_000, requestCount: 100, errorRate: 0, apdex: 1 };

describe('healthOf', () => {
  it.each([
    [{}, 'green'],
    [{ errorRate: 0.0099 }, 'green'],
    [{ errorRate: 0.01 }, 'yellow'],
    [{ errorRate: 0.0499 }, 'yellow'],
    [{ errorRate: 0.05 }, 'red'],
    [{ apdex: 0.85 }, 'green'],
    [{ apdex: 0.849 }, 'yellow'],
    [{ apdex: 0.7 }, 'yellow'],
    [{ apdex: 0.699 }, 'red'],
    [{ errorRate: 0.02, apdex: 0.5 }, 'red'],
    [{ apdex: null }, 'green'],
    [{ lastSeenMs: NOW - 120_000 }, 'green'],
    [{ lastSeenMs: NOW - 120_001 }, 'grey'],
    [{ lastSeenMs: null }, 'grey'],
    [{ requestCount: 0, errorRate: null, apdex: null }, 'grey'],
    [{ lastSeenMs: NOW - 600_000, errorRate: 0.5 }, 'grey'],
  ] as Array<[Partial<HealthInput>, string]>)('%o → %s with the default thresholds', (overrides, expected) => {
    const { health, healthReason } = healthOf({ ...base, ...overrides }, DEFAULT_HEALTH_SETTINGS);
    expect(health).toBe(expected);
    expect(healthReason.length).toBeGreaterThan(0);
  });

  it('says which rule decided', () => {
    expect(healthOf({ ...base, errorRate: 0.06 }, DEFAULT_HEALTH_SETTINGS).healthReason).toBe('error rate 6.0 % ≥ 5.0 %');
    expect(healthOf({ ...base, apdex: 0.8 }, DEFAULT_HEALTH_SETTINGS).healthReason).toBe('Apdex 0.80 < 0.85');
    expect(healthOf({ ...base, lastSeenMs: null }, DEFAULT_HEALTH_SETTINGS).healthReason).toBe('no data in the last 120 s');
  });

  it('uses the given thresholds', () => {
    const s = { ...DEFAULT_HEALTH_SETTINGS, staleAfterS: 10, healthErrorYellow: 0.2, healthErrorRed: 0.3 };
    expect(healthOf({ ...base, errorRate: 0.1 }, s).health).toBe('green');
    expect(healthOf({ ...base, errorRate: 0.25 }, s).health).toBe('yellow');
    expect(healthOf({ ...base, lastSeenMs: NOW - 11_000 }, s).health).toBe('grey');
  });
});

describe('countAtMost (Apdex from histogram buckets)', () => {
  const exponential = (values: number[], unitToMs = 1): RollupGroup => {
    const h = recordExponential(values, 6);
    return { unitToMs, layout: 'exponential:6', count: values.length, errors: 0, sum: null, min: null, max: null,
      zeroCount: h.zeroCount, buckets: new Map(h.counts.map((c, k) => [h.offset + k, c])) };
  };

  it('counts whole buckets below the threshold and none above', () => {
    const g = exponential([0, 100, 1000, 3000]);
    expect(countAtMost(g, 500)).toBe(2); // the zero and 100 ms
    expect(countAtMost(g, 2000)).toBe(3);
    expect(countAtMost(g, 10_000)).toBe(4);
  });

  it('works in the source unit (seconds)', () => {
    expect(countAtMost(exponential([0.1, 1, 3], 1000), 500)).toBe(1);
  });

  it('explicit buckets: whole buckets, and the one holding T linearly', () => {
    const g: RollupGroup = { unitToMs: 1, layout: 'explicit:0,250,500,1000', count: 10, errors: 0, sum: null, min: 1, max: 3000,
      zeroCount: 0, buckets: new Map([[1, 4], [2, 2], [3, 2], [4, 2]]) };
    expect(countAtMost(g, 500)).toBe(6);
    expect(countAtMost(g, 750)).toBe(7); // half of (500, 1000]
    expect(countAtMost(g, 2000)).toBe(8 + 2 * (1000 / 2000)); // (1000, max 3000]: half
  });
});
