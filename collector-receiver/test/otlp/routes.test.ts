import { gzipSync } from 'node:zlib';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter as HttpMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as HttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ReceiverConfig } from '../../src/config.js';
import { LatticeError } from '../../src/errors.js';
import { decodeStatus, decodeTraceResponse } from '../../src/otlp/decode.js';
import { getOtlpCounters, registerOtlpRoutes } from '../../src/otlp/routes.js';
import type { IngestWriter, IngestWriterStats } from '../../src/pipeline/ingest-writer.js';
import type { IngestBatch } from '../../src/translate/rows.js';
import { createResourceMetrics, createSpans, encodeSpans, jsonServerSpan, jsonTraceRequest } from '../fixtures/otlp.js';

const MAX_BODY_BYTES = 64 * 1024;
const MAX_DECOMPRESSED_BYTES = 256 * 1024;

const config: ReceiverConfig = {
  host: '127.0.0.1',
  port: 0,
  databaseUrl: undefined,
  dataDir: '.lattice-test',
  maxBodyBytes: MAX_BODY_BYTES,
  maxDecompressedBytes: MAX_DECOMPRESSED_BYTES,
  writeBatchRows: 100,
  writeBatchPoints: 100,
  maxQueuedRows: 1000,
  logLevel: 'silent',
};

/** Records every batch; `failWith` makes the next writes reject. */
class RecordingWriter implements IngestWriter {
  batches: IngestBatch[] = [];
  failWith: unknown = undefined;

  async write(batch: IngestBatch): Promise<void> {
    if (this.failWith !== undefined) throw this.failWith;
    this.batches.push(batch);
  }

  stats(): IngestWriterStats {
    return { queuedRows: 0, committedRequests: 0, committedPoints: 0, failedBatches: 0 };
  }

  async close(): Promise<void> {}
}

const writer = new RecordingWriter();
let app: FastifyInstance;
let baseUrl: string;

beforeAll(async () => {
  app = Fastify();
  registerOtlpRoutes(app, { writer, config });
  // A route outside the plugin: its JSON parsing must be untouched by the OTLP parsers.
  app.post('/echo', async (request) => request.body);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await app.close();
});

beforeEach(() => {
  writer.batches = [];
  writer.failWith = undefined;
});

function exportWith(exporter: { export(items: never, done: (result: ExportResult) => void): void; shutdown(): Promise<void> }, items: unknown): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(items as never, resolve));
}

describe('registerOtlpRoutes with the official exporters', () => {
  let spans: ReadableSpan[];
  beforeAll(async () => {
    spans = await createSpans();
  });

  it.each([
    ['http/protobuf', (url: string) => new ProtoTraceExporter({ url })],
    ['http/protobuf + gzip', (url: string) => new ProtoTraceExporter({ url, compression: CompressionAlgorithm.GZIP })],
    ['http/json', (url: string) => new HttpTraceExporter({ url })],
    ['http/json + gzip', (url: string) => new HttpTraceExporter({ url, compression: CompressionAlgorithm.GZIP })],
  ])('stores the SERVER spans a %s trace exporter sends', async (_name, create) => {
    const exporter = create(`${baseUrl}/v1/traces`);
    const result = await exportWith(exporter, spans);
    await exporter.shutdown();
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(writer.batches).toHaveLength(1);
    expect(writer.batches[0]!.durationPoints).toEqual([]);
    expect(writer.batches[0]!.requests.map((row) => [row.method, row.route, row.statusCode])).toEqual([
      ['GET', '/users/:id', 200],
      ['POST', '(unmatched)', 500],
    ]);
  });

  it.each([
    ['http/protobuf', 'delta', false, (url: string) => new ProtoMetricExporter({ url })],
    ['http/protobuf + gzip', 'cumulative', true, (url: string) => new ProtoMetricExporter({ url, compression: CompressionAlgorithm.GZIP })],
    ['http/json', 'cumulative', false, (url: string) => new HttpMetricExporter({ url })],
    ['http/json + gzip', 'delta', true, (url: string) => new HttpMetricExporter({ url, compression: CompressionAlgorithm.GZIP })],
  ] as const)('stores the duration points a %s metric exporter sends (%s, exponential: %s)', async (_name, temporality, exponential, create) => {
    const metrics = await createResourceMetrics({ temporality, exponential });
    const exporter = create(`${baseUrl}/v1/metrics`);
    const result = await exportWith(exporter, metrics);
    await exporter.shutdown();
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(writer.batches).toHaveLength(1);
    const points = writer.batches[0]!.durationPoints;
    expect(points).toHaveLength(2);
    expect(points.every((point) => point.temporality === temporality && point.buckets.kind === (exponential ? 'exponential' : 'explicit'))).toBe(true);
  });

  it('counts accepted spans and points', () => {
    const counters = getOtlpCounters(app);
    expect(counters.acceptedSpans).toBe(8);
    expect(counters.acceptedPoints).toBe(8);
  });
});

