/**
 * The one database interface the receiver talks to. Two implementations: a `pg` pool
 * (`pg-db.ts`) for a PostgreSQL server and PGlite (`pglite-db.ts`) for the embedded default.
 * Every query is parameterised: values go through `$n` placeholders only.
 */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface Queryable {
  /**
   * true on a transaction of a PostgreSQL server (pg-db.ts); absent on a Db and on a PGlite
   * transaction. queries/insert-new-rows.ts writes under a savepoint only there (measured cheaper).
   */
  readonly pgTransaction?: true;
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<Row>>;
}

export interface Db extends Queryable {
  /** 'postgres' (a server through pg) or 'pglite' (embedded). */
  readonly kind: 'postgres' | 'pglite';
  /** Where the data lives, for the startup line (URL without password, or a directory). */
  readonly description: string;
  /** Runs fn inside BEGIN … COMMIT on one connection; ROLLBACK and rethrow on error. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
