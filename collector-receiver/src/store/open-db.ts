import { mkdir } from 'node:fs/promises';
import type { Db } from './db.js';
import { createPgDb } from './pg-db.js';
import { createPgliteDb } from './pglite-db.js';

export interface OpenDbConfig {
  /** PostgreSQL URL; when set, a pg Pool is used. */
  databaseUrl?: string | undefined;
  /** Directory for embedded PGlite when no URL is set (created if missing); ':memory:' = in memory. */
  dataDir: string;
  /** Pool/idle-client errors (never thrown); default: process.emitWarning. */
  onError?: (err: Error) => void;
}

/** A pg Pool when databaseUrl is set, else embedded PGlite on disk at dataDir. */
export async function openDb(config: OpenDbConfig): Promise<Db> {
  if (config.databaseUrl) {
    return createPgDb({ connectionString: config.databaseUrl, ...(config.onError ? { onError: config.onError } : {}) });
  }
  if (config.dataDir === ':memory:') return createPgliteDb();
  await mkdir(config.dataDir, { recursive: true });
  return createPgliteDb({ dataDir: config.dataDir });
}
