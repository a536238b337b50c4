/**
 * Any OTLP source works: the official OpenTelemetry JS exporters (protobuf and JSON, traces and
 * metrics, delta and cumulative, exponential and explicit buckets) against a listening receiver with
 * the real store. A restarted cumulative source and a retried export are never double counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality, AggregationType, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { createStorage, e2eBackends, type InProcessReceiver, type Storage, startReceiver } from './harness.js';

type Encoding = 'protobuf' | 'json';
type Temporality = 'delta' | 'cumulative';
type Buckets = 'exponential' | 'explicit';

interface Stats { requestCount: number; errorRate: number | null; p50Ms: number | null; p99Ms: number | null }

function metricExporter(url: string, encoding: Encoding, temporality: Temporality): PushMetricExporter {
  const options = {
    url: `${url}/v1/metrics`,
    temporalityPreference: temporality === 'delta' ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
  };
  return encoding === 'protobuf' ? new ProtoMetricExporter(options) : new JsonMetricExporter(options);
}

function traceExporter(url: string, encoding: Encoding): SpanExporter {
  const options = { url: `${url}/v1/traces` };
  return encoding === 'protobuf' ? new ProtoTraceExporter(options) : new JsonTraceExporter(options);
}

/** One process lifetime of a metrics source: records the values, exporting after each batch. */
async function runMetricsSource(url: string, service: string, encoding: Encoding, temporality: Temporality,
  buckets: Buckets, batches: number[][]): Promise<void> {
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter(url, encoding, temporality),
    exportIntervalMillis: 3_600_000,
    exportTimeoutMillis: 10_000,
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.instance.id': 'instance-1' }),
    views: [{
      instrumentName: 'http.server.request.duration',
      aggregation: buckets === 'exponential'
        ? { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 2048 } }
        : { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] } },
    }],
    readers: [reader],
  });
  const histogram = provider.getMeter('test').createHistogram('http.server.request.duration', { unit: 's' });
  for (const batch of batches) {
    for (const seconds of batch) {
      histogram.record(seconds, { 'http.request.method': 'GET', 'http.route': '/orders/:id', 'http.response.status_code': 200 });
    }
    await reader.forceFlush();
  }
  await provider.shutdown();
}

function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

describe.each(e2eBackends())('official OTel exporters → receiver → store (%s)', (backend) => {
  let storage: Storage;
  let receiver: InProcessReceiver;

  beforeAll(async () => {
    storage = await createStorage(backend);
    receiver = await startReceiver(storage);
  });
  afterAll(async () => {
    await receiver?.close();
    await storage?.drop();
  });

  const stats = async (service: string): Promise<Stats> =>
    (await (await fetch(`${receiver.url}/metrics/stats?service=${service}`)).json()) as Stats;

  const combos: Array<[Encoding, Temporality, Buckets]> = [];
  for (const encoding of ['protobuf', 'json'] as const) {
    for (const temporality of ['delta', 'cumulative'] as const) {
      for (const buckets of ['exponential', 'explicit'] as const) combos.push([encoding, temporality, buckets]);
    }
  }

  it.each(combos)('counts %s %s %s histograms exactly, across a restart of the source', async (encoding, temporality, buckets) => {
    const service = `metrics-${encoding}-${temporality}-${buckets}`;
    const first = [Array.from({ length: 40 }, (_, i) => 0.01 + i * 0.001), Array.from({ length: 25 }, () => 0.2)];
    const afterRestart = [Array.from({ length: 10 }, () => 0.05)];
    await runMetricsSource(receiver.url, service, encoding, temporality, buckets, first);
    await runMetricsSource(receiver.url, service, encoding, temporality, buckets, afterRestart);

    const result = await stats(service);
    expect(result.requestCount).toBe(75);
    expect(result.errorRate).toBe(0);
    if (buckets === 'exponential') {
      // exact p50 of the 75 values is 0.046 s; exponential buckets at scale ≥ 6 are within 0.55 %.
      const all = [...first.flat(), ...afterRestart.flat()].sort((a, b) => a - b);
      const exactP50Ms = all[Math.ceil(0.5 * all.length) - 1]! * 1000;
      expect(Math.abs(result.p50Ms! - exactP50Ms) / exactP50Ms).toBeLessThan(0.011);
    }
  });

  it.each(['protobuf', 'json'] as const)('stores %s trace exports once, even when the same export is retried', async (encoding) => {
    const service = `traces-${encoding}`;
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    const tracer = provider.getTracer('test');
    for (let i = 0; i < 30; i++) {
      const span = tracer.startSpan('GET /items/:id', {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': 'GET', 'http.route': '/items/:id', 'http.response.status_code': i < 3 ? 500 : 200 },
      });
      span.end();
      tracer.startSpan('SELECT', { kind: SpanKind.CLIENT }).end(); // not a request: no row
    }
    const spans = memory.getFinishedSpans();
    const exporter = traceExporter(receiver.url, encoding);
    expect((await exportSpans(exporter, spans)).code).toBe(ExportResultCode.SUCCESS);
    expect((await exportSpans(exporter, spans)).code).toBe(ExportResultCode.SUCCESS); // a retry after a lost response
    await exporter.shutdown();

    const rows = await receiver.db.query<{ n: string; errors: string }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE status_code >= 500) AS errors
         FROM service_metrics m JOIN services s ON s.id = m.service_id WHERE s.name = $1`, [service]);
    expect(Number(rows.rows[0]!.n)).toBe(30);
    expect(Number(rows.rows[0]!.errors)).toBe(3);
    const result = await stats(service);
    expect(result.requestCount).toBe(30);
    expect(result.errorRate).toBeCloseTo(0.1, 9);
  });
});
