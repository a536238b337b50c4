import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { decodeTraceRequest } from '../../src/otlp/decode.js';
import type { IExportTraceServiceRequest } from '../../src/otlp/internal-types.js';
import { combineRejections, MAX_SPAN_NAME_CHARS, toSpanKind, toSpanRows } from '../../src/translate/span-rows.js';
import { toRequestRows } from '../../src/translate/spans.js';
import { createSpans, encodeSpans, jsonServerSpan, jsonTraceRequest, SERVICE_NAME } from '../fixtures/otlp.js';

function fromJson(value: unknown): IExportTraceServiceRequest {
  return decodeTraceRequest(Buffer.from(JSON.stringify(value)), 'json');
}

describe('toSpanRows', () => {
  let spans: ReadableSpan[];
  beforeAll(async () => {
    spans = await createSpans();
  });

  it('gives identical rows for the same spans in protobuf and in JSON', () => {
    const now = Date.now();
    const fromProtobuf = toSpanRows(decodeTraceRequest(encodeSpans.protobuf(spans), 'protobuf'), now);
    const fromJsonBody = toSpanRows(decodeTraceRequest(encodeSpans.json(spans), 'json'), now);
    expect(fromProtobuf.rows).toHaveLength(4);
    expect(fromJsonBody).toEqual(fromProtobuf);
    expect(fromProtobuf.rejection).toEqual({ rejected: 0, message: '' });
  });

  it('turns every span, of every kind, into a row with its HTTP fields when present', () => {
    const { rows } = toSpanRows(decodeTraceRequest(encodeSpans.protobuf(spans), 'protobuf'), Date.now());
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

  it('keeps the span ids, times and service of the request rows for SERVER spans', () => {
    const request = decodeTraceRequest(encodeSpans.protobuf(spans), 'protobuf');
    const now = Date.now();
    const servers = toSpanRows(request, now).rows.filter((r) => r.kind === 'server');
    const requests = toRequestRows(request, now).rows;
    expect(servers.map((s) => [s.serviceName, s.traceId, s.spanId, s.startUnixMs, s.durationMs, s.httpRoute]))
      .toEqual(requests.map((r) => [r.serviceName, r.traceId, r.spanId, r.startUnixMs, r.responseTimeMs, r.route]));
  });

  it('reads times and ids exactly like toRequestRows, for Long, decimal-string and number timestamps', () => {
    const now = Date.now();
    const nowNs = BigInt(now) * 1_000_000n;
    const long = (ns: bigint) => ({ low: Number(ns & 0xffffffffn) | 0, high: Number(ns >> 32n) | 0, unsigned: true });
    fc.assert(fc.property(
      fc.bigInt({ min: -(7n * 86_400_000_000_000n) + 1_000_000n, max: 3_500_000_000_000n }),
      fc.bigInt({ min: 0n, max: 20n * 86_400_000_000_000n }),
      fc.constantFrom('long', 'string', 'number'),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.boolean(),
      (offset, duration, spelling, idBytes, upper) => {
        const start = nowNs + offset;
        const end = start + duration;
        const encode = (ns: bigint) => (spelling === 'long' ? long(ns) : spelling === 'string' ? ns.toString() : Number(ns));
        const hex = Buffer.from(idBytes).toString('hex');
        const request: IExportTraceServiceRequest = { resourceSpans: [{ scopeSpans: [{ spans: [{
          ...fromJson(jsonTraceRequest([jsonServerSpan()])).resourceSpans![0]!.scopeSpans![0]!.spans![0],
          traceId: spelling === 'long' ? idBytes : upper ? hex.toUpperCase() : hex,
          spanId: spelling === 'long' ? idBytes.subarray(0, 8) : hex.slice(0, 16),
          startTimeUnixNano: encode(start) as never, endTimeUnixNano: encode(end) as never,
        }] }] }] };
        const spanResult = toSpanRows(request, now);
        const requestResult = toRequestRows(request, now);
        expect(spanResult.rows.length).toBe(requestResult.rows.length);
        if (requestResult.rows.length === 0) {
          // Rejected alike: toRequestRows words it, toSpanRows leaves SERVER spans to it.
          expect(spanResult.rejection.rejected).toBe(0);
          return;
        }
        const [a, b] = [spanResult.rows[0]!, requestResult.rows[0]!];
        expect([a.traceId, a.spanId, a.startUnixMs, a.durationMs]).toEqual([b.traceId, b.spanId, b.startUnixMs, b.responseTimeMs]);
      },
    ), { numRuns: 500 });
  });

  it.each([
    [0, 'unspecified'], [1, 'internal'], [2, 'server'], [3, 'client'], [4, 'producer'], [5, 'consumer'], [9, 'unspecified'],
    ['SPAN_KIND_CONSUMER', 'consumer'], ['bogus', 'unspecified'], [undefined, 'unspecified'],
  ] as const)('reads kind %s as %s', (kind, name) => {
    expect(toSpanKind(kind)).toBe(name);
  });

  it('reports malformed non-SERVER spans naming the field and leaves SERVER ones to toRequestRows', () => {
    const now = Date.now();
    const request = fromJson(jsonTraceRequest([
      jsonServerSpan({ kind: 3 }, now),
      jsonServerSpan({ kind: 3, spanId: 'abc' }, now),
      jsonServerSpan({ kind: 2, traceId: 'abc' }, now),
      jsonServerSpan({ kind: 1, endTimeUnixNano: '1' }, now),
    ]));
    const spanResult = toSpanRows(request, now);
    expect(spanResult.rows).toHaveLength(1);
    expect(spanResult.rejection.rejected).toBe(2);
    expect(spanResult.rejection.message).toMatch(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]\.spanId should be 16 hex characters, instead got 'abc'; resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[3\]\.endTimeUnixNano should be at or after/);
    // Each bad span counted once in the export's partial success.
    const combined = combineRejections(toRequestRows(request, now).rejection, spanResult.rejection);
    expect(combined.rejected).toBe(3);
    expect(combined.message).toMatch(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[2\]\.traceId should be 32 hex characters/);
  });

  it('rejects a span whose route cannot be stored, and cleans a name it can show', () => {
    const now = Date.now();
    const { rows, rejection } = toSpanRows(fromJson(jsonTraceRequest([
      jsonServerSpan({ kind: 3, attributes: [{ key: 'http.route', value: { stringValue: '/a\u0000b' } }] }, now),
      jsonServerSpan({ kind: 1, name: `x\u0000${'y'.repeat(2 * MAX_SPAN_NAME_CHARS)}` }, now),
    ])), now);
    expect(rejection).toEqual({ rejected: 1, message: expect.stringMatching(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.attributes\[http\.route\] should be text without NUL/) });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.name).toHaveLength(MAX_SPAN_NAME_CHARS);
    expect(rows[0]!.name.startsWith('x\ufffdy')).toBe(true);
  });

  it('never keeps a raw URL as a route', () => {
    const { rows } = toSpanRows(fromJson(jsonTraceRequest([
      jsonServerSpan({ attributes: [{ key: 'http.route', value: { stringValue: '/users?id=42' } }] }),
    ])), Date.now());
    expect(rows[0]!.httpRoute).toBe('(unmatched)');
  });
});
