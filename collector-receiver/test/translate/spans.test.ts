import { beforeAll, describe, expect, it } from 'vitest';
import { decodeTraceRequest } from '../../src/otlp/decode.js';
import type { IExportTraceServiceRequest } from '../../src/otlp/internal-types.js';
import fc from 'fast-check';
import { MAX_SPAN_NAME_CHARS, toRequestRows, toSpanKind, toTraceRows } from '../../src/translate/spans.js';
import { MAX_AGE_MS, MAX_FUTURE_MS } from '../../src/translate/structure.js';
import { UNMATCHED_ROUTE } from '../../src/translate/rows.js';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createSpans, encodeSpans, jsonServerSpan, jsonTraceRequest, SERVICE_NAME } from '../fixtures/otlp.js';

function fromJson(value: unknown): IExportTraceServiceRequest {
  return decodeTraceRequest(Buffer.from(JSON.stringify(value)), 'json');
}

describe('toRequestRows', () => {
  let spans: ReadableSpan[];
  beforeAll(async () => {
    spans = await createSpans();
  });

  it('gives identical rows for the same spans in protobuf and in JSON', () => {
    const now = Date.now();
    const fromProtobuf = toRequestRows(decodeTraceRequest(encodeSpans.protobuf(spans), 'protobuf'), now);
    const fromJsonBody = toRequestRows(decodeTraceRequest(encodeSpans.json(spans), 'json'), now);
    expect(fromProtobuf.rows).toHaveLength(2);
    expect(fromJsonBody).toEqual(fromProtobuf);
    expect(fromProtobuf.rejection).toEqual({ rejected: 0, message: '' });
  });

  it('turns each SERVER span into a row keyed by the HTTP attributes and skips other kinds', () => {
    const { rows } = toRequestRows(decodeTraceRequest(encodeSpans.protobuf(spans), 'protobuf'), Date.now());
    const stable = spans.find((span) => span.name === 'GET /users/:id')!;
    expect(rows[0]).toEqual({
      serviceName: SERVICE_NAME,
      method: 'GET',
      route: '/users/:id',
      statusCode: 200,
      responseTimeMs: 12.5,
      callerServiceName: 'frontend',
      startUnixMs: stable.startTime[0] * 1000 + Math.trunc(stable.startTime[1] / 1000) / 1000,
      traceId: stable.spanContext().traceId,
      spanId: stable.spanContext().spanId,
      parentSpanId: null,
    });
    expect(rows[1]).toMatchObject({ method: 'POST', statusCode: 500, route: UNMATCHED_ROUTE, callerServiceName: null, responseTimeMs: 50 });
  });

  it('rejects a malformed span naming the field and keeps the others', () => {
    const now = Date.now();
    const request = jsonTraceRequest([
      jsonServerSpan({}, now),
      jsonServerSpan({ traceId: 'abc' }, now),
      jsonServerSpan({ endTimeUnixNano: '1' }, now),
    ]);
    const { rows, rejection } = toRequestRows(fromJson(request), now);
    expect(rows).toHaveLength(1);
    expect(rejection.rejected).toBe(2);
    expect(rejection.message).toBe(
      "resourceSpans[0].scopeSpans[0].spans[1].traceId should be 32 hex characters, instead got 'abc'; "
      + `resourceSpans[0].scopeSpans[0].spans[2].endTimeUnixNano should be at or after startTimeUnixNano ${(request.resourceSpans as any)[0].scopeSpans[0].spans[2].startTimeUnixNano}, instead got 1`,
    );
  });

  it('names the byte length of a protobuf id of the wrong size', () => {
    const request: IExportTraceServiceRequest = {
      resourceSpans: [{ scopeSpans: [{}, { spans: [{}, {}, {}, {
        ...fromJson(jsonTraceRequest([jsonServerSpan()])).resourceSpans![0]!.scopeSpans![0]!.spans![0],
        traceId: new Uint8Array(5),
      }] }] }],
    };
    const { rejection } = toRequestRows(request, Date.now());
    // The three empty spans (kind unspecified, no ids) are rejected too: every span is a span row.
    expect(rejection.rejected).toBe(4);
    expect(rejection.message.split('; ').at(-1)).toBe('resourceSpans[0].scopeSpans[1].spans[3].traceId should be 16 bytes, instead got 5');
  });

  it.each([
    ['a zero trace id', { traceId: '0'.repeat(32) }, "traceId should be a non-zero id, instead got '00000000000000000000000000000000'"],
    ['a short span id', { spanId: 'abcd' }, "spanId should be 16 hex characters, instead got 'abcd'"],
    ['a bad parent id', { parentSpanId: 'zz' }, "parentSpanId should be 16 hex characters, instead got 'zz'"],
    ['a non-numeric start', { startTimeUnixNano: 'yesterday' }, "startTimeUnixNano should be a positive integer of nanoseconds, instead got 'yesterday'"],
    ['a start 8 days ago', { startTimeUnixNano: '1000000000000000000', endTimeUnixNano: '1000000000000000001' }, 'startTimeUnixNano should be within the last 7 days, instead got 1000000000000000000 (2001-09-09T01:46:40.000Z)'],
  ])('rejects %s', (_name, overrides, reason) => {
    const { rows, rejection } = toRequestRows(fromJson(jsonTraceRequest([jsonServerSpan(overrides)])), Date.now());
    expect(rows).toEqual([]);
    expect(rejection).toEqual({ rejected: 1, message: `resourceSpans[0].scopeSpans[0].spans[0].${reason}` });
  });

  it('rejects an end more than an hour in the future', () => {
    const now = Date.now();
    const end = (BigInt(now + 2 * 3600_000) * 1_000_000n).toString();
    const { rejection } = toRequestRows(fromJson(jsonTraceRequest([jsonServerSpan({ endTimeUnixNano: end }, now)])), now);
    expect(rejection.message).toMatch(/spans\[0\]\.endTimeUnixNano should be at most 1 hour in the future, instead got \d+/);
  });

  it('quotes the first five reasons and counts the rest', () => {
    const spansIn = Array.from({ length: 8 }, () => jsonServerSpan({ spanId: 'x' }));
    const { rejection } = toRequestRows(fromJson(jsonTraceRequest(spansIn)), Date.now());
    expect(rejection.rejected).toBe(8);
    expect(rejection.message.split('; ')).toHaveLength(6);
    expect(rejection.message.endsWith('; and 3 more')).toBe(true);
  });

  it('reads old semconv, upper-cases methods, maps unknown ones to _OTHER and never keeps a raw URL', () => {
    const attributes = (list: Array<[string, unknown]>) => list.map(([key, value]) => ({ key, value }));
    const request = jsonTraceRequest([
      jsonServerSpan({ attributes: attributes([['http.method', { stringValue: 'patch' }], ['http.status_code', { stringValue: '404' }]]) }),
      jsonServerSpan({ attributes: attributes([['http.request.method', { stringValue: 'PURGE' }], ['http.route', { stringValue: 'http://x/a?b=1' }]]) }),
      jsonServerSpan({ attributes: [] }),
    ]);
    const { rows } = toRequestRows(fromJson(request), Date.now());
    expect(rows.map((row) => [row.method, row.route, row.statusCode])).toEqual([
      ['PATCH', UNMATCHED_ROUTE, 404],
      ['_OTHER', UNMATCHED_ROUTE, 0],
      ['_OTHER', UNMATCHED_ROUTE, 0],
    ]);
  });

  it('accepts upper-case hex ids and the enum name for kind; a bad non-server span costs no request row', () => {
    const request = jsonTraceRequest([
      jsonServerSpan({ traceId: '5B8EFFF798038103D269B633813FC60C', kind: 'SPAN_KIND_SERVER' }),
      { kind: 3, traceId: 'nonsense' },
    ], '');
    const { rows, rejection } = toRequestRows(fromJson(request), Date.now());
    expect(rows).toHaveLength(1);
    expect(rows[0]!.traceId).toBe('5b8efff798038103d269b633813fc60c');
    expect(rows[0]!.serviceName).toBe('unknown_service');
    // Every span is validated now (its span row needs it), so the CLIENT span is counted as rejected.
    expect(rejection).toEqual({ rejected: 1, message: "resourceSpans[0].scopeSpans[0].spans[1].traceId should be 32 hex characters, instead got 'nonsense'" });
  });

  it('throws LAT_ERR_TRANSLATE_MALFORMED when a container has the wrong type', () => {
    expect(() => toRequestRows(fromJson({ resourceSpans: [{ scopeSpans: { spans: [] } }] }), Date.now()))
      .toThrow("resourceSpans[0].scopeSpans should be an array, instead got '{\"spans\":[]}'");
    try {
      toRequestRows(fromJson({ resourceSpans: 'x' }), Date.now());
    } catch (error) {
      expect(error).toMatchObject({ code: 'LAT_ERR_TRANSLATE_MALFORMED', statusCode: 400 });
    }
  });

  it('returns nothing for an empty request', () => {
    expect(toRequestRows({}, Date.now())).toEqual({ rows: [], rejection: { rejected: 0, message: '' } });
  });
});

