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
    ...withServerOptions(options.connectionString, options.options),
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5000,
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
          pgTransaction: true,
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

/**
 * Connection settings with the startup `options` every connection gets: the connection string's
 * own `?options=…`, then the caller's, then `-c jit=off`. JIT compilation cost ~2 s per API query
 * (24 h per-route stats: 5.5 s with JIT, 0.65 s without; PostgreSQL 15, 4 M requests) and our
 * queries are many short aggregates that never win it back. pg lets a URL's parameters override
 * the config object, so for a URL the combined options go into the URL itself.
 */
export function withServerOptions(connectionString: string, extra: string | undefined): { connectionString: string; options?: string } {
  const join = (...parts: Array<string | null | undefined>) => parts.filter((p) => p !== null && p !== undefined && p !== '').join(' ');
  try {
    const url = new URL(connectionString);
    url.searchParams.set('options', join(url.searchParams.get('options'), extra, '-c jit=off'));
    return { connectionString: url.toString() };
  } catch {
    // a key=value connection string: pg takes an explicit `options` next to it
    return { connectionString, options: join(extra, '-c jit=off') };
  }
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