interface InvalidCase {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  status: number;
  /** decoded google.rpc.Status, or the success body */
  expected: { code: number; message: string } | string;
  headersOut?: Record<string, string>;
}

const bomb = gzipSync(Buffer.alloc(MAX_DECOMPRESSED_BYTES + 1));
const oversized = Buffer.alloc(MAX_BODY_BYTES + 1);

const invalidCases: InvalidCase[] = [
  {
    name: 'a wrong content type',
    headers: { 'content-type': 'text/plain' },
    body: 'hello',
    status: 415,
    expected: { code: 3, message: "LAT_ERR_OTLP_UNSUPPORTED_MEDIA_TYPE: Content-Type should be application/x-protobuf or application/json, instead got 'text/plain'; set OTEL_EXPORTER_OTLP_PROTOCOL to http/protobuf or http/json" },
  },
  {
    name: 'no content type',
    body: Buffer.from('hello'), // a Buffer body: fetch adds no Content-Type
    status: 415,
    expected: { code: 3, message: "LAT_ERR_OTLP_UNSUPPORTED_MEDIA_TYPE: Content-Type should be application/x-protobuf or application/json, instead got '(none)'; set OTEL_EXPORTER_OTLP_PROTOCOL to http/protobuf or http/json" },
  },
  {
    name: 'a wrong method',
    method: 'GET',
    status: 405,
    expected: { code: 12, message: "LAT_ERR_OTLP_METHOD_NOT_ALLOWED: method should be POST, instead got 'GET'; OTLP/HTTP exports are POSTed to /v1/traces and /v1/metrics" },
    headersOut: { allow: 'POST' },
  },
  {
    name: 'garbage protobuf',
    headers: { 'content-type': 'application/x-protobuf' },
    body: 'this is not protobuf',
    status: 400,
    expected: { code: 3, message: "LAT_ERR_OTLP_BAD_PROTOBUF: body should be a protobuf-encoded ExportTraceServiceRequest, instead decoding failed with 'invalid wire type 4 at offset 1'" },
  },
  {
    name: 'bad JSON',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: '{"resourceSpans":',
    status: 400,
    expected: { code: 3, message: "LAT_ERR_OTLP_BAD_JSON: body should be an OTLP/JSON ExportTraceServiceRequest object, instead got 'Unexpected end of JSON input'" },
  },
  {
    name: 'JSON with a container of the wrong type',
    headers: { 'content-type': 'application/json' },
    body: '{"resourceSpans":{"scopeSpans":[]}}',
    status: 400,
    expected: { code: 3, message: "LAT_ERR_TRANSLATE_MALFORMED: resourceSpans should be an array, instead got '{\"scopeSpans\":[]}'" },
  },
  {
    name: 'a body over the cap',
    headers: { 'content-type': 'application/x-protobuf' },
    body: oversized,
    status: 413,
    expected: { code: 3, message: `LAT_ERR_OTLP_BODY_TOO_LARGE: request body should be at most ${MAX_BODY_BYTES} bytes as sent, instead got ${MAX_BODY_BYTES + 1}; export smaller batches (OTEL_BSP_MAX_EXPORT_BATCH_SIZE) or raise LATTICE_MAX_BODY_BYTES` },
  },
  {
    name: 'a gzip bomb over the decompressed cap',
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
    body: bomb,
    status: 413,
    expected: { code: 3, message: `LAT_ERR_OTLP_DECOMPRESSED_TOO_LARGE: request body should be at most ${MAX_DECOMPRESSED_BYTES} bytes after decompression, instead got more; export smaller batches or raise LATTICE_MAX_DECOMPRESSED_BYTES` },
  },
  {
    name: 'a body that is not gzip',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: '{}',
    status: 400,
    expected: { code: 3, message: "LAT_ERR_OTLP_BAD_GZIP: body should be gzip data as Content-Encoding: gzip says, instead decompressing failed with 'incorrect header check'" },
  },
  {
    name: 'an unknown content encoding',
    headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
    body: '{}',
    status: 415,
    expected: { code: 3, message: "LAT_ERR_OTLP_UNSUPPORTED_ENCODING: Content-Encoding should be gzip or identity, instead got 'br'; set OTEL_EXPORTER_OTLP_COMPRESSION to gzip or none" },
  },
  {
    name: 'an empty protobuf body',
    headers: { 'content-type': 'application/x-protobuf' },
    body: '',
    status: 200,
    expected: '',
  },
  {
    name: 'an empty JSON body',
    headers: { 'content-type': 'application/json' },
    body: '',
    status: 200,
    expected: '{}',
  },
  {
    name: 'an upper-case content type with parameters',
    path: '/v1/metrics',
    headers: { 'content-type': 'Application/JSON; charset=UTF-8' },
    body: '{"resourceMetrics":[]}',
    status: 200,
    expected: '{}',
  },
  {
    name: 'an empty JSON object',
    path: '/v1/metrics',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    status: 200,
    expected: '{}',
  },
];

