/**
 * Regressions found by the hostile-input corpus (test/hostile/): OTLP/JSON and protobuf values
 * that made translation throw (answered 500 LAT_ERR_OTLP_INTERNAL) or produced rows the database
 * refused (answered 503 for the whole group-commit flush, every client's batch in it).
 */
import { describe, expect, it } from 'vitest';
import { LatticeError } from '../../src/errors.js';
import { toDurationPoints } from '../../src/translate/points.js';
import { toRequestRows } from '../../src/translate/spans.js';
import { MAX_NAME_BYTES, storableTextProblem, toWellFormed } from '../../src/translate/text.js';
import { describe as describeValue } from '../../src/translate/values.js';
import {
  jsonDurationMetric, jsonHistogramPoint, jsonMetricsRequest, jsonServerSpan, jsonTraceRequest,
} from '../fixtures/otlp.js';

const NOW = Date.now();
/** JSON.parse, as decode.ts does: hostile shapes arrive as plain parsed JSON. */
const parsed = <T>(value: unknown): T => JSON.parse(JSON.stringify(value)) as T;

function metricsWith(resourceAttributes: unknown[], pointOverrides: Record<string, unknown> = {}, scope: unknown = { name: 'x' }) {
  const request = jsonMetricsRequest([jsonDurationMetric([jsonHistogramPoint(pointOverrides, NOW)])]) as {
    resourceMetrics: Array<{ resource: { attributes: unknown[] }; scopeMetrics: Array<{ scope: unknown }> }>;
  };
  request.resourceMetrics[0]!.resource.attributes.push(...resourceAttributes);
  request.resourceMetrics[0]!.scopeMetrics[0]!.scope = scope;
  return parsed<Parameters<typeof toDurationPoints>[0]>(request);
}

describe('toDurationPoints on hostile attribute values (was: TypeError → 500)', () => {
  it.each([
    ['a number as bytesValue', { key: 'b', value: { bytesValue: 8e-98 } }],
    ['an object as bytesValue', { key: 'b', value: { bytesValue: { length: 3 } } }],
    ['a key whose toString/valueOf are not functions', { key: { toString: 1, valueOf: 1 }, value: { stringValue: 'v' } }],
  ])('keeps the point when a resource attribute has %s', (_name, attribute) => {
    const { points, rejection } = toDurationPoints(metricsWith([attribute]), NOW);
    expect(rejection.rejected).toBe(0);
    expect(points).toHaveLength(1);
  });

  it('gives different stream keys to a number and a base64 string as bytesValue', () => {
    const a = toDurationPoints(metricsWith([{ key: 'b', value: { bytesValue: 1 } }]), NOW).points[0]!.streamKey;
    const b = toDurationPoints(metricsWith([{ key: 'b', value: { bytesValue: 'AQ==' } }]), NOW).points[0]!.streamKey;
    expect(a).not.toBe(b);
  });

  it('keeps the point when the scope name or the flags are objects whose toString/valueOf are not functions', () => {
    const hostile = { toString: 1, valueOf: 1 };
    const { points } = toDurationPoints(metricsWith([], { flags: hostile }, { name: hostile }), NOW);
    expect(points).toHaveLength(1);
  });
});

describe('translation of containers nested 10^5 deep (was: RangeError → 500)', () => {
  const deep = (depth: number) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown;

  it('answers resourceSpans[0] as an array 10^5 deep with LAT_ERR_TRANSLATE_MALFORMED', () => {
    const call = () => toRequestRows(parsed({}) as never, NOW);
    expect(call).not.toThrow();
    let thrown: unknown;
    try {
      toRequestRows({ resourceSpans: [deep(100_000)] } as never, NOW);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LatticeError);
    expect((thrown as LatticeError).code).toBe('LAT_ERR_TRANSLATE_MALFORMED');
    expect((thrown as LatticeError).message).toBe("resourceSpans[0] should be an object, instead got 'a deeply nested array'");
  });

  it('describes a value too deep to stringify without overflowing the stack', () => {
    expect(describeValue(deep(100_000))).toBe('a deeply nested array');
  });
});

