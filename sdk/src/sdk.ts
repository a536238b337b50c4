/**
 * Assembles the OpenTelemetry SDK from a `LatticeConfig`: tracer provider (caller processor +
 * batch exporter), meter provider (one periodic reader, the exponential-histogram view), the
 * caller-stamping propagator, and the instrumentations (http, undici/fetch, express routes).
 * Built by hand rather than with NodeSDK so that nothing else is read from the environment
 * behind our back (log exporters, resource detectors, a second OTLP endpoint).
 */
import { createNoopMeter, metrics } from '@opentelemetry/api';
import type { MeterProvider as ApiMeterProvider } from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPMetricExporterJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPMetricExporterProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import type { Sampler } from '@opentelemetry/sdk-trace-node';
import { createCallerPropagator, CallerSpanProcessor } from './caller';
import { exportError } from './errors';
import { ExpressRouteInstrumentation } from './express-route';
import { createServerDurationHook, METER_NAME, SERVER_DURATION_VIEW } from './metrics';
import type { LatticeConfig, SamplerName, TemporalityPreference } from './types';
import { warnOnce } from './warn';

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
  const tracerProvider = new NodeTracerProvider({
    resource,
    sampler: createSampler(config.sampler, config.samplerRatio),
    spanProcessors: [
      new CallerSpanProcessor(),
      new BatchSpanProcessor(traceExporter, {
        scheduledDelayMillis: config.spanBatchDelayMs,
        exportTimeoutMillis: config.exportTimeoutMs,
      }),
    ],
  });
  tracerProvider.register({ propagator: createCallerPropagator(config.serviceName) });

  const metricOptions = {
    ...exporterOptions,
    url: config.metricsUrl,
    temporalityPreference: toTemporality(config.temporality),
  };
  const metricExporter = json ? new OTLPMetricExporterJson(metricOptions) : new OTLPMetricExporterProto(metricOptions);
  const meterProvider = new MeterProvider({
    resource,
    views: [SERVER_DURATION_VIEW],
    readers: [
      new PeriodicExportingMetricReader({
        exporter: metricExporter,
        exportIntervalMillis: config.metricExportIntervalMs,
        exportTimeoutMillis: config.exportTimeoutMs,
      }),
    ],
  });
  metrics.setGlobalMeterProvider(meterProvider);

  const http = new HttpInstrumentation({
    responseHook: createServerDurationHook(meterProvider.getMeter(METER_NAME)),
  });
  const undici = new UndiciInstrumentation();
  registerInstrumentations({
    instrumentations: [http, undici, new ExpressRouteInstrumentation()],
    tracerProvider,
  });
  http.setMeterProvider(noopMeterProvider);
  undici.setMeterProvider(noopMeterProvider);

  return {
    // Instrumentations stay in place: the app may still be draining requests.
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
