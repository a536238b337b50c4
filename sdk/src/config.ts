/**
 * OTEL_* environment → `LatticeConfig`. Never throws: a bad value is reported once through
 * `warn` (one `[lattice]` line with a coded message) and the default is used instead, the way
 * opentelemetry-js treats its own environment.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { configError } from './errors';
import type { LatticeConfig, OtlpProtocol, SamplerName, TemporalityPreference } from './types';

export type Env = Record<string, string | undefined>;
export type Warn = (message: string) => void;

export const DEFAULT_ENDPOINT = 'http://localhost:4318';
export const DEFAULT_METRIC_EXPORT_INTERVAL_MS = 1000;
export const DEFAULT_SPAN_BATCH_DELAY_MS = 500;
export const DEFAULT_EXPORT_TIMEOUT_MS = 10_000;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 2000;
export const FALLBACK_SERVICE_NAME = 'unknown_service:node';

const SAMPLERS: readonly SamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];
const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json'];
const TEMPORALITIES: readonly TemporalityPreference[] = ['delta', 'cumulative', 'lowmemory'];

/** Where to look for the app's package.json and how to read it; injectable for tests. */
export interface ConfigSources {
  /** The entry script, `process.argv[1]`. */
  entryScript: string | undefined;
  cwd: string;
  /** Returns the `name` field of `<dir>/package.json`, or undefined if absent or unreadable. */
  readPackageName?: (dir: string) => string | undefined;
}

