/**
 * The documented sender line works with real OpenTelemetry code, nothing hand-built:
 *   OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20lat_ingest_…
 * The exporters parse the variable as comma-separated key=value pairs and percent-decode the
 * values (@opentelemetry/core parseKeyPairsIntoRecord; our SDK's parseKeyValueList does the same),
 * so %20 becomes the space of "Bearer <key>". Checked with the official proto trace exporter
 * configured by the environment only, and with our preload SDK in a spawned app.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { testBackends } from '../helpers/test-db.js';
import { eventually, spawnApp } from '../e2e/harness.js';
import { createKeyFor, startTenancyReceiver, type TenancyReceiver } from './harness.js';

async function finishedSpans(service: string): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const span = provider.getTracer('t').startSpan('GET /orders/:id', {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': 'GET', 'http.route': '/orders/:id', 'http.response.status_code': 200 },
  });
  span.end();
  // Read before shutdown: shutting the provider down empties the in-memory exporter.
  const spans = [...memory.getFinishedSpans()];
  await provider.shutdown();
  return spans;
}

/** Exports with an exporter configured by OTEL_EXPORTER_OTLP_HEADERS only (set while it is built). */
async function exportWithEnvHeaders(url: string, headersEnv: string, spans: ReadableSpan[]): Promise<ExportResult> {
  const saved = process.env.OTEL_EXPORTER_OTLP_HEADERS;
  process.env.OTEL_EXPORTER_OTLP_HEADERS = headersEnv;
  try {
    const exporter = new OTLPTraceExporter({ url: `${url}/v1/traces` });
    const result = await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
    await exporter.shutdown();
    return result;
  } finally {
    if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_HEADERS;
    else process.env.OTEL_EXPORTER_OTLP_HEADERS = saved;
  }
}

describe.each(testBackends())('OTEL_EXPORTER_OTLP_HEADERS with an ingest key, percent-encoded (%s)', (backend) => {
  let r: TenancyReceiver;
  let key = '';
  const projectOf = async (service: string) => (await r.t.db.query<{ project: string }>(
    'SELECT p.name AS project FROM services s JOIN projects p ON p.id = s.project_id WHERE s.name = $1', [service])).rows.map((row) => row.project);

  beforeAll(async () => {
    r = await startTenancyReceiver(backend);
    key = await createKeyFor(r.t.db, 'shop', 'ingest');
  });
  afterAll(async () => { await r?.close(); });

  it('the official proto exporter sends the key from the environment; rows land in the key\'s project', async () => {
    const spans = await finishedSpans('env-exporter');
    expect(spans).toHaveLength(1);
    const result = await exportWithEnvHeaders(r.url, `authorization=Bearer%20${key}`, spans);
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(await projectOf('env-exporter')).toEqual(['shop']);
    // Without the header the same exporter is refused (the test above is not passing by accident).
    const refused = await exportWithEnvHeaders(r.url, 'x-other=1', await finishedSpans('env-no-key'));
    expect(refused.code).toBe(ExportResultCode.FAILED);
    expect(refused.error?.message ?? '').toMatch(/401|Unauthorized/);
    expect(await projectOf('env-no-key')).toEqual([]);
  });

  it('the preload SDK (node --require @lattice/otel-register) sends it too', async () => {
    const app = await spawnApp('callee.cjs', 'preload-with-key', r.url, { OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${key}` });
    try {
      expect((await fetch(`${app.url}/things/1`)).status).toBe(200);
      await eventually(() => projectOf('preload-with-key'), (projects) => projects.length > 0, 30_000, 200);
      expect(await projectOf('preload-with-key')).toEqual(['shop']);
    } finally {
      await app.stop();
    }
  });
});
