import { PGlite } from '@electric-sql/pglite';
import type { Db, QueryResult, Queryable } from './db.js';
import { createSerialQueue } from './serial-queue.js';

export interface PgliteDbOptions {
  /** Directory for the data files; undefined = in memory (tests). */
  dataDir?: string;
  /** Start from this dump (`dumpPgliteDb`) instead of an empty cluster: tests clone a migrated template. */
  loadDataDir?: Blob;
}

/** An uncompressed dump of a PGlite Db's data directory (for `loadDataDir`). */
export async function dumpPgliteDb(db: Db): Promise<Blob> {
  const pglite = pgliteOf.get(db);
  if (!pglite) throw new TypeError('dumpPgliteDb needs a Db made by createPgliteDb');
  return pglite.dumpDataDir('none');
}

const pgliteOf = new WeakMap<Db, PGlite>();

/**
 * PostgreSQL memory settings of the embedded database (PGlite's own start parameters are kept).
 * PGlite's memory is one WebAssembly.Memory that grows and never shrinks, so whatever PostgreSQL
 * touches once stays resident: with PostgreSQL's defaults (shared_buffers 128MB,
 * maintenance_work_mem 64MB) the buffer pool fills as the data outgrows it and stays in RSS; the OS
 * page cache still holds the data files. bench/ingest/pglite-memory.mjs (8 connections, 100 s,
 * 2 alternating rounds, load average 4.5–7.6), receiver RSS over the second half of the run:
 * 128MB (default) 517 / 565 MB, 32MB 452 / 422, 16MB 421 / 418; spans stored in the quieter round
 * 1.77 M, 1.69 M, 1.46 M. 32MB: ~100 MB less for ~4 % fewer spans; 16MB cost ~18 %.
 */
export const PGLITE_MEMORY_SETTINGS: readonly string[] = [
  '-c', 'shared_buffers=32MB',
  '-c', 'maintenance_work_mem=16MB',
  '-c', 'temp_buffers=8MB',
  '-c', 'work_mem=4MB',
];

/**
 * A Db over embedded PGlite. PGlite is one connection, so every query and every whole
 * transaction go through one FIFO queue: a concurrent caller's query waits until a running
 * transaction has committed or rolled back, instead of landing inside it.
 * A call without values may hold several statements (migrations); with values it is one
 * parameterised statement.
 */
export async function createPgliteDb(options: PgliteDbOptions = {}): Promise<Db> {
  const pglite = await PGlite.create({
    startParams: [...PGlite.defaultStartParams, ...PGLITE_MEMORY_SETTINGS],
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.loadDataDir === undefined ? {} : { loadDataDir: options.loadDataDir }),
  });
  const queue = createSerialQueue();

  const run = async <Row>(text: string, values?: unknown[]): Promise<QueryResult<Row>> => {
    if (values === undefined || values.length === 0) {
      const results = await pglite.exec(text);
      const last = results[results.length - 1];
      return { rows: (last?.rows ?? []) as Row[], rowCount: last?.affectedRows ?? last?.rows.length ?? 0 };
    }
    const result = await pglite.query<Row>(text, values);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  };

  const db: Db = {
    kind: 'pglite',
    description: options.dataDir ?? '(in memory)',
    query<Row>(text: string, values?: unknown[]) {
      return queue.run(() => run<Row>(text, values));
    },
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return queue.run(async () => {
        await pglite.exec('BEGIN');
        try {
          const result = await fn({ query: run });
          await pglite.exec('COMMIT');
          return result;
        } catch (err) {
          if (!pglite.closed) await pglite.exec('ROLLBACK').catch(() => {});
          throw err;
        }
      });
    },
    async close() {
      await queue.run(async () => {
        if (!pglite.closed) await pglite.close();
      });
    },
  };
  pgliteOf.set(db, pglite);
  return db;
}
