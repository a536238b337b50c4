import { describe, expect, it } from 'vitest';
import { normalizeMethod, SERVER_DURATION_VIEW } from '../src/metrics';
import { exportFailureKind } from '../src/sdk';

describe('normalizeMethod', () => {
  it('keeps known methods and folds the rest into _OTHER', () => {
    expect(normalizeMethod('GET')).toBe('GET');
    expect(normalizeMethod('PATCH')).toBe('PATCH');
    expect(normalizeMethod('get')).toBe('_OTHER');
    expect(normalizeMethod('PROPFIND')).toBe('_OTHER');
    expect(normalizeMethod(undefined)).toBe('GET');
  });
});

describe('SERVER_DURATION_VIEW', () => {
  it('keeps scale >= 6 from 20 µs to 10 minutes within 2048 buckets', () => {
    const options = (SERVER_DURATION_VIEW.aggregation as { options: { maxSize: number } }).options;
    const bucketsAtScale = (scale: number) => Math.ceil(Math.log2(600 / 20e-6) * 2 ** scale);
    expect(bucketsAtScale(6)).toBeLessThanOrEqual(options.maxSize);
    expect(bucketsAtScale(7)).toBeGreaterThan(options.maxSize);
    // relative error at scale 6: half a bucket's width relative to its midpoint
    const base = 2 ** (2 ** -6);
    expect((base - 1) / (base + 1)).toBeLessThan(0.0055);
  });
});

describe('exportFailureKind', () => {
  it('uses the error code, a code in a wrapped message, else the name', () => {
    expect(exportFailureKind(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(exportFailureKind(new Error('PeriodicExportingMetricReader: metrics export failed (error Error: connect ECONNREFUSED 127.0.0.1:1)'))).toBe(
      'ECONNREFUSED',
    );
    expect(exportFailureKind(Object.assign(new Error('Not Found'), { code: 404 }))).toBe('404');
    expect(exportFailureKind(new TypeError('x'))).toBe('TypeError');
    expect(exportFailureKind('weird')).toBe('Error');
  });
});
