import { describe, expect, it } from 'vitest';
import {
  appendPath,
  findPackageName,
  parseBoolean,
  parseChoice,
  parseKeyValueList,
  parsePositiveInt,
  readConfig,
} from '../src/config';
import type { Env } from '../src/config';

function read(env: Env, packages: Record<string, string> = {}) {
  const warnings: string[] = [];
  const config = readConfig(
    env,
    { entryScript: '/srv/app/src/main.js', cwd: '/srv', readPackageName: (dir) => packages[dir] },
    (m) => warnings.push(m),
  );
  return { config, warnings };
}

describe('readConfig', () => {
  it('uses live-metrics defaults when nothing is set', () => {
    const { config, warnings } = read({});
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      disabled: false,
      serviceName: 'unknown_service:node',
      resourceAttributes: {},
      tracesUrl: 'http://localhost:4318/v1/traces',
      metricsUrl: 'http://localhost:4318/v1/metrics',
      headers: {},
      protocol: 'http/protobuf',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      metricExportIntervalMs: 1000,
      exportTimeoutMs: 1000,
      spanBatchDelayMs: 500,
      temporality: 'delta',
      expressLayerSpans: false,
      shutdownTimeoutMs: 2000,
    });
  });

  it('reads every supported OTEL_* variable', () => {
    const { config, warnings } = read({
      OTEL_SDK_DISABLED: 'TRUE',
      OTEL_SERVICE_NAME: 'checkout',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,team=pay%20ments',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318/',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc, x-tenant = t1',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
      OTEL_METRIC_EXPORT_INTERVAL: '5000',
      OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
      OTEL_BSP_SCHEDULE_DELAY: '250',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'Cumulative',
      LATTICE_SHUTDOWN_TIMEOUT_MS: '1500',
      LATTICE_EXPRESS_LAYER_SPANS: 'true',
    });
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      disabled: true,
      serviceName: 'checkout',
      resourceAttributes: { 'deployment.environment': 'prod', team: 'pay ments' },
      tracesUrl: 'https://collector:4318/v1/traces',
      metricsUrl: 'https://collector:4318/v1/metrics',
      headers: { authorization: 'Bearer abc', 'x-tenant': 't1' },
      protocol: 'http/json',
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.1,
      metricExportIntervalMs: 5000,
      exportTimeoutMs: 3000,
      spanBatchDelayMs: 250,
      temporality: 'cumulative',
      expressLayerSpans: true,
      shutdownTimeoutMs: 1500,
    });
  });

  it('uses signal-specific endpoints as given', () => {
    const { config } = read({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:1/custom',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:2/other',
    });
    expect(config.tracesUrl).toBe('http://t:1/custom');
    expect(config.metricsUrl).toBe('http://m:2/other');
  });

  it('warns and falls back on every bad value, never throwing', () => {
    const { config, warnings } = read({
      OTEL_SDK_DISABLED: 'yes',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_TRACES_SAMPLER_ARG: '2',
      OTEL_METRIC_EXPORT_INTERVAL: '-5',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'weekly',
      LATTICE_SHUTDOWN_TIMEOUT_MS: '1.5',
    });
    expect(config).toMatchObject({
      disabled: false,
      tracesUrl: 'http://localhost:4318/v1/traces',
      protocol: 'http/protobuf',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      metricExportIntervalMs: 1000,
      temporality: 'delta',
      shutdownTimeoutMs: 2000,
    });
    expect(warnings).toEqual([
      "LAT_ERR_SDK_CONFIG: OTEL_EXPORTER_OTLP_ENDPOINT should be an http:// or https:// URL, instead got 'collector:4318'; using the default",
      "LAT_ERR_SDK_CONFIG: OTEL_METRIC_EXPORT_INTERVAL should be a positive integer (milliseconds), instead got '-5'; using 1000",
      "LAT_ERR_SDK_CONFIG: OTEL_SDK_DISABLED should be 'true' or 'false', instead got 'yes'; using false",
      "LAT_ERR_SDK_CONFIG: OTEL_EXPORTER_OTLP_PROTOCOL should be one of http/protobuf, http/json, instead got 'grpc'; using http/protobuf",
      "LAT_ERR_SDK_CONFIG: OTEL_TRACES_SAMPLER should be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, instead got 'sometimes'; using parentbased_always_on",
      "LAT_ERR_SDK_CONFIG: OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE should be one of delta, cumulative, lowmemory, instead got 'weekly'; using delta",
      "LAT_ERR_SDK_CONFIG: LATTICE_SHUTDOWN_TIMEOUT_MS should be a positive integer (milliseconds), instead got '1.5'; using 2000",
    ]);
  });

  it('caps the export timeout at the metric export interval', () => {
    expect(read({ OTEL_METRIC_EXPORT_INTERVAL: '500' }).config.exportTimeoutMs).toBe(500);
  });

  it('names the service: OTEL_SERVICE_NAME, then service.name in resource attributes, then package.json', () => {
    const packages = { '/srv/app': 'orders-api', '/srv': 'monorepo' };
    expect(read({ OTEL_SERVICE_NAME: 'a', OTEL_RESOURCE_ATTRIBUTES: 'service.name=b' }, packages).config.serviceName).toBe('a');
    const fromResource = read({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=b,x=1' }, packages).config;
    expect(fromResource.serviceName).toBe('b');
    expect(fromResource.resourceAttributes).toEqual({ x: '1' });
    expect(read({}, packages).config.serviceName).toBe('orders-api');
  });
});

