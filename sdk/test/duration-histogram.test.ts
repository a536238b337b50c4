import { describe, expect, it } from 'vitest';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import type { ExponentialHistogram, ExponentialHistogramMetricData } from '@opentelemetry/sdk-metrics';
import { DurationHistogram } from '../src/duration-histogram';
import { DurationAttributes, MAX_CACHED_CALLER_SERIES } from '../src/metrics';

function histogram(temporality: AggregationTemporality, cardinalityLimit?: number): DurationHistogram {
  return new DurationHistogram({
    name: 'http.server.request.duration',
    description: 'Duration of HTTP server requests.',
    unit: 's',
    scopeName: '@lattice/otel-register',
    temporality,
    maxSize: 2048,
    recordMinMax: true,
    cardinalityLimit,
  });
}

/** The collected points as [attributes, value], and the metric itself. */
async function collect(h: DurationHistogram) {
  const { resourceMetrics, errors } = await h.collect();
  expect(errors).toEqual([]);
  if (resourceMetrics.scopeMetrics.length === 0) return { metric: undefined, points: [] };
  expect(resourceMetrics.scopeMetrics).toHaveLength(1);
  expect(resourceMetrics.scopeMetrics[0]?.scope.name).toBe('@lattice/otel-register');
  const metric = resourceMetrics.scopeMetrics[0]?.metrics[0] as ExponentialHistogramMetricData;
  const points = metric.dataPoints.map((p) => [p.attributes, p.value] as const);
  return { metric, points };
}

const bucketTotal = (value: ExponentialHistogram) => value.positive.bucketCounts.reduce((a, b) => a + b, 0) + value.zeroCount;

describe('DurationHistogram', () => {
  it('exports one exponential-histogram point per attribute object, with count, sum, min and max', async () => {
    const h = histogram(AggregationTemporality.DELTA);
    const cache = new DurationAttributes();
    const root = cache.get('GET', '/', 200, undefined, false);
    const user = cache.get('GET', '/users/:id', 200, undefined, false);
    h.record(0.002, root);
    h.record(0.004, root);
    h.record(0.5, user);
    const { metric, points } = await collect(h);
    expect(metric?.descriptor).toMatchObject({ name: 'http.server.request.duration', unit: 's' });
    expect(metric?.dataPointType).toBe(DataPointType.EXPONENTIAL_HISTOGRAM);
    expect(metric?.aggregationTemporality).toBe(AggregationTemporality.DELTA);
    expect(points).toHaveLength(2);
    const [attributes, value] = points.find(([a]) => a['http.route'] === '/') ?? [];
    expect(attributes).toEqual({ 'http.request.method': 'GET', 'http.route': '/', 'http.response.status_code': 200 });
    expect(value).toMatchObject({ count: 2, min: 0.002, max: 0.004 });
    expect(value?.sum).toBeCloseTo(0.006, 12);
    expect(bucketTotal(value as ExponentialHistogram)).toBe(2);
    expect(value?.scale).toBeGreaterThanOrEqual(6);
  });

  it('starts each DELTA interval empty and exports nothing for an interval without requests', async () => {
    const h = histogram(AggregationTemporality.DELTA);
    const root = new DurationAttributes().get('GET', '/', 200, undefined, false);
    h.record(0.01, root);
    const first = await collect(h);
    expect(first.points[0]?.[1].count).toBe(1);
    expect((await collect(h)).points).toEqual([]);
    h.record(0.02, root);
    const third = await collect(h);
    expect(third.points[0]?.[1]).toMatchObject({ count: 1, min: 0.02 });
    // the third interval starts where the second ended
    expect(third.metric?.dataPoints[0]?.startTime).not.toEqual(first.metric?.dataPoints[0]?.startTime);
  });

  it('keeps running totals for CUMULATIVE, one series per content for uncached attribute objects', async () => {
    const h = histogram(AggregationTemporality.CUMULATIVE);
    const aborted = () => new DurationAttributes().get('GET', '/', 200, undefined, true);
    h.record(0.01, aborted());
    h.record(0.03, aborted());
    const first = await collect(h);
    expect(first.points).toHaveLength(1);
    expect(first.points[0]?.[0]).toEqual({ 'http.request.method': 'GET', 'http.route': '/', 'http.response.status_code': 200, 'error.type': 'aborted' });
    h.record(0.05, aborted());
    const second = await collect(h);
    expect(second.metric?.aggregationTemporality).toBe(AggregationTemporality.CUMULATIVE);
    expect(second.points).toHaveLength(1);
    expect(second.points[0]?.[1]).toMatchObject({ count: 3, min: 0.01, max: 0.05 });
    expect(second.metric?.dataPoints[0]?.startTime).toEqual(first.metric?.dataPoints[0]?.startTime);
  });

  it('puts attribute sets beyond the cardinality limit into one otel.metric.overflow series', async () => {
    const h = histogram(AggregationTemporality.DELTA, 3);
    const cache = new DurationAttributes();
    for (const status of [200, 201, 202, 203, 204]) h.record(0.001, cache.get('GET', '/', status, undefined, false));
    const { points } = await collect(h);
    expect(points).toHaveLength(3);
    const overflow = points.find(([a]) => a['otel.metric.overflow'] === true);
    expect(overflow?.[1].count).toBe(3);
  });

  it('ignores negative and NaN values', async () => {
    const h = histogram(AggregationTemporality.DELTA);
    const root = new DurationAttributes().get('GET', '/', 200, undefined, false);
    h.record(-1, root);
    h.record(Number.NaN, root);
    expect((await collect(h)).points).toEqual([]);
  });
});

describe('DurationAttributes', () => {
  it('reuses one frozen object per series, callers included, and builds fresh ones past the caller limit', () => {
    const cache = new DurationAttributes();
    const a = cache.get('GET', '/', 200, 'checkout', false);
    expect(cache.get('GET', '/', 200, 'checkout', false)).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(a).toEqual({ 'http.request.method': 'GET', 'http.route': '/', 'http.response.status_code': 200, 'lattice.caller.service.name': 'checkout' });
    for (let i = 0; i < MAX_CACHED_CALLER_SERIES; i++) cache.get('GET', '/', 200, `caller-${i}`, false);
    const late = cache.get('GET', '/', 200, 'one-too-many', false);
    expect(Object.isFrozen(late)).toBe(false);
    expect(cache.get('GET', '/', 200, 'one-too-many', false)).not.toBe(late);
    expect(cache.get('GET', '/', 200, 'checkout', false)).toBe(a);
    expect(cache.get('GET', '/', 200, undefined, true)).not.toBe(cache.get('GET', '/', 200, undefined, true));
  });
});
