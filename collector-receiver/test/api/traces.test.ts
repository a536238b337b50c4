import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as HttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../src/config.js';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { buildServer } from '../../src/server.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { createJourney, type Journey } from './traces-journey.js';

type Exporter = { export(spans: ReadableSpan[], done: (result: ExportResult) => void): void; shutdown(): Promise<void> };

async function exportWith(exporter: Exporter, spans: ReadableSpan[]): Promise<void> {
  const result = await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
  expect(result.error).toBeUndefined();
  expect(result.code).toBe(ExportResultCode.SUCCESS);
}

interface TraceBody {
  traceId: string; startTime: string; durationMs: number; truncated: boolean;
  spans: Array<{ spanId: string; parentSpanId: string | null; service: string; name: string; kind: string; method: string | null;
    route: string | null; statusCode: number | null; startTime: string; offsetMs: number; durationMs: number; depth: number; error: boolean }>;
}

describe.each(testBackends())('GET /traces/:traceId on %s', (backend) => {
  let t: TestDb;
  let app: FastifyInstance;
  let base: string;
  let journey: Journey;
  let closeWriter: () => Promise<void>;

  beforeAll(async () => {
    t = await createTestDb(backend);
    const writer = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000 });
    app = await buildServer({ ...loadConfig({}), logLevel: 'silent' }, { db: t.db, writer });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    closeWriter = () => writer.close();
    journey = await createJourney();
    // Three "processes", children exported before their parents, both OTLP encodings.
    const proto = () => new ProtoTraceExporter({ url: `${base}/v1/traces` });
    const json = () => new HttpTraceExporter({ url: `${base}/v1/traces` });
    for (const [exporter, spans] of [[proto(), journey.byService.orders], [json(), journey.byService.users], [proto(), journey.byService.gateway]] as const) {
      await exportWith(exporter, spans);
      await exporter.shutdown();
    }
  }, 180_000);
  afterAll(async () => {
    await app?.close();
    await closeWriter?.();
    await t?.drop();
  });

  const get = async (path: string) => {
    const res = await fetch(base + path);
    return { status: res.status, body: await res.json() as Record<string, unknown> };
  };

  it('answers every span of the trace across services, parents first, with depths and offsets', async () => {
    const { status, body } = await get(`/traces/${journey.traceId}`);
    expect(status).toBe(200);
    const trace = body as unknown as TraceBody;
    const { ids } = journey;
    expect(trace.traceId).toBe(journey.traceId);
    expect(trace.durationMs).toBe(200);
    expect(trace.truncated).toBe(false);
    expect(trace.spans.map((s) => [s.service, s.kind, s.name, s.depth, s.spanId])).toEqual([
      ['gateway', 'server', 'GET /api/users/:id', 0, ids.gwServer],
      ['gateway', 'client', 'GET', 1, ids.gwClient],
      ['users', 'server', 'GET /users/:id', 2, ids.usersServer],
      ['users', 'internal', 'load-user', 3, ids.usersInternal],
      ['users', 'client', 'GET', 3, ids.usersClient],
      ['orders', 'server', 'GET /orders/:userId', 4, ids.ordersServer],
      ['orders', 'producer', 'orders.audit publish', 5, ids.ordersProducer],
    ]);
    // Every parent is listed before its child.
    const position = new Map(trace.spans.map((s, i) => [s.spanId, i]));
    for (const span of trace.spans.slice(1)) expect(position.get(span.parentSpanId!)).toBeLessThan(position.get(span.spanId)!);
    expect(trace.spans[0]).toEqual({
      spanId: ids.gwServer, parentSpanId: null, service: 'gateway', name: 'GET /api/users/:id', kind: 'server',
      method: 'GET', route: '/api/users/:id', statusCode: 200, startTime: trace.startTime, offsetMs: 0, durationMs: 200,
      depth: 0, error: false,
    });
    expect(trace.spans[5]).toMatchObject({ parentSpanId: ids.usersClient, offsetMs: 45, durationMs: 90, statusCode: 500, error: true, route: '/orders/:userId' });
    expect(trace.spans[4]).toMatchObject({ kind: 'client', method: 'GET', route: null, statusCode: 500, error: true });
    expect(trace.spans[3]).toMatchObject({ method: null, route: null, statusCode: null, error: false, offsetMs: 12, durationMs: 20 });
  });

  it('keeps request metrics to SERVER spans', async () => {
    const rows = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM service_metrics WHERE trace_id = $1', [journey.traceId]);
    expect(rows.rows[0]!.n).toBe(3);
  });

  it('stores no duplicate span when an export is retried', async () => {
    const exporter = new ProtoTraceExporter({ url: `${base}/v1/traces` });
    await exportWith(exporter, [...journey.byService.gateway, ...journey.byService.orders]);
    await exporter.shutdown();
    const rows = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM spans WHERE trace_id = $1', [journey.traceId]);
    expect(rows.rows[0]!.n).toBe(7);
    const { body } = await get(`/traces/${journey.traceId}`);
    expect((body as unknown as TraceBody).spans).toHaveLength(7);
  });

  it('finds the trace by an upper-case id too', async () => {
    const { status, body } = await get(`/traces/${journey.traceId.toUpperCase()}`);
    expect(status).toBe(200);
    expect(body.traceId).toBe(journey.traceId);
  });

  it('answers 404 naming the trace when no span of it is stored', async () => {
    const unknown = 'ab'.repeat(16);
    const { status, body } = await get(`/traces/${unknown}`);
    expect(status).toBe(404);
    expect(body.code).toBe('LAT_ERR_API_UNKNOWN_TRACE');
    expect(body.message).toContain(unknown);
  });

  it.each([
    ['too short', 'abc123'],
    ['not hex', 'z'.repeat(32)],
    ['all zeros (the invalid id)', '0'.repeat(32)],
    ['too long', 'a'.repeat(33)],
  ])('answers 400 naming traceId for an id that is %s', async (_name, id) => {
    const { status, body } = await get(`/traces/${id}`);
    expect(status).toBe(400);
    expect(body.code).toBe('LAT_ERR_API_INVALID_TRACE_ID');
    expect(body.message).toMatch(/^path parameter traceId should be 32 hex characters/);
  });
});