describe('toTraceRows', () => {
  let spans: ReadableSpan[];
  beforeAll(async () => {
    spans = await createSpans();
  });

  it('gives identical rows for the same spans in protobuf and in JSON', () => {
    const now = Date.now();
    const fromProtobuf = toTraceRows(decodeTraceRequest(encodeSpans.protobuf(spans), 'protobuf'), now);
    const fromJsonBody = toTraceRows(decodeTraceRequest(encodeSpans.json(spans), 'json'), now);
    expect(fromProtobuf.spans).toHaveLength(4);
    expect(fromProtobuf.requests).toHaveLength(2);
    expect(fromJsonBody).toEqual(fromProtobuf);
    expect(fromProtobuf.rejection).toEqual({ rejected: 0, message: '' });
  });

  it('turns every span, of every kind, into a row with its HTTP fields when present', () => {
    const { spans: rows } = toTraceRows(decodeTraceRequest(encodeSpans.protobuf(spans), 'protobuf'), Date.now());
    const stable = spans.find((span) => span.name === 'GET /users/:id')!;
    expect(rows.find((r) => r.name === 'GET /users/:id')).toEqual({
      serviceName: SERVICE_NAME,
      traceId: stable.spanContext().traceId,
      spanId: stable.spanContext().spanId,
      parentSpanId: null,
      name: 'GET /users/:id',
      kind: 'server',
      startUnixMs: stable.startTime[0] * 1000 + Math.trunc(stable.startTime[1] / 1000) / 1000,
      durationMs: 12.5,
      statusCode: 0,
      error: false,
      httpMethod: 'GET',
      httpRoute: '/users/:id',
      httpStatusCode: 200,
    });
    // Old semantic conventions, status ERROR, no route: the request is counted under (unmatched).
    expect(rows.find((r) => r.name === 'POST')).toMatchObject({
      kind: 'server', httpMethod: 'POST', httpRoute: '(unmatched)', httpStatusCode: 500, statusCode: 2, error: true, durationMs: 50,
    });
    expect(rows.find((r) => r.name === 'SELECT')).toMatchObject({ kind: 'client', httpMethod: null, httpRoute: null, httpStatusCode: null, error: false });
    expect(rows.find((r) => r.name === 'work')).toMatchObject({ kind: 'internal', durationMs: 1 });
  });

  it('gives each SERVER span a request row with the same ids, times, service and route', () => {
    const { requests, spans: rows } = toTraceRows(decodeTraceRequest(encodeSpans.protobuf(spans), 'protobuf'), Date.now());
    const servers = rows.filter((r) => r.kind === 'server');
    expect(servers).toHaveLength(2);
    expect(servers.map((s) => [s.serviceName, s.traceId, s.spanId, s.startUnixMs, s.durationMs, s.httpRoute, s.httpMethod, s.httpStatusCode]))
      .toEqual(requests.map((r) => [r.serviceName, r.traceId, r.spanId, r.startUnixMs, r.responseTimeMs, r.route, r.method, r.statusCode]));
  });

  it('reads times and ids like exact BigInt arithmetic, for Long, decimal-string and number timestamps', () => {
    const now = Date.now();
    const nowNs = BigInt(now) * 1_000_000n;
    const long = (ns: bigint) => ({ low: Number(ns & 0xffffffffn) | 0, high: Number(ns >> 32n) | 0, unsigned: true });
    fc.assert(fc.property(
      fc.bigInt({ min: -(7n * 86_400_000_000_000n) - 1_000_000_000n, max: 3_601_000_000_000n }),
      fc.bigInt({ min: 0n, max: 20n * 86_400_000_000_000n }),
      fc.constantFrom('long', 'string', 'number'),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.boolean(),
      (offset, duration, spelling, idBytes, upper) => {
        const encode = (ns: bigint) => (spelling === 'long' ? long(ns) : spelling === 'string' ? ns.toString() : Number(ns));
        // What the receiver is actually given: a JSON number is a double.
        const given = (ns: bigint) => (spelling === 'number' ? BigInt(Number(ns)) : ns);
        const start = given(nowNs + offset);
        const end = given(nowNs + offset + duration);
        const hex = Buffer.from(idBytes).toString('hex');
        const request: IExportTraceServiceRequest = { resourceSpans: [{ scopeSpans: [{ spans: [{
          ...fromJson(jsonTraceRequest([jsonServerSpan()])).resourceSpans![0]!.scopeSpans![0]!.spans![0],
          traceId: spelling === 'long' ? idBytes : upper ? hex.toUpperCase() : hex,
          spanId: spelling === 'long' ? idBytes.subarray(0, 8) : hex.slice(0, 16),
          startTimeUnixNano: encode(nowNs + offset) as never, endTimeUnixNano: encode(nowNs + offset + duration) as never,
        }] }] }] };
        const result = toTraceRows(request, now);
        const ms = (ns: bigint) => Number(ns / 1_000_000n);
        const kept = /[^0]/.test(hex) && /[^0]/.test(hex.slice(0, 16)) && start > 0n && end >= start
          && ms(start) >= now - MAX_AGE_MS && ms(end) <= now + MAX_FUTURE_MS;
        expect(result.spans.length).toBe(kept ? 1 : 0);
        expect(result.requests.length).toBe(kept ? 1 : 0);
        expect(result.rejection.rejected).toBe(kept ? 0 : 1);
        if (!kept) return;
        const [span, row] = [result.spans[0]!, result.requests[0]!];
        expect([span.traceId, span.spanId, span.startUnixMs, span.durationMs])
          .toEqual([hex, hex.slice(0, 16), Number(start / 1000n) / 1000, Number(end - start) / 1e6]);
        expect([row.traceId, row.spanId, row.startUnixMs, row.responseTimeMs]).toEqual([span.traceId, span.spanId, span.startUnixMs, span.durationMs]);
      },
    ), { numRuns: 500 });
  });

  it.each([
    [0, 'unspecified'], [1, 'internal'], [2, 'server'], [3, 'client'], [4, 'producer'], [5, 'consumer'], [9, 'unspecified'],
    ['SPAN_KIND_CONSUMER', 'consumer'], ['bogus', 'unspecified'], [undefined, 'unspecified'],
  ] as const)('reads kind %s as %s', (kind, name) => {
    expect(toSpanKind(kind)).toBe(name);
  });

  it('reports every malformed span once, in order, naming the field, and stores it as neither row', () => {
    const now = Date.now();
    const request = fromJson(jsonTraceRequest([
      jsonServerSpan({ kind: 3 }, now),
      jsonServerSpan({ kind: 3, spanId: 'abc' }, now),
      jsonServerSpan({ kind: 2, traceId: 'abc' }, now),
      jsonServerSpan({ kind: 1, endTimeUnixNano: '1' }, now),
      jsonServerSpan({ kind: 2, attributes: [{ key: 'lattice.caller.service.name', value: { stringValue: 'a\u0000' } }] }, now),
      jsonServerSpan({ kind: 2 }, now),
    ]));
    const result = toTraceRows(request, now);
    expect(result.spans.map((s) => s.kind)).toEqual(['client', 'server']);
    expect(result.requests).toHaveLength(1);
    expect(result.rejection.rejected).toBe(4);
    expect(result.rejection.message.split('; ').map((m) => m.replace(/ should .*/, ''))).toEqual([
      'resourceSpans[0].scopeSpans[0].spans[1].spanId',
      'resourceSpans[0].scopeSpans[0].spans[2].traceId',
      'resourceSpans[0].scopeSpans[0].spans[3].endTimeUnixNano',
      'resourceSpans[0].scopeSpans[0].spans[4].attributes[lattice.caller.service.name]',
    ]);
  });

  it('rejects every span of a resource whose service name cannot be stored', () => {
    const now = Date.now();
    const result = toTraceRows(fromJson(jsonTraceRequest([jsonServerSpan({ kind: 2 }, now), jsonServerSpan({ kind: 3 }, now)], 'a\u0000')), now);
    expect(result).toMatchObject({ requests: [], spans: [], rejection: { rejected: 2 } });
    expect(result.rejection.message).toMatch(/^resourceSpans\[0\]\.resource\.attributes\[service\.name\] should be text without NUL/);
  });

  it('keeps the caller of a SERVER span on its request row only', () => {
    const now = Date.now();
    const result = toTraceRows(fromJson(jsonTraceRequest([
      jsonServerSpan({ kind: 2, attributes: [{ key: 'lattice.caller.service.name', value: { stringValue: 'gateway' } }] }, now),
    ])), now);
    expect(result.requests[0]).toMatchObject({ callerServiceName: 'gateway', method: '_OTHER', route: '(unmatched)', statusCode: 0 });
    expect(result.spans[0]).toMatchObject({ httpMethod: null, httpRoute: '(unmatched)', httpStatusCode: null });
  });

  it('rejects a span whose route cannot be stored, and cleans a name it can show', () => {
    const now = Date.now();
    const { spans: rows, rejection } = toTraceRows(fromJson(jsonTraceRequest([
      jsonServerSpan({ kind: 3, attributes: [{ key: 'http.route', value: { stringValue: '/a\u0000b' } }] }, now),
      jsonServerSpan({ kind: 1, name: `x\u0000${'y'.repeat(2 * MAX_SPAN_NAME_CHARS)}` }, now),
    ])), now);
    expect(rejection).toEqual({ rejected: 1, message: expect.stringMatching(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.attributes\[http\.route\] should be text without NUL/) });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.name).toHaveLength(MAX_SPAN_NAME_CHARS);
    expect(rows[0]!.name.startsWith('x\ufffdy')).toBe(true);
  });

  it('never keeps a raw URL as a route', () => {
    const { spans: rows, requests } = toTraceRows(fromJson(jsonTraceRequest([
      jsonServerSpan({ attributes: [{ key: 'http.route', value: { stringValue: '/users?id=42' } }] }),
    ])), Date.now());
    expect(rows[0]!.httpRoute).toBe('(unmatched)');
    expect(requests[0]!.route).toBe('(unmatched)');
  });
});
