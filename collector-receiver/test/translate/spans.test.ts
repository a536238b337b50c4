import { beforeAll, describe, expect, it } from 'vitest';
import { decodeTraceRequest } from '../../src/otlp/decode.js';
import type { IExportTraceServiceRequest } from '../../src/otlp/internal-types.js';
import { toRequestRows } from '../../src/translate/spans.js';
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
    expect(rejection).toEqual({ rejected: 1, message: 'resourceSpans[0].scopeSpans[1].spans[3].traceId should be 16 bytes, instead got 5' });
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

  it('accepts upper-case hex ids and the enum name for kind, and skips non-server spans unvalidated', () => {
    const request = jsonTraceRequest([
      jsonServerSpan({ traceId: '5B8EFFF798038103D269B633813FC60C', kind: 'SPAN_KIND_SERVER' }),
      { kind: 3, traceId: 'nonsense' },
    ], '');
    const { rows, rejection } = toRequestRows(fromJson(request), Date.now());
    expect(rows).toHaveLength(1);
    expect(rows[0]!.traceId).toBe('5b8efff798038103d269b633813fc60c');
    expect(rows[0]!.serviceName).toBe('unknown_service');
    expect(rejection.rejected).toBe(0);
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
