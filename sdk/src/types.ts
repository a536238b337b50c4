/** Sampler names accepted in OTEL_TRACES_SAMPLER (OpenTelemetry spec). */
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export type TemporalityPreference = 'delta' | 'cumulative' | 'lowmemory';

/** Everything the SDK needs to start, worked out once from the environment by `readConfig`. */
export interface LatticeConfig {
  /** OTEL_SDK_DISABLED=true: start nothing. */
  disabled: boolean;
  /** OTEL_SERVICE_NAME, else service.name in OTEL_RESOURCE_ATTRIBUTES, else the app's package.json name. */
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES, parsed (service.name removed: it lives in `serviceName`). */
  resourceAttributes: Record<string, string>;
  /** Full URL for spans: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces. */
  tracesUrl: string;
  /** Full URL for metrics: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/metrics. */
  metricsUrl: string;
  /** OTEL_EXPORTER_OTLP_HEADERS, parsed. */
  headers: Record<string, string>;
  /** OTEL_EXPORTER_OTLP_PROTOCOL; http/protobuf unless told otherwise. */
  protocol: OtlpProtocol;
  /** OTEL_TRACES_SAMPLER; parentbased_always_on by default. */
  sampler: SamplerName;
  /** OTEL_TRACES_SAMPLER_ARG for the ratio samplers, in [0, 1]; 1 by default. */
  samplerRatio: number;
  /** OTEL_METRIC_EXPORT_INTERVAL in ms; 1000 by default (live metrics). */
  metricExportIntervalMs: number;
  /** OTEL_EXPORTER_OTLP_TIMEOUT in ms, capped at the metric export interval. */
  exportTimeoutMs: number;
  /** OTEL_BSP_SCHEDULE_DELAY in ms; 500 by default so a span reaches the receiver within ~1 s. */
  spanBatchDelayMs: number;
  /** OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE; delta by default. */
  temporality: TemporalityPreference;
  /**
   * LATTICE_EXPRESS_LAYER_SPANS=true: also run the stock ExpressInstrumentation for one span per
   * middleware / router / handler. Off by default; `http.route` always comes from our own capture.
   */
  expressLayerSpans: boolean;
  /** LATTICE_SHUTDOWN_TIMEOUT_MS: the longest the SDK holds up exit to flush; 2000 by default. */
  shutdownTimeoutMs: number;
}
