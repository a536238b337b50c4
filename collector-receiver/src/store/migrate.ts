/**
 * Hand-written migration runner (no library; ~60 lines). Numbered `NNN_name.sql` files in
 * `src/store/migrations/` are applied in order, each in its own transaction that first takes a
 * transaction-scoped advisory lock, then (re)checks `lattice_migrations`: two receivers starting
 * at once against one server serialize on the lock, and the second sees the first's rows and
 * applies nothing. The lock is per database, so it also serializes receivers on other schemas
 * of the same database — harmless, migrations are short.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.js';
import { errors } from '../errors.js';

/** Arbitrary constant naming "Lattice migrations" for pg_advisory_xact_lock. */
const MIGRATION_LOCK_KEY = 7_216_431_001;

/**
 * The SQL files ship in the package as `src/store/migrations` (package.json "files"). This module
 * runs either from `src/store/` (tests, tsx) or from `dist/store/`; both resolve to that folder.
 */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../src/store/migrations/', import.meta.url));

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f)).sort();
  return Promise.all(files.map(async (file) => ({
    id: Number(file.slice(0, 3)),
    name: file,
    sql: await readFile(join(dir, file), 'utf8'),
  })));
}

/** Applies every migration not yet recorded in lattice_migrations. Safe to run concurrently. */
export async function migrate(db: Db, options: { dir?: string } = {}): Promise<{ applied: string[] }> {
  const migrations = await loadMigrations(options.dir);
  const applied: string[] = [];
  for (const migration of migrations) {
    try {
      const didApply = await db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
        await tx.query(`CREATE TABLE IF NOT EXISTS lattice_migrations (
          id int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
        const done = await tx.query('SELECT 1 FROM lattice_migrations WHERE id = $1', [migration.id]);
        if (done.rows.length > 0) return false;
        await tx.query(migration.sql);
        await tx.query('INSERT INTO lattice_migrations (id, name) VALUES ($1, $2)', [migration.id, migration.name]);
        return true;
      });
      if (didApply) applied.push(migration.name);
    } catch (err) {
      const e = errors.LAT_ERR_STORE_MIGRATION_FAILED(migration.name, (err as Error).message);
      (e as { cause?: unknown }).cause = err;
      throw e;
    }
  }
  return { applied };
}