describe('registerOtlpRoutes with invalid requests', () => {
  it.each(invalidCases)('answers $name with $status', async (testCase) => {
    const response = await fetch(`${baseUrl}${testCase.path ?? '/v1/traces'}`, {
      method: testCase.method ?? 'POST',
      headers: testCase.headers,
      body: testCase.method === 'GET' ? undefined : testCase.body,
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(response.status).toBe(testCase.status);
    for (const [name, value] of Object.entries(testCase.headersOut ?? {})) expect(response.headers.get(name)).toBe(value);
    if (typeof testCase.expected === 'string') {
      expect(bytes.toString('utf8')).toBe(testCase.expected);
    } else if (response.headers.get('content-type')?.startsWith('application/x-protobuf')) {
      expect(decodeStatus(bytes)).toEqual(testCase.expected);
    } else {
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(JSON.parse(bytes.toString('utf8'))).toEqual(testCase.expected);
    }
    expect(writer.batches).toEqual([]);
  });

  it('answers a mix of good and bad JSON spans with partial success in JSON and stores the good ones', async () => {
    const json = jsonTraceRequest([jsonServerSpan(), jsonServerSpan({ spanId: 'abc' }), jsonServerSpan()]);
    const response = await fetch(`${baseUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: "resourceSpans[0].scopeSpans[0].spans[1].spanId should be 16 hex characters, instead got 'abc'" },
    });
    expect(writer.batches[0]!.requests).toHaveLength(2);
  });

  it('answers a fully accepted protobuf export with an empty ExportTraceServiceResponse', async () => {
    const ok = await fetch(`${baseUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: encodeSpans.protobuf(await createSpans()) });
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).length).toBe(0);
  });

  it('answers partial success in protobuf when a protobuf span is bad', async () => {
    const spans = await createSpans();
    const good = spans.find((span) => span.name === 'GET /users/:id')!;
    const bad = { ...good, spanContext: () => ({ ...good.spanContext(), traceId: '0'.repeat(32) }) } as ReadableSpan;
    const response = await fetch(`${baseUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: encodeSpans.protobuf([good, bad]),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    expect(decodeTraceResponse(Buffer.from(await response.arrayBuffer()))).toEqual({
      rejectedSpans: 1,
      errorMessage: "resourceSpans[0].scopeSpans[0].spans[1].traceId should be a non-zero id, instead got '00000000000000000000000000000000'",
    });
    expect(writer.batches[0]!.requests).toHaveLength(1);
  });

  it.each([
    ['a saturated queue (429)', new LatticeError('LAT_ERR_PIPELINE_SATURATED', 429, 'queue full', { retryAfterSeconds: 2 }), 429, '2', 8, 'LAT_ERR_PIPELINE_SATURATED: queue full'],
    ['an unavailable store (503)', new LatticeError('LAT_ERR_STORE_UNAVAILABLE', 503, 'database down', { retryAfterSeconds: 7 }), 503, '7', 14, 'LAT_ERR_STORE_UNAVAILABLE: database down'],
    ['any other failure', new Error('boom'), 503, '5', 14, "LAT_ERR_OTLP_EXPORT_FAILED: the export should have been committed, instead writing it failed with 'boom'; nothing was stored, retry later"],
  ])('answers %s from the writer with retry status and Retry-After', async (_name, failure, status, retryAfter, code, message) => {
    writer.failWith = failure;
    const before = getOtlpCounters(app).refusedSpans;
    const response = await fetch(`${baseUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(jsonTraceRequest([jsonServerSpan()])),
    });
    expect(response.status).toBe(status);
    expect(response.headers.get('retry-after')).toBe(retryAfter);
    expect(await response.json()).toEqual({ code, message });
    expect(getOtlpCounters(app).refusedSpans).toBe(before + 1);
  });

  it('answers protobuf requests with protobuf Status bodies', async () => {
    writer.failWith = new LatticeError('LAT_ERR_PIPELINE_SATURATED', 429, 'queue full', { retryAfterSeconds: 1 });
    const spans = await createSpans();
    const response = await fetch(`${baseUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: encodeSpans.protobuf(spans) });
    expect(response.status).toBe(429);
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    expect(decodeStatus(Buffer.from(await response.arrayBuffer()))).toEqual({ code: 8, message: 'LAT_ERR_PIPELINE_SATURATED: queue full' });
  });

  it('does not call the writer when nothing is left to write', async () => {
    const response = await fetch(`${baseUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(jsonTraceRequest([{ kind: 3 }])),
    });
    expect(response.status).toBe(200);
    expect(writer.batches).toEqual([]);
  });

  it('leaves the JSON parsing of routes outside the plugin alone', async () => {
    const response = await fetch(`${baseUrl}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(await response.json()).toEqual({ a: 1 });
  });
});