describe('exponential bucket offsets outside sint32 (was: "out of range for type integer" → 503)', () => {
  it.each([2 ** 31, -(2 ** 31) - 1, 2 ** 53])('rejects offset %d naming the field', (offset) => {
    const point = {
      startTimeUnixNano: String(BigInt(NOW - 60_000) * 1_000_000n), timeUnixNano: String(BigInt(NOW - 1000) * 1_000_000n),
      count: '1', sum: 1, scale: 3, zeroCount: '0', positive: { offset, bucketCounts: ['1'] },
    };
    const request = jsonMetricsRequest([{ name: 'http.server.duration', unit: 'ms', exponentialHistogram: { aggregationTemporality: 1, dataPoints: [point] } }]);
    const { points, rejection } = toDurationPoints(parsed(request), NOW);
    expect(points).toEqual([]);
    expect(rejection).toEqual({
      rejected: 1,
      message: `resourceMetrics[0].scopeMetrics[0].metrics[0].exponentialHistogram.dataPoints[0].positive.offset should be an integer from -2147483648 to 2147483647, instead got '${offset}'`,
    });
  });
});

describe('names PostgreSQL cannot store (was: the flush failed → 503 for every client in it)', () => {
  const span = (attributes: Array<[string, string]>, service = 'checkout') => parsed<Parameters<typeof toRequestRows>[0]>(jsonTraceRequest([
    jsonServerSpan({ attributes: attributes.map(([key, value]) => ({ key, value: { stringValue: value } })) }, NOW),
  ], service));

  it.each([
    ['a NUL in the route', [['http.route', '/a\u0000b']], 'checkout', 'spans[0].attributes[http.route] should be text without NUL (U+0000) characters, which PostgreSQL cannot store, instead got one at index 2'],
    ['a NUL as the caller', [['lattice.caller.service.name', '\u0000']], 'checkout', 'spans[0].attributes[lattice.caller.service.name] should be text without NUL'],
    ['a route over the byte limit', [['http.route', `/${'é'.repeat(MAX_NAME_BYTES / 2)}`]], 'checkout', `spans[0].attributes[http.route] should be at most ${MAX_NAME_BYTES} bytes of UTF-8, instead got ${MAX_NAME_BYTES + 1}`],
    ['a NUL in the service name', [], 'a\u0000', 'resourceSpans[0].resource.attributes[service.name] should be text without NUL'],
    ['a service name over the byte limit', [], 's'.repeat(MAX_NAME_BYTES + 1), `resourceSpans[0].resource.attributes[service.name] should be at most ${MAX_NAME_BYTES} bytes`],
  ] as const)('rejects a span with %s, naming the attribute', (_name, attributes, service, reason) => {
    const { rows, rejection } = toRequestRows(span(attributes as unknown as Array<[string, string]>, service), NOW);
    expect(rows).toEqual([]);
    expect(rejection.rejected).toBe(1);
    expect(rejection.message).toContain(reason);
  });

  it('rejects duration points whose route or service cannot be stored', () => {
    const withRoute = jsonMetricsRequest([jsonDurationMetric([jsonHistogramPoint({ attributes: [{ key: 'http.route', value: { stringValue: '\u0000' } }] }, NOW)])]);
    expect(toDurationPoints(parsed(withRoute), NOW).rejection.message).toContain('dataPoints[0].attributes[http.route] should be text without NUL');
    const withService = jsonMetricsRequest([jsonDurationMetric([jsonHistogramPoint({}, NOW), jsonHistogramPoint({}, NOW)])], 'x'.repeat(MAX_NAME_BYTES + 1));
    expect(toDurationPoints(parsed(withService), NOW).rejection).toMatchObject({ rejected: 2, message: expect.stringContaining('resourceMetrics[0].resource.attributes[service.name] should be at most') });
  });

  it('keeps a name of exactly the byte limit, and turns lone surrogates into U+FFFD as PostgreSQL would store them', () => {
    const route = `/${'x'.repeat(MAX_NAME_BYTES - 1)}`;
    const { rows } = toRequestRows(span([['http.route', route], ['lattice.caller.service.name', 'a\ud800']], '\udc00svc'), NOW);
    expect(rows.map((row) => [row.route, row.callerServiceName, row.serviceName])).toEqual([[route, 'a\ufffd', '\ufffdsvc']]);
  });
});

describe('text helpers', () => {
  it('toWellFormed keeps pairs and replaces lone halves', () => {
    expect(toWellFormed('😀 \ud800 \udfff \ud83d\ude00')).toBe('😀 \ufffd \ufffd 😀');
    expect(toWellFormed('ascii')).toBe('ascii');
  });

  it('storableTextProblem counts UTF-8 bytes, not UTF-16 units', () => {
    expect(storableTextProblem('👩'.repeat(256), 1024)).toBeUndefined(); // 1024 bytes
    expect(storableTextProblem('👩'.repeat(257), 1024)).toBe('should be at most 1024 bytes of UTF-8, instead got 1028');
  });
});