describe('findPackageName', () => {
  it('walks up from the entry script, then from the working directory', () => {
    const seen: string[] = [];
    const name = findPackageName({
      entryScript: 'bin/server.js',
      cwd: '/home/x/proj',
      readPackageName: (dir) => {
        seen.push(dir);
        return dir === '/home' ? 'home-pkg' : undefined;
      },
    });
    expect(name).toBe('home-pkg');
    expect(seen).toEqual(['/home/x/proj/bin', '/home/x/proj', '/home/x', '/home']);
  });

  it('falls back to the working directory when there is no entry script (node -e, REPL)', () => {
    expect(findPackageName({ entryScript: undefined, cwd: '/a/b', readPackageName: (d) => (d === '/a/b' ? 'cwd-pkg' : undefined) })).toBe(
      'cwd-pkg',
    );
  });
});

describe('parsers', () => {
  const noWarn = (m: string): never => {
    throw new Error(`unexpected warning: ${m}`);
  };

  it('parseBoolean treats unset and empty as false', () => {
    expect(parseBoolean(undefined, 'X', noWarn)).toBe(false);
    expect(parseBoolean('  ', 'X', noWarn)).toBe(false);
    expect(parseBoolean('false', 'X', noWarn)).toBe(false);
  });

  it('parsePositiveInt rejects zero, fractions and junk', () => {
    const warnings: string[] = [];
    for (const v of ['0', '1.5', 'abc', '1e400']) expect(parsePositiveInt(v, 'X', 7, (m) => warnings.push(m))).toBe(7);
    expect(warnings).toHaveLength(4);
    expect(parsePositiveInt(' 42 ', 'X', 7, noWarn)).toBe(42);
  });

  it('parseChoice is case-insensitive', () => {
    expect(parseChoice('HTTP/JSON', 'X', ['http/json', 'http/protobuf'], 'http/protobuf', noWarn)).toBe('http/json');
  });

  it('parseKeyValueList keeps good pairs, skips malformed ones with a warning, and keeps = in values', () => {
    const warnings: string[] = [];
    expect(parseKeyValueList('a=1,,=x,broken,b=c=d,e=%E0%A4%A', 'H', (m) => warnings.push(m))).toEqual({ a: '1', b: 'c=d', e: '%E0%A4%A' });
    expect(warnings).toHaveLength(3);
  });

  it('appendPath joins with exactly one slash', () => {
    expect(appendPath('http://h:4318', 'v1/traces')).toBe('http://h:4318/v1/traces');
    expect(appendPath('http://h:4318/base/', 'v1/metrics')).toBe('http://h:4318/base/v1/metrics');
  });
});
