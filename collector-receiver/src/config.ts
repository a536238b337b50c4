/**
 * Receiver settings from the environment. Bad values never crash startup silently: they throw
 * LAT_ERR_CONFIG_INVALID naming the variable, the expected shape and what arrived.
 */
import { errors } from './errors.js';

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
  /** Rows (requests + points) per group commit. */
  writeBatchRows: number;
  /** Rows waiting to be committed before new exports get 429. */
  maxQueuedRows: number;
  logLevel: string;
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

export function loadConfig(env: Env = process.env): ReceiverConfig {
  return {
    host: env.HOST || '127.0.0.1',
    port: intSetting(env, 'PORT', 4318, 0, 65535),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.LATTICE_DATA_DIR || '.lattice',
    maxBodyBytes: intSetting(env, 'LATTICE_MAX_BODY_BYTES', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxDecompressedBytes: intSetting(env, 'LATTICE_MAX_DECOMPRESSED_BYTES', 32 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    writeBatchRows: intSetting(env, 'LATTICE_WRITE_BATCH_ROWS', 5000, 1, 1_000_000),
    maxQueuedRows: intSetting(env, 'LATTICE_MAX_QUEUED_ROWS', 200_000, 1, 100_000_000),
    logLevel: env.LATTICE_LOG_LEVEL || 'info',
  };
}
