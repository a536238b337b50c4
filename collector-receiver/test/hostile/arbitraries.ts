/**
 * fast-check arbitraries for the hostile-input corpus: protobuf-shaped bytes (random fields on the
 * real field numbers, nested), mutations of real exports, and OTLP/JSON requests whose every field
 * is sometimes right and sometimes any JSON value.
 */
import fc from 'fast-check';
import { double, fixed64, len, uint } from './wire.js';

const NOW_NS = BigInt(Date.now()) * 1_000_000n;

/** One protobuf field with a random wire type on a field number OTLP uses, nesting messages. */
export const protobufMessage: fc.Arbitrary<Buffer> = fc.letrec<{ message: Buffer; field: Buffer }>((tie) => ({
  message: fc.array(tie('field'), { maxLength: 6 }).map((parts) => Buffer.concat(parts)),
  field: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(fc.integer({ min: 1, max: 12 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([f, v]) => uint(f, v)),
    fc.tuple(fc.integer({ min: 1, max: 12 }), fc.oneof(
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.bigInt({ min: NOW_NS - 10n ** 12n, max: NOW_NS + 10n ** 9n }),
    )).map(([f, v]) => fixed64(f, v)),
    fc.tuple(fc.integer({ min: 1, max: 12 }), fc.double()).map(([f, v]) => double(f, v)),
    fc.tuple(fc.integer({ min: 1, max: 12 }), fc.uint8Array({ maxLength: 24 })).map(([f, b]) => len(f, Buffer.from(b))),
    fc.tuple(fc.integer({ min: 1, max: 12 }), tie('message')).map(([f, m]) => len(f, m)),
  ),
})).message;

/** A real export with 1–4 bytes XORed at random offsets. */
export function flippedBytes(bodies: Buffer[]): fc.Arbitrary<{ index: number; body: Buffer; flips: Array<[number, number]> }> {
  return fc.record({
    index: fc.nat({ max: bodies.length - 1 }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
  }).map(({ index, flips }) => {
    const body = Buffer.from(bodies[index]!);
    for (const [offset, mask] of flips) body[offset % body.length]! ^= mask;
    return { index, body, flips };
  });
}

/** Strings that have broken things elsewhere: markup, SQL, format strings, control characters. */
export const NASTY_STRINGS: readonly string[] = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(document.cookie)>',
  'javascript:alert(1)',
  "{{constructor.constructor('alert(1)')()}}",
  "'; DROP TABLE service_metrics; --",
  "Robert'); DROP TABLE services;--",
  "' OR '1'='1",
  '1; SELECT pg_sleep(10)',
  '$1',
  '$$; DELETE FROM services; $$',
  "E'\\x27'",
  '\\',
  '%s%s%s%n%x',
  '${process.exit(1)}',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  '\r\nSet-Cookie: hacked=1',
  '\u0007\u001b[31mred\u001b[0m',
  '\t\u000b\f\b',
  '\u2028\u2029',
  '\u202egnp.exe',
  '😀/emoji/👩‍👩‍👧',
  '../../../../etc/passwd',
  'C:\\Windows\\System32',
  '%00%0d%0a',
  'NULL',
  'null',
  'undefined',
  ' ',
  'ünïcödé/路由/маршрут',
  'x'.repeat(1000),
];

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<unknown>('NaN', 'Infinity', '-Infinity', '-1', '1e400', '18446744073709551616', '', null, [], {}, true,
    { low: -1, high: -1 }, { low: 1, high: 0, unsigned: true }, { toString: 1, valueOf: 1 }, ...NASTY_STRINGS),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.double(),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }).map(String),
);

/** Usually the valid shape, sometimes anything. */
function maybe<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: hostileValue });
}

const hex = (chars: number) => fc.uint8Array({ minLength: chars / 2, maxLength: chars / 2 }).map((b) => Buffer.from(b).toString('hex'));
const nanosNear = fc.integer({ min: -3_600_000, max: 3_000_000 }).map((ms) => (NOW_NS - BigInt(ms) * 1_000_000n).toString());
const attributeKey = fc.oneof(
  fc.constantFrom('http.route', 'http.request.method', 'http.response.status_code', 'http.method', 'http.status_code',
    'lattice.caller.service.name', 'service.name', 'url.path'),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

const anyValue: fc.Arbitrary<unknown> = fc.letrec<{ any: unknown }>((tie) => ({
  any: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ stringValue: maybe(fc.oneof(fc.constantFrom(...NASTY_STRINGS), fc.string({ unit: 'binary', maxLength: 30 }))) }),
    fc.record({ intValue: maybe(fc.oneof(fc.integer({ min: 0, max: 999 }).map(String), fc.integer())) }),
    fc.record({ doubleValue: maybe(fc.double()) }),
    fc.record({ boolValue: maybe(fc.boolean()) }),
    fc.record({ bytesValue: maybe(fc.base64String({ maxLength: 12 })) }),
    fc.record({ arrayValue: maybe(fc.record({ values: maybe(fc.array(tie('any'), { maxLength: 3 })) })) }),
    fc.record({ kvlistValue: maybe(fc.record({ values: maybe(fc.array(fc.record({ key: maybe(attributeKey), value: tie('any') }), { maxLength: 3 })) })) }),
  ),
})).any;

