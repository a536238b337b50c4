/**
 * Starts the OpenTelemetry Node SDK (`NodeSDK` from @opentelemetry/sdk-node) from a
 * `LatticeConfig`, passing every component explicitly so that NodeSDK reads nothing else from
 * the environment behind our back:
 *
 *  - resource: ours (service.name, OTEL_RESOURCE_ATTRIBUTES as parsed by `config.ts`), with
 *    `autoDetectResources: false` (NodeSDK's default detectors would re-read
 *    OTEL_RESOURCE_ATTRIBUTES without our warnings, and add host/process attributes including
 *    the full command line);
 *  - spanProcessors (caller processor + batch exporter), sampler, textMapPropagator;
 *  - metricReaders: one periodic reader, whose `metricProducers` include the SDK's own
 *    duration histogram (`duration-histogram.ts`);
 *  - logRecordProcessors: [] — without it NodeSDK 0.223 builds an OTLP log exporter from
 *    OTEL_LOGS_EXPORTER (default `otlp`) and registers a global LoggerProvider, so any log
 *    record emitted through @opentelemetry/api-logs would be POSTed to /v1/logs;
 *  - instrumentations: http, undici (fetch), our Express route capture, and the stock
 *    `ExpressInstrumentation` only when LATTICE_EXPRESS_LAYER_SPANS=true.
 */
import { createNoopMeter, metrics, trace } from '@opentelemetry/api';
import type { ProxyTracerProvider, TracerProvider } from '@opentelemetry/api';
import type { MeterProvider as ApiMeterProvider } from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPMetricExporterJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPMetricExporterProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { InstrumentType, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { Sampler } from '@opentelemetry/sdk-trace-base';
import { createCallerPropagator, CallerSpanProcessor } from './caller';
import { exportError } from './errors';
import { ExpressRouteInstrumentation } from './express-route';
import { DurationHistogram } from './duration-histogram';
import { METER_NAME, SERVER_DURATION_METRIC, SERVER_DURATION_VIEW } from './metrics';
import { instrumentServerRequests } from './server-requests';
import type { LatticeConfig, SamplerName, TemporalityPreference } from './types';
import { warnOnce } from './warn';

/** Instrumentation scope version of the SDK's own spans and metric. */
const LATTICE_VERSION = '0.1.0';

export interface RunningSdk {
  /** Flush and stop exporting. Never rejects. */
  shutdown(): Promise<void>;
}

export function createSampler(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function toTemporality(preference: TemporalityPreference): AggregationTemporalityPreference {
  switch (preference) {
    case 'cumulative':
      return AggregationTemporalityPreference.CUMULATIVE;
    case 'lowmemory':
      return AggregationTemporalityPreference.LOWMEMORY;
    case 'delta':
      return AggregationTemporalityPreference.DELTA;
  }
}

/**
 * The failure kind of an export error: its code (ECONNREFUSED, or the HTTP status of an
 * OTLPExporterError), else a system error code named in the message (the metric reader wraps
 * the exporter's error in a plain Error), else its name.
 */
export function exportFailureKind(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string' || typeof e?.code === 'number') return String(e.code);
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const systemCode = /\b(E[A-Z][A-Z0-9_]{2,})\b/.exec(message);
  if (systemCode?.[1] !== undefined) return systemCode[1];
  return typeof e?.name === 'string' ? e.name : 'Error';
}

/** One warning per failure kind, so a dead collector does not flood the app's stderr. */
export function reportExportError(err: unknown): void {
  const kind = exportFailureKind(err);
  const message = (err as { message?: unknown } | undefined)?.message;
  warnOnce(exportError(kind, typeof message === 'string' ? message : String(err)), `export:${kind}`);
}

/** instrumentation-http's and undici's own metrics are replaced by `metrics.ts`. */
const noopMeterProvider: ApiMeterProvider = { getMeter: () => createNoopMeter() };

export function startSdk(config: LatticeConfig): RunningSdk {
  setGlobalErrorHandler(reportExportError);

  const resource = defaultResource().merge(
    resourceFromAttributes({ ...config.resourceAttributes, 'service.name': config.serviceName }),
  );
  const exporterOptions = { headers: config.headers, timeoutMillis: config.exportTimeoutMs };
  const json = config.protocol === 'http/json';

  const traceExporter = json
    ? new OTLPTraceExporterJson({ ...exporterOptions, url: config.tracesUrl })
    : new OTLPTraceExporterProto({ ...exporterOptions, url: config.tracesUrl });
  const metricOptions = {
    ...exporterOptions,
    url: config.metricsUrl,
    temporalityPreference: toTemporality(config.temporality),
  };
  const metricExporter = json ? new OTLPMetricExporterJson(metricOptions) : new OTLPMetricExporterProto(metricOptions);
  const aggregation = SERVER_DURATION_VIEW.aggregation as { options: { maxSize: number; recordMinMax: boolean } };
  const durations = new DurationHistogram({
    name: SERVER_DURATION_METRIC,
    description: 'Duration of HTTP server requests.',
    unit: 's',
    scopeName: METER_NAME,
    // The exporter's answer for histograms: DELTA for delta and lowmemory, else CUMULATIVE.
    temporality: metricExporter.selectAggregationTemporality(InstrumentType.HISTOGRAM),
    maxSize: aggregation.options.maxSize,
    recordMinMax: aggregation.options.recordMinMax,
  });

  // Incoming requests are handled by `server-requests.ts`; instrumentation-http does outgoing.
  const http = new HttpInstrumentation({ disableIncomingRequestInstrumentation: true });
  const undici = new UndiciInstrumentation();
  const instrumentations: Instrumentation[] = [http, undici, new ExpressRouteInstrumentation()];
  if (config.expressLayerSpans) instrumentations.push(new ExpressInstrumentation());

  const sdk = new NodeSDK({
    resource,
    autoDetectResources: false,
    sampler: createSampler(config.sampler, config.samplerRatio),
    spanProcessors: [
      new CallerSpanProcessor(),
      new BatchSpanProcessor(traceExporter, {
        scheduledDelayMillis: config.spanBatchDelayMs,
        exportTimeoutMillis: config.exportTimeoutMs,
      }),
    ],
    textMapPropagator: createCallerPropagator(config.serviceName),
    metricReaders: [
      new PeriodicExportingMetricReader({
        exporter: metricExporter,
        exportIntervalMillis: config.metricExportIntervalMs,
        exportTimeoutMillis: config.exportTimeoutMs,
        metricProducers: [durations],
      }),
    ],
    logRecordProcessors: [],
    instrumentations,
  });
  sdk.start();
  // The providers exist once NodeSDK has started (the API has no proxy meter provider). The
  // tracer comes from the real provider, not the API's proxy, to skip a delegation per span.
  const globalTracerProvider = trace.getTracerProvider() as TracerProvider & Partial<Pick<ProxyTracerProvider, 'getDelegate'>>;
  const tracerProvider = globalTracerProvider.getDelegate?.() ?? globalTracerProvider;
  instrumentServerRequests({
    tracer: tracerProvider.getTracer(METER_NAME, LATTICE_VERSION),
    histogram: durations,
  });
  // NodeSDK hands the global MeterProvider to every instrumentation; the SDK records the one
  // duration histogram itself (`duration-histogram.ts`), so the instrumentations' own metrics stay off.
  for (const instrumentation of instrumentations) instrumentation.setMeterProvider(noopMeterProvider);

  return {
    // Instrumentations stay in place: the app may still be draining requests.
    async shutdown() {
      await sdk.shutdown().catch(() => undefined);
    },
  };
}
