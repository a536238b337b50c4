import { describe, expect, it } from 'vitest';
import { hrTimeToNanoseconds } from '@opentelemetry/core';
import {
  decodeMetricsRequest, decodeMetricsResponse, decodeStatus, decodeTraceRequest, decodeTraceResponse,
  encodeMetricsResponse, encodeStatus, encodeTraceResponse,
} from '../../src/otlp/decode.js';
import { toBigInt } from '../../src/translate/values.js';
import { createResourceMetrics, createSpans, encodeMetrics, encodeSpans } from '../fixtures/otlp.js';

describe('decodeTraceRequest', () => {
  it('decodes the official protobuf serializer output, keeping ids as bytes and nanoseconds exact', async () => {
    const spans = await createSpans();
    const request = decodeTraceRequest(encodeSpans.protobuf(spans), 'protobuf');
    const decoded = request.resourceSpans![0]!.scopeSpans![0]!.spans!;
    expect(decoded).toHaveLength(spans.length);
    const span = decoded[0]!;
    expect(Buffer.from(span.traceId as Uint8Array).toString('hex')).toBe(spans[0]!.spanContext().traceId);
    const expectedNanos = BigInt(spans[0]!.startTime[0]) * 1_000_000_000n + BigInt(spans[0]!.startTime[1]);
    expect(toBigInt(span.startTimeUnixNano)).toBe(expectedNanos);
    expect(span.kind).toBe(2);
  });

  it('decodes the official JSON serializer output', async () => {
    const spans = await createSpans();
    const request = decodeTraceRequest(encodeSpans.json(spans), 'json');
    const span = request.resourceSpans![0]!.scopeSpans![0]!.spans![0]!;
    expect(span.traceId).toBe(spans[0]!.spanContext().traceId);
    expect(Number(toBigInt(span.startTimeUnixNano)) / 1e6).toBeCloseTo(hrTimeToNanoseconds(spans[0]!.startTime) / 1e6, 3);
  });

  it('treats an empty body as an empty request', () => {
    expect(decodeTraceRequest(Buffer.alloc(0), 'protobuf')).toEqual({});
    expect(decodeTraceRequest(Buffer.alloc(0), 'json')).toEqual({});
  });

  it.each([
    ['protobuf', Buffer.from('this is not protobuf'), 'LAT_ERR_OTLP_BAD_PROTOBUF', /^body should be a protobuf-encoded ExportTraceServiceRequest, instead decoding failed with '.+'$/],
    ['json', Buffer.from('{"resourceSpans":'), 'LAT_ERR_OTLP_BAD_JSON', /^body should be an OTLP\/JSON ExportTraceServiceRequest object, instead got '.+'$/],
    ['json', Buffer.from('[1,2]'), 'LAT_ERR_OTLP_BAD_JSON', /instead got 'an array'$/],
  ] as const)('throws a 400 coded error for a malformed %s body', (encoding, body, code, message) => {
    try {
      decodeTraceRequest(body, encoding);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code, statusCode: 400 });
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe('decodeMetricsRequest', () => {
  it('decodes histogram points from the official protobuf serializer', async () => {
    const metrics = await createResourceMetrics({ temporality: 'delta' });
    const request = decodeMetricsRequest(encodeMetrics.protobuf(metrics), 'protobuf');
    const metric = request.resourceMetrics![0]!.scopeMetrics![0]!.metrics!.find((m) => m.name === 'http.server.request.duration')!;
    expect(metric.unit).toBe('s');
    expect(metric.histogram!.aggregationTemporality).toBe(1);
    expect(metric.histogram!.dataPoints).toHaveLength(2);
  });
});

describe('responses', () => {
  it('encodes partial success in both encodings and an empty success as empty', () => {
    const rejection = { rejected: 2, message: 'spans[0].traceId bad' };
    expect(decodeTraceResponse(encodeTraceResponse(rejection, 'protobuf') as Buffer)).toEqual({ rejectedSpans: 2, errorMessage: 'spans[0].traceId bad' });
    expect(JSON.parse(encodeTraceResponse(rejection, 'json') as string)).toEqual({ partialSuccess: { rejectedSpans: '2', errorMessage: 'spans[0].traceId bad' } });
    expect(decodeMetricsResponse(encodeMetricsResponse({ rejected: 1, message: 'x' }, 'protobuf') as Buffer)).toEqual({ rejectedDataPoints: 1, errorMessage: 'x' });
    expect((encodeTraceResponse({ rejected: 0, message: '' }, 'protobuf') as Buffer).length).toBe(0);
    expect(encodeMetricsResponse({ rejected: 0, message: '' }, 'json')).toBe('{}');
  });

  it('encodes google.rpc.Status in both encodings', () => {
    expect(decodeStatus(encodeStatus(3, 'bad', 'protobuf') as Buffer)).toEqual({ code: 3, message: 'bad' });
    expect(JSON.parse(encodeStatus(14, 'later', 'json') as string)).toEqual({ code: 14, message: 'later' });
  });
});