const attributes = maybe(fc.array(fc.record({ key: maybe(attributeKey), value: maybe(anyValue) }), { maxLength: 6 }));
const resource = maybe(fc.record({ attributes }, { requiredKeys: [] }));
const scope = maybe(fc.record({ name: maybe(fc.string()), version: maybe(fc.string()) }, { requiredKeys: [] }));

const jsonSpan = fc.record({
  traceId: maybe(hex(32)),
  spanId: maybe(hex(16)),
  parentSpanId: maybe(fc.oneof(fc.constant(''), hex(16))),
  name: maybe(fc.string({ unit: 'binary', maxLength: 20 })),
  kind: maybe(fc.constantFrom(2, 2, 2, 'SPAN_KIND_SERVER', 1, 3)),
  startTimeUnixNano: maybe(nanosNear),
  endTimeUnixNano: maybe(nanosNear),
  attributes,
  status: maybe(fc.record({ code: maybe(fc.constantFrom(0, 1, 2)) })),
}, { requiredKeys: [] });

/** An OTLP/JSON ExportTraceServiceRequest, valid at every level with probability ~4/5. */
export const jsonTraceRequest = fc.record({
  resourceSpans: maybe(fc.array(fc.record({
    resource,
    scopeSpans: maybe(fc.array(fc.record({ scope, spans: maybe(fc.array(maybe(jsonSpan), { maxLength: 4 })) }, { requiredKeys: [] }), { maxLength: 2 })),
  }, { requiredKeys: [] }), { maxLength: 2 })),
}, { requiredKeys: [] });

const count = fc.integer({ min: 0, max: 50 });
const jsonHistogramPoint = fc.record({
  attributes,
  startTimeUnixNano: maybe(nanosNear),
  timeUnixNano: maybe(nanosNear),
  count: maybe(count.map(String)),
  sum: maybe(fc.double({ min: 0, max: 1e6, noNaN: true })),
  min: maybe(fc.double({ min: 0, max: 10, noNaN: true })),
  max: maybe(fc.double({ min: 10, max: 1e6, noNaN: true })),
  bucketCounts: maybe(fc.array(maybe(count.map(String)), { maxLength: 5 })),
  explicitBounds: maybe(fc.array(maybe(fc.double({ min: 0, max: 1e4, noNaN: true })), { maxLength: 4 })),
  flags: maybe(fc.constantFrom(0, 1)),
}, { requiredKeys: [] });

const jsonExponentialPoint = fc.record({
  attributes,
  startTimeUnixNano: maybe(nanosNear),
  timeUnixNano: maybe(nanosNear),
  count: maybe(count.map(String)),
  sum: maybe(fc.double({ min: 0, max: 1e6, noNaN: true })),
  scale: maybe(fc.integer({ min: -12, max: 22 })),
  zeroCount: maybe(count.map(String)),
  positive: maybe(fc.record({ offset: maybe(fc.integer({ min: -1_000_000, max: 1_000_000 })), bucketCounts: maybe(fc.array(maybe(count.map(String)), { maxLength: 6 })) }, { requiredKeys: [] })),
  negative: maybe(fc.record({ offset: maybe(fc.integer()), bucketCounts: maybe(fc.array(maybe(count.map(String)), { maxLength: 3 })) }, { requiredKeys: [] })),
}, { requiredKeys: [] });

const temporality = maybe(fc.constantFrom(1, 2, 'AGGREGATION_TEMPORALITY_DELTA', 'AGGREGATION_TEMPORALITY_CUMULATIVE', 0, 3));
const jsonMetric = fc.record({
  name: maybe(fc.constantFrom('http.server.duration', 'http.server.request.duration', 'http.server.duration', 'orders.created')),
  unit: maybe(fc.constantFrom('ms', 's', '', 'min')),
  histogram: maybe(fc.record({ dataPoints: maybe(fc.array(maybe(jsonHistogramPoint), { maxLength: 3 })), aggregationTemporality: temporality }, { requiredKeys: [] })),
  exponentialHistogram: maybe(fc.record({ dataPoints: maybe(fc.array(maybe(jsonExponentialPoint), { maxLength: 3 })), aggregationTemporality: temporality }, { requiredKeys: [] })),
  sum: maybe(fc.record({ dataPoints: maybe(fc.array(fc.record({ asInt: fc.constant('1') }), { maxLength: 2 })) })),
}, { requiredKeys: ['name'] });

/** An OTLP/JSON ExportMetricsServiceRequest, valid at every level with probability ~4/5. */
export const jsonMetricsRequest = fc.record({
  resourceMetrics: maybe(fc.array(fc.record({
    resource,
    scopeMetrics: maybe(fc.array(fc.record({ scope, metrics: maybe(fc.array(maybe(jsonMetric), { maxLength: 3 })) }, { requiredKeys: [] }), { maxLength: 2 })),
  }, { requiredKeys: [] }), { maxLength: 2 })),
}, { requiredKeys: [] });