export function readConfig(env: Env, sources: ConfigSources, warn: Warn): LatticeConfig {
  const resourceAttributes = parseKeyValueList(env.OTEL_RESOURCE_ATTRIBUTES, 'OTEL_RESOURCE_ATTRIBUTES', warn);
  const resourceServiceName = resourceAttributes['service.name'];
  delete resourceAttributes['service.name'];

  const endpoint = parseEndpoint(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'OTEL_EXPORTER_OTLP_ENDPOINT', warn) ?? DEFAULT_ENDPOINT;
  const metricExportIntervalMs = parsePositiveInt(
    env.OTEL_METRIC_EXPORT_INTERVAL,
    'OTEL_METRIC_EXPORT_INTERVAL',
    DEFAULT_METRIC_EXPORT_INTERVAL_MS,
    warn,
  );
  const timeout = parsePositiveInt(env.OTEL_EXPORTER_OTLP_TIMEOUT, 'OTEL_EXPORTER_OTLP_TIMEOUT', DEFAULT_EXPORT_TIMEOUT_MS, warn);

  return {
    disabled: parseBoolean(env.OTEL_SDK_DISABLED, 'OTEL_SDK_DISABLED', warn),
    serviceName:
      nonEmpty(env.OTEL_SERVICE_NAME) ??
      resourceServiceName ??
      findPackageName(sources) ??
      FALLBACK_SERVICE_NAME,
    resourceAttributes,
    tracesUrl:
      parseEndpoint(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', warn) ??
      appendPath(endpoint, 'v1/traces'),
    metricsUrl:
      parseEndpoint(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', warn) ??
      appendPath(endpoint, 'v1/metrics'),
    headers: parseKeyValueList(env.OTEL_EXPORTER_OTLP_HEADERS, 'OTEL_EXPORTER_OTLP_HEADERS', warn),
    protocol: parseChoice(env.OTEL_EXPORTER_OTLP_PROTOCOL, 'OTEL_EXPORTER_OTLP_PROTOCOL', PROTOCOLS, 'http/protobuf', warn),
    sampler: parseChoice(env.OTEL_TRACES_SAMPLER, 'OTEL_TRACES_SAMPLER', SAMPLERS, 'parentbased_always_on', warn),
    samplerRatio: parseRatio(env.OTEL_TRACES_SAMPLER_ARG, env.OTEL_TRACES_SAMPLER, warn),
    metricExportIntervalMs,
    // PeriodicExportingMetricReader refuses a timeout longer than its interval.
    exportTimeoutMs: Math.min(timeout, metricExportIntervalMs),
    spanBatchDelayMs: parsePositiveInt(env.OTEL_BSP_SCHEDULE_DELAY, 'OTEL_BSP_SCHEDULE_DELAY', DEFAULT_SPAN_BATCH_DELAY_MS, warn),
    temporality: parseChoice(
      env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
      'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
      TEMPORALITIES,
      'delta',
      warn,
    ),
    expressLayerSpans: parseBoolean(env.LATTICE_EXPRESS_LAYER_SPANS, 'LATTICE_EXPRESS_LAYER_SPANS', warn),
    shutdownTimeoutMs: parsePositiveInt(
      env.LATTICE_SHUTDOWN_TIMEOUT_MS,
      'LATTICE_SHUTDOWN_TIMEOUT_MS',
      DEFAULT_SHUTDOWN_TIMEOUT_MS,
      warn,
    ),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** `true`/`false` (any case); empty or unset is false. */
export function parseBoolean(value: string | undefined, name: string, warn: Warn): boolean {
  const v = nonEmpty(value)?.toLowerCase();
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  warn(configError(name, "'true' or 'false'", value ?? '', 'false'));
  return false;
}

/** A positive integer number of milliseconds; anything else warns and yields `fallback`. */
export function parsePositiveInt(value: string | undefined, name: string, fallback: number, warn: Warn): number {
  const v = nonEmpty(value);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (Number.isInteger(n) && n > 0) return n;
  warn(configError(name, 'a positive integer (milliseconds)', value ?? '', String(fallback)));
  return fallback;
}

export function parseChoice<T extends string>(
  value: string | undefined,
  name: string,
  choices: readonly T[],
  fallback: T,
  warn: Warn,
): T {
  const v = nonEmpty(value)?.toLowerCase();
  if (v === undefined) return fallback;
  const found = choices.find((c) => c === v);
  if (found !== undefined) return found;
  warn(configError(name, `one of ${choices.join(', ')}`, value ?? '', fallback));
  return fallback;
}

/** OTEL_TRACES_SAMPLER_ARG: a ratio in [0, 1], only meaningful for the ratio samplers. */
export function parseRatio(value: string | undefined, sampler: string | undefined, warn: Warn): number {
  const v = nonEmpty(value);
  if (v === undefined) return 1;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0 && n <= 1) return n;
  if (sampler !== undefined && sampler.includes('traceidratio')) {
    warn(configError('OTEL_TRACES_SAMPLER_ARG', 'a number between 0 and 1', value ?? '', '1'));
  }
  return 1;
}

/** An absolute http(s) URL; unset → undefined, bad → warn and undefined (caller's default). */
export function parseEndpoint(value: string | undefined, name: string, warn: Warn): string | undefined {
  const v = nonEmpty(value);
  if (v === undefined) return undefined;
  try {
    const url = new URL(v);
    if (url.protocol === 'http:' || url.protocol === 'https:') return v;
  } catch {
    // fall through to the warning
  }
  warn(configError(name, 'an http:// or https:// URL', v, 'the default'));
  return undefined;
}

/** `http://host:4318` + `v1/traces` → `http://host:4318/v1/traces` (the spec's base-endpoint rule). */
export function appendPath(base: string, path: string): string {
  return base.endsWith('/') ? base + path : `${base}/${path}`;
}

/**
 * W3C-baggage-like `k1=v1,k2=v2` (OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS), values
 * percent-decoded. A malformed member is skipped with one warning; the rest is kept.
 */
export function parseKeyValueList(value: string | undefined, name: string, warn: Warn): Record<string, string> {
  const out: Record<string, string> = {};
  const v = nonEmpty(value);
  if (v === undefined) return out;
  for (const member of v.split(',')) {
    if (member.trim() === '') continue;
    const eq = member.indexOf('=');
    const key = eq > 0 ? member.slice(0, eq).trim() : '';
    if (key === '') {
      warn(configError(name, 'a list of key=value pairs', member.trim(), 'the other pairs'));
      continue;
    }
    const raw = member.slice(eq + 1).trim();
    try {
      out[key] = decodeURIComponent(raw);
    } catch {
      warn(configError(name, 'percent-encoded values', raw, 'the value as written'));
      out[key] = raw;
    }
  }
  return out;
}

/**
 * The `name` in the nearest package.json from the entry script's directory upward, else from
 * the working directory upward.
 */
export function findPackageName(sources: ConfigSources): string | undefined {
  const read = sources.readPackageName ?? readPackageName;
  const starts: string[] = [];
  if (sources.entryScript) starts.push(dirname(resolve(sources.cwd, sources.entryScript)));
  starts.push(resolve(sources.cwd));
  for (const start of starts) {
    let dir = start;
    for (;;) {
      const name = read(dir);
      if (name !== undefined) return name;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return undefined;
}

function readPackageName(dir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, 'package.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const name: unknown = (JSON.parse(text) as { name?: unknown }).name;
    return typeof name === 'string' && name !== '' ? name : undefined;
  } catch {
    return undefined;
  }
}
