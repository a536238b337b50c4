import pg from 'pg';
import type { Db, QueryResult, Queryable } from './db.js';

export interface PgDbOptions {
  connectionString: string;
  /** Pool size; 10 by default. */
  max?: number;
  /** Passed to the server at connect, e.g. `-c search_path=my_schema` (tests use one schema each). */
  options?: string;
  /** application_name of the connections (visible in pg_stat_activity). */
  applicationName?: string;
  /** How long to wait for a connection before failing (ms); 5000 by default so an outage is a fast 503. */
  connectionTimeoutMillis?: number;
  /** Where idle-client and pool errors go (default: a process warning); they never crash the process. */
  onError?: (err: Error) => void;
}

/** A Db over a `pg` Pool. Errors on idle clients are reported through onError, never thrown. */
export function createPgDb(options: PgDbOptions): Db {
  // Idle clients lose their connection when the server restarts: report, never crash.
  const onError = options.onError ?? ((err: Error) => {
    process.emitWarning(`PostgreSQL connection error (the pool reconnects on the next query): ${err.message}`, 'LatticeStoreWarning');
  });
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5000,
    ...(options.options === undefined ? {} : { options: options.options }),
    ...(options.applicationName === undefined ? {} : { application_name: options.applicationName }),
  });
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));

  const toResult = <Row>(result: pg.QueryResult): QueryResult<Row> =>
    ({ rows: result.rows as Row[], rowCount: result.rowCount ?? 0 });

  return {
    kind: 'postgres',
    description: redactUrl(options.connectionString),
    async query<Row>(text: string, values?: unknown[]) {
      return toResult<Row>(await pool.query(text, values));
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const tx: Queryable = {
          async query<Row>(text: string, values?: unknown[]) {
            return toResult<Row>(await client.query(text, values));
          },
        };
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          // The connection is gone: do not return it to the pool.
          broken = rollbackErr as Error;
        }
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/** postgres://user:secret@host/db → postgres://user@host/db */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}
