// bench/ingest/exports — realistic OTLP exports, encoded ONCE from real sdk-trace-base / sdk-metrics
// objects with @opentelemetry/otlp-transformer, plus a cheap per-send rewrite that makes every send
// distinct (a retried identical export is deduped by the receiver and would measure no inserts):
// - traces: the first 4 bytes of every trace id (protobuf bytes, or 8 hex chars in JSON) become a
//   per-send counter, so all spans of a send get new (trace_id, span_id, start) keys while parent
//   links inside the export stay intact;
// - metrics (delta temporality): every point's time_unix_nano (fixed64 LE in protobuf, decimal in
//   JSON) moves by 1 µs per send, so each send is a new point of the same streams (the stream's
//   retry dedupe key is "start:time"). Streams stay a fixed set, as with real exporters.
// Offsets are found once per template; a send is one Buffer copy plus a few hundred small writes.
import { context, SpanKind, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  JsonMetricsSerializer, JsonTraceSerializer, ProtobufMetricsSerializer, ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';

export const SPANS_PER_EXPORT = 512;
export const SERVER_SPANS_PER_EXPORT = 128;
/** Every histogram point records exactly this many values: committed points = sum(count) / this. */
export const VALUES_PER_POINT = 10;
const ROUTES = Array.from({ length: 40 }, (_, i) => `/api/v1/resource-${i}/:id`);
const METHODS = ['GET', 'POST'];
const STATUSES = [200, 201, 404, 500];
const SERVICES = 8;

function allOffsets(haystack, needle) {
  const out = [];
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) out.push(at);
  return out;
}

/** One 512-span export of service `svc-<n>`: 128 requests, each SERVER + 2 CLIENT + 1 INTERNAL. */
function makeSpans(template, baseMs) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `svc-${template % SERVICES}`, 'service.instance.id': `inst-${template}` }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('bench-ingest');
  for (let i = 0; i < SERVER_SPANS_PER_EXPORT; i++) {
    const start = baseMs + i * 3;
    const method = METHODS[i % 2];
    const route = ROUTES[(i * 7 + template) % ROUTES.length];
    const status = STATUSES[i % STATUSES.length];
    const server = tracer.startSpan(`${method} ${route}`, {
      kind: SpanKind.SERVER, startTime: start,
      attributes: { 'http.request.method': method, 'http.route': route, 'http.response.status_code': status, 'url.path': route.replace(':id', String(i)) },
    });
    const ctx = trace.setSpan(context.active(), server);
    tracer.startSpan('GET', { kind: SpanKind.CLIENT, startTime: start + 0.5, attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'server.address': 'inventory' } }, ctx).end(start + 2);
    tracer.startSpan('pg.query:SELECT', { kind: SpanKind.CLIENT, startTime: start + 2.1, attributes: { 'db.system': 'postgresql' } }, ctx).end(start + 4 + (i % 5));
    tracer.startSpan('render', { kind: SpanKind.INTERNAL, startTime: start + 5 }, ctx).end(start + 6);
    server.end(start + 7 + (i % 11));
  }
  return exporter.getFinishedSpans();
}

/**
 * `count` trace export templates in `encoding`, each { body, traceIdOffsets, hex }.
 * Spans start a minute before now (inside the receiver's accepted window for the whole run).
 */
export function buildTraceTemplates(encoding, count) {
  const templates = [];
  for (let t = 0; t < count; t++) {
    const spans = makeSpans(t, Date.now() - 60_000);
    const traceIds = [...new Set(spans.map((s) => s.spanContext().traceId))];
    if (encoding === 'protobuf') {
      const body = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans));
      const offsets = traceIds.flatMap((id) => allOffsets(body, Buffer.from(id, 'hex')));
      templates.push({ body, offsets, hex: false });
    } else {
      const body = Buffer.from(JsonTraceSerializer.serializeRequest(spans));
      const offsets = traceIds.flatMap((id) => allOffsets(body, Buffer.from(`"${id}"`)).map((o) => o + 1));
      templates.push({ body, offsets, hex: true });
    }
    if (templates[t].offsets.length !== SPANS_PER_EXPORT) {
      throw new Error(`trace template ${t}: should find ${SPANS_PER_EXPORT} trace ids, instead got ${templates[t].offsets.length}`);
    }
  }
  return templates;
}

/** A copy of a trace template whose trace ids start with the 32-bit `tag` (unique per send). */
export function traceSend(template, tag) {
  const body = Buffer.from(template.body);
  if (template.hex) {
    const prefix = (tag >>> 0).toString(16).padStart(8, '0');
    for (const o of template.offsets) body.write(prefix, o, 'latin1');
  } else {
    for (const o of template.offsets) body.writeUInt32BE(tag >>> 0, o);
  }
  return body;
}

/**
 * `count` metrics export templates: each one instance of `svc-<n>` with one delta
 * `http.server.request.duration` histogram (seconds, SDK default buckets) of
 * METHODS × ROUTES × STATUSES = 320 points, each of VALUES_PER_POINT recorded values.
 */
export async function buildMetricTemplates(encoding, count) {
  const templates = [];
  for (let t = 0; t < count; t++) {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': `svc-${t % SERVICES}`, 'service.instance.id': `inst-${t}` }),
      readers: [reader],
    });
    const histogram = provider.getMeter('bench-ingest').createHistogram('http.server.request.duration', {
      unit: 's',
      // semconv's advice for this instrument (what instrumentation-http passes)
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] },
    });
    let k = 0;
    for (const method of METHODS) for (const route of ROUTES) for (const status of STATUSES) {
      for (let v = 0; v < VALUES_PER_POINT; v++) {
        histogram.record(((k * 37 + v * 11) % 900) / 1000 + 0.001,
          { 'http.request.method': method, 'http.route': route, 'http.response.status_code': status });
      }
      k++;
    }
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length > 0) throw errors[0];
    await provider.shutdown();
    const points = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.flatMap((m) => m.dataPoints));
    const endNs = BigInt(points[0].endTime[0]) * 1_000_000_000n + BigInt(points[0].endTime[1]);
    let body;
    let offsets;
    if (encoding === 'protobuf') {
      body = Buffer.from(ProtobufMetricsSerializer.serializeRequest(resourceMetrics));
      // HistogramDataPoint.time_unix_nano: field 3, fixed64 → tag byte 0x19, then 8 bytes LE.
      const needle = Buffer.alloc(9);
      needle[0] = 0x19;
      needle.writeBigUInt64LE(endNs, 1);
      offsets = allOffsets(body, needle).map((o) => o + 1);
    } else {
      body = Buffer.from(JsonMetricsSerializer.serializeRequest(resourceMetrics));
      offsets = allOffsets(body, Buffer.from(`"timeUnixNano":"${endNs}"`)).map((o) => o + '"timeUnixNano":"'.length);
    }
    if (offsets.length !== points.length) {
      throw new Error(`metrics template ${t}: should find ${points.length} point times, instead got ${offsets.length}`);
    }
    templates.push({ body, offsets, endNs, points: points.length, encoding });
  }
  return templates;
}

/** A copy of a metrics template whose point times are `step` µs later (same digit count in JSON). */
export function metricSend(template, step) {
  const body = Buffer.from(template.body);
  const time = template.endNs + BigInt(step) * 1000n;
  if (template.encoding === 'protobuf') {
    for (const o of template.offsets) body.writeBigUInt64LE(time, o);
  } else {
    const text = String(time);
    for (const o of template.offsets) body.write(text, o, 'latin1');
  }
  return body;
}
