import { describe, expect, it } from 'vitest';
import { decodeMetricsRequest } from '../../src/otlp/decode.js';
import type { IExportMetricsServiceRequest } from '../../src/otlp/internal-types.js';
import { toDurationPoints } from '../../src/translate/points.js';
import type { DurationPoint } from '../../src/translate/rows.js';
import {
  createResourceMetrics, encodeMetrics, jsonDurationMetric, jsonHistogramPoint, jsonMetricsRequest, SERVICE_NAME,
} from '../fixtures/otlp.js';

function fromJson(value: unknown): IExportMetricsServiceRequest {
  return decodeMetricsRequest(Buffer.from(JSON.stringify(value)), 'json');
}

const POINT_PATH = 'resourceMetrics[0].scopeMetrics[0].metrics[0].histogram.dataPoints[0]';

describe('toDurationPoints', () => {
  it.each([
    ['delta', false],
    ['cumulative', false],
    ['delta', true],
    ['cumulative', true],
  ] as const)('gives identical points for the same %s (exponential: %s) histogram in protobuf and in JSON', async (temporality, exponential) => {
    const metrics = await createResourceMetrics({ temporality, exponential });
    const now = Date.now();
    const fromProtobuf = toDurationPoints(decodeMetricsRequest(encodeMetrics.protobuf(metrics), 'protobuf'), now);
    const fromJsonBody = toDurationPoints(decodeMetricsRequest(encodeMetrics.json(metrics), 'json'), now);
    expect(fromProtobuf.rejection).toEqual({ rejected: 0, message: '' });
    expect(fromJsonBody).toEqual(fromProtobuf);
    // two attribute sets recorded; the orders.created counter is ignored, not rejected
    expect(fromProtobuf.points).toHaveLength(2);
    for (const point of fromProtobuf.points) {
      expect(point.temporality).toBe(temporality);
      expect(point.unitToMs).toBe(1000);
      expect(point.serviceName).toBe(SERVICE_NAME);
      expect(point.buckets.kind).toBe(exponential ? 'exponential' : 'explicit');
      expect(point.timeUnixNano).toMatch(/^\d{19}$/);
      expect(BigInt(point.startTimeUnixNano) <= BigInt(point.timeUnixNano)).toBe(true);
    }
    const users = fromProtobuf.points.find((point) => point.route === '/users/:id')!;
    expect(users).toMatchObject({ method: 'GET', statusCode: 200, callerServiceName: 'frontend', count: 2, min: 0.012, max: 0.3 });
    expect(users.sum).toBeCloseTo(0.312, 12);
    const orders = fromProtobuf.points.find((point) => point.route === '/orders')!;
    expect(orders).toMatchObject({ method: 'POST', statusCode: 201, callerServiceName: null, count: 1, sum: 1.5 });
    if (exponential) {
      const buckets = users.buckets as Extract<DurationPoint['buckets'], { kind: 'exponential' }>;
      expect(buckets.zeroCount + buckets.counts.reduce((a, b) => a + b, 0)).toBe(2);
    } else {
      const buckets = users.buckets as Extract<DurationPoint['buckets'], { kind: 'explicit' }>;
      expect(buckets.counts).toHaveLength(buckets.bounds.length + 1);
      expect(buckets.counts.reduce((a, b) => a + b, 0)).toBe(2);
    }
  });

  it('keeps the stream key stable across exports and distinct per attribute set', async () => {
    const first = toDurationPoints(decodeMetricsRequest(encodeMetrics.protobuf(await createResourceMetrics({ temporality: 'cumulative' })), 'protobuf'), Date.now());
    const second = toDurationPoints(decodeMetricsRequest(encodeMetrics.json(await createResourceMetrics({ temporality: 'cumulative' })), 'json'), Date.now());
    const keys = (points: DurationPoint[]) => points.map((point) => point.streamKey).sort();
    expect(keys(first.points)).toEqual(keys(second.points));
    expect(new Set(keys(first.points)).size).toBe(2);
    expect(first.points[0]!.streamKey).toMatch(/^[0-9a-f]{40}$/);
  });

  it('does not change the stream key when attributes arrive in another order, but does for another type', () => {
    const now = Date.now();
    const point = jsonHistogramPoint({}, now);
    const reversed = { ...point, attributes: [...(point.attributes as unknown[])].reverse() };
    const asString = jsonHistogramPoint({ attributes: [
      { key: 'http.method', value: { stringValue: 'GET' } },
      { key: 'http.route', value: { stringValue: '/health' } },
      { key: 'http.status_code', value: { stringValue: '200' } },
    ] }, now);
    const { points } = toDurationPoints(fromJson(jsonMetricsRequest([jsonDurationMetric([point, reversed, asString])])), now);
    expect(points[0]!.streamKey).toBe(points[1]!.streamKey);
    expect(points[2]!.streamKey).not.toBe(points[0]!.streamKey);
  });

  it('translates a hand-built http.server.duration point (ms) exactly', () => {
    const now = Date.now();
    const point = jsonHistogramPoint({}, now);
    const { points, rejection } = toDurationPoints(fromJson(jsonMetricsRequest([jsonDurationMetric([point])])), now);
    expect(rejection.rejected).toBe(0);
    expect(points).toEqual([{
      serviceName: SERVICE_NAME,
      streamKey: expect.stringMatching(/^[0-9a-f]{40}$/),
      temporality: 'delta',
      startTimeUnixNano: point.startTimeUnixNano,
      timeUnixNano: point.timeUnixNano,
      method: 'GET',
      route: '/health',
      statusCode: 200,
      callerServiceName: null,
      unitToMs: 1,
      count: 3,
      sum: 16,
      min: 2,
      max: 8,
      buckets: { kind: 'explicit', bounds: [5, 10], counts: [1, 2, 0] },
    }]);
  });

  it('keeps a bucketless histogram as one bucket and a missing sum as NaN', () => {
    const point = jsonHistogramPoint({ bucketCounts: [], explicitBounds: [], sum: undefined, min: undefined, max: undefined });
    const { points } = toDurationPoints(fromJson(jsonMetricsRequest([jsonDurationMetric([point])])), Date.now());
    expect(points[0]).toMatchObject({ count: 3, sum: NaN, min: null, max: null, buckets: { kind: 'explicit', bounds: [], counts: [3] } });
  });

  it.each([
    ['counts not summing to count', { bucketCounts: ['1', '1', '0'] }, 'bucketCounts should sum to count 3, instead got 2'],
    ['bucket arrays out of step', { bucketCounts: ['3', '0'] }, 'bucketCounts should have explicitBounds.length + 1 = 3 entries, instead got 2'],
    ['unsorted bounds', { explicitBounds: [10, 5] }, 'explicitBounds[1] should be greater than explicitBounds[0] 10, instead got 5'],
    ['a NaN sum', { sum: 'NaN' }, "sum should be a finite, non-negative duration, instead got 'NaN'"],
    ['an infinite max', { max: 'Infinity' }, "max should be a finite, non-negative duration, instead got 'Infinity'"],
    ['a negative min', { min: -1 }, "min should be a finite, non-negative duration, instead got '-1'"],
    ['a fractional count', { count: 2.5 }, "count should be a non-negative integer, instead got '2.5'"],
    ['a negative bucket count', { bucketCounts: ['1', '-1', '3'] }, "bucketCounts[1] should be a non-negative integer, instead got '-1'"],
    ['a start after the time', { startTimeUnixNano: '9999999999999999999' }, /^startTimeUnixNano should be at or before timeUnixNano \d+, instead got 9999999999999999999$/],
    ['a time 8 days old', { startTimeUnixNano: '0', timeUnixNano: String(BigInt(Date.now() - 8 * 86_400_000) * 1_000_000n) }, /^timeUnixNano should be within the last 7 days/],
  ])('rejects a point with %s, naming the field', (_name, overrides, reason) => {
    const request = jsonMetricsRequest([jsonDurationMetric([jsonHistogramPoint(overrides), jsonHistogramPoint()])]);
    const { points, rejection } = toDurationPoints(fromJson(request), Date.now());
    expect(points).toHaveLength(1);
    expect(rejection.rejected).toBe(1);
    expect(rejection.message.startsWith(`${POINT_PATH}.`)).toBe(true);
    const text = rejection.message.slice(POINT_PATH.length + 1);
    if (typeof reason === 'string') expect(text).toBe(reason);
    else expect(text).toMatch(reason);
  });

  it('rejects every point of a metric with unspecified temporality, naming the field', () => {
    const request = jsonMetricsRequest([jsonDurationMetric([jsonHistogramPoint(), jsonHistogramPoint()], 0)]);
    const { points, rejection } = toDurationPoints(fromJson(request), Date.now());
    expect(points).toEqual([]);
    expect(rejection).toEqual({
      rejected: 2,
      message: "resourceMetrics[0].scopeMetrics[0].metrics[0].histogram.aggregationTemporality should be 1 (delta) or 2 (cumulative), instead got '0'",
    });
  });

  it('ignores other metrics without rejecting them, and skips no-recorded-value points', () => {
    const request = jsonMetricsRequest([
      { name: 'http.client.request.duration', unit: 's', histogram: { dataPoints: [jsonHistogramPoint()], aggregationTemporality: 1 } },
      { name: 'orders.created', sum: { dataPoints: [{ asInt: '3' }], aggregationTemporality: 2, isMonotonic: true } },
      jsonDurationMetric([jsonHistogramPoint({ flags: 1, count: 0, bucketCounts: [] })]),
    ]);
    expect(toDurationPoints(fromJson(request), Date.now())).toEqual({ points: [], rejection: { rejected: 0, message: '' } });
  });

  it('rejects a duration metric that is not a histogram and a unit it cannot convert', () => {
    const request = jsonMetricsRequest([
      { name: 'http.server.duration', unit: 'ms', gauge: { dataPoints: [{ asDouble: 1 }] } },
      { name: 'http.server.request.duration', unit: 'us', histogram: { dataPoints: [jsonHistogramPoint()], aggregationTemporality: 2 } },
    ]);
    const { rejection } = toDurationPoints(fromJson(request), Date.now());
    expect(rejection).toEqual({
      rejected: 2,
      message: "resourceMetrics[0].scopeMetrics[0].metrics[0] (http.server.duration) should be a histogram or exponentialHistogram, instead got 'gauge'; "
        + "resourceMetrics[0].scopeMetrics[0].metrics[1].unit should be 's' or 'ms', instead got 'us'",
    });
  });

  describe('exponential histograms', () => {
    function exponentialRequest(overrides: Record<string, unknown>) {
      const point = { ...jsonHistogramPoint(), bucketCounts: undefined, explicitBounds: undefined, scale: 3, zeroCount: '1', positive: { offset: 5, bucketCounts: ['1', '1'] }, ...overrides };
      return jsonMetricsRequest([{ name: 'http.server.request.duration', unit: 's', exponentialHistogram: { dataPoints: [point], aggregationTemporality: 2 } }]);
    }
    const path = 'resourceMetrics[0].scopeMetrics[0].metrics[0].exponentialHistogram.dataPoints[0]';

    it('keeps the positive buckets, zero count, scale and offset', () => {
      const { points } = toDurationPoints(fromJson(exponentialRequest({})), Date.now());
      expect(points[0]).toMatchObject({ temporality: 'cumulative', unitToMs: 1000, count: 3, buckets: { kind: 'exponential', scale: 3, zeroCount: 1, offset: 5, counts: [1, 1] } });
    });

    it.each([
      ['a count in a negative bucket', { negative: { offset: 0, bucketCounts: ['0', '2'] }, count: '5' }, 'negative.bucketCounts should be empty (durations are never negative), instead got 2 negative values'],
      ['counts not summing to count', { count: '4' }, 'zeroCount + positive.bucketCounts should sum to count 4, instead got 3'],
      ['a scale out of range', { scale: 21 }, "scale should be an integer from -10 to 20, instead got '21'"],
    ])('rejects %s', (_name, overrides, reason) => {
      const { points, rejection } = toDurationPoints(fromJson(exponentialRequest(overrides)), Date.now());
      expect(points).toEqual([]);
      expect(rejection).toEqual({ rejected: 1, message: `${path}.${reason}` });
    });

    it('accepts negative buckets whose counts are all zero', () => {
      const { points } = toDurationPoints(fromJson(exponentialRequest({ negative: { offset: 0, bucketCounts: ['0'] } })), Date.now());
      expect(points).toHaveLength(1);
    });
  });
});
