/**
 * Receiver settings from the environment. Bad values never crash startup silently: they throw
 * LAT_ERR_CONFIG_INVALID naming the variable, the expected shape and what arrived.
 */
import { errors } from './errors.js';
import { DEFAULT_BATCH_POINTS } from './pipeline/batching-writer.js';

export interface ReceiverConfig {
  host: string;
  port: number;
  /** PostgreSQL connection string; undefined = embedded PGlite under dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** Largest accepted request body as sent (compressed), bytes. */
  maxBodyBytes: number;
  /** Largest accepted request body after gzip decompression, bytes. */
  maxDecompressedBytes: number;
  /** Request and span rows per group commit. */
  writeBatchRows: number;
  /** Metric data points per group commit. */
  writeBatchPoints: number;
  /** Rows waiting to be committed before new exports get 429. */
  maxQueuedRows: number;
  /** Estimated bytes (decoded bodies + rows) waiting to be committed before new exports get 429 (503 while the database is down). */
  maxQueuedBytes: number;
  /** How long an export may wait for the database (e.g. during an outage) before it is answered 503, ms. */
  outageHoldMs: number;
  /** Bytes of request bodies being read and decoded at once (as sent + decompressed) before new exports get 429. */
  maxInflightBytes: number;
  logLevel: string;
  /** Days kept: raw request rows (whole daily partitions dropped), 1-minute, 5-minute, hourly rollups. */
  retentionRawDays: number;
  retention1mDays: number;
  retention5mDays: number;
  retention1hDays: number;
  /** Distinct routes stored per service; later routes are stored as '(overflow)'. */
  maxRoutesPerService: number;
  /** Apdex T in ms: satisfied ≤ T, tolerating ≤ 4T (LATTICE_APDEX_T_MS). */
  apdexTMs: number;
  /** A service without data for this long is grey (LATTICE_STALE_AFTER_S). */
  staleAfterS: number;
  /** Health thresholds of /metrics/services: error rate (0–1) at or above → yellow / red. */
  healthErrorYellow: number;
  healthErrorRed: number;
  /** Health thresholds of /metrics/services: Apdex (0–1) below → yellow / red. */
  healthApdexYellow: number;
  healthApdexRed: number;
  /** Per-key ingest limit, rows (spans + data points) per second, bursts up to 2×; 0 = unlimited (LATTICE_KEY_RATE_LIMIT_ROWS_PER_S). */
  keyRateLimitRowsPerS?: number;
  /** How long a key lookup is cached, ms: a revoked key stops working within this (LATTICE_KEY_CACHE_TTL_MS). */
  keyCacheTtlMs?: number;
}

type Env = Record<string, string | undefined>;

function intSetting(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw errors.LAT_ERR_CONFIG_INVALID(name, `an integer from ${min} to ${max}`, raw);
  }
  return value;
}

function fractionSetting(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\s*[\d.]+\s*$/.test(raw) || !Number.isFinite(value) || value < 0 || value > 1) {
    throw errors.LAT_ERR_CONFIG_INVALID(name, 'a number from 0 to 1', raw);
  }
  return value;
}

export function loadConfig(env: Env = process.env): ReceiverConfig {
  return {
    host: env.HOST || '127.0.0.1',
    port: intSetting(env, 'PORT', 4318, 0, 65535),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.LATTICE_DATA_DIR || '.lattice',
    maxBodyBytes: intSetting(env, 'LATTICE_MAX_BODY_BYTES', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxDecompressedBytes: intSetting(env, 'LATTICE_MAX_DECOMPRESSED_BYTES', 32 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    writeBatchRows: intSetting(env, 'LATTICE_WRITE_BATCH_ROWS', 5000, 1, 1_000_000),
    writeBatchPoints: intSetting(env, 'LATTICE_WRITE_BATCH_POINTS', DEFAULT_BATCH_POINTS, 1, 1_000_000),
    maxQueuedRows: intSetting(env, 'LATTICE_MAX_QUEUED_ROWS', 200_000, 1, 100_000_000),
    maxQueuedBytes: intSetting(env, 'LATTICE_MAX_QUEUED_BYTES', 16 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
    outageHoldMs: intSetting(env, 'LATTICE_OUTAGE_HOLD_MS', 8000, 0, 3_600_000),
    maxInflightBytes: intSetting(env, 'LATTICE_MAX_INFLIGHT_BYTES', 16 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
    logLevel: env.LATTICE_LOG_LEVEL || 'info',
    retentionRawDays: intSetting(env, 'LATTICE_RETENTION_RAW_DAYS', 7, 1, 36_500),
    retention1mDays: intSetting(env, 'LATTICE_RETENTION_1M_DAYS', 30, 1, 36_500),
    retention5mDays: intSetting(env, 'LATTICE_RETENTION_5M_DAYS', 90, 1, 36_500),
    retention1hDays: intSetting(env, 'LATTICE_RETENTION_1H_DAYS', 400, 1, 36_500),
    maxRoutesPerService: intSetting(env, 'LATTICE_MAX_ROUTES_PER_SERVICE', 1000, 1, 1_000_000),
    apdexTMs: intSetting(env, 'LATTICE_APDEX_T_MS', 500, 1, 600_000),
    staleAfterS: intSetting(env, 'LATTICE_STALE_AFTER_S', 120, 1, 86_400 * 30),
    healthErrorYellow: fractionSetting(env, 'LATTICE_HEALTH_ERROR_YELLOW', 0.01),
    healthErrorRed: fractionSetting(env, 'LATTICE_HEALTH_ERROR_RED', 0.05),
    healthApdexYellow: fractionSetting(env, 'LATTICE_HEALTH_APDEX_YELLOW', 0.85),
    healthApdexRed: fractionSetting(env, 'LATTICE_HEALTH_APDEX_RED', 0.7),
    keyRateLimitRowsPerS: intSetting(env, 'LATTICE_KEY_RATE_LIMIT_ROWS_PER_S', 50_000, 0, 100_000_000),
    keyCacheTtlMs: intSetting(env, 'LATTICE_KEY_CACHE_TTL_MS', 5000, 0, 3_600_000),
  };
}
