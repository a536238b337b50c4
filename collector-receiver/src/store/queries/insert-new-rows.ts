import type { Queryable } from '../db.js';
import { sqlState } from '../db-errors.js';

/** unique_violation: a row with the same (trace_id, span_id, start) is already stored. */
const UNIQUE_VIOLATION = '23505';

/**
 * Runs `insert` — an INSERT into a table whose only unique constraint is the retry key, without
 * ON CONFLICT — inside the caller's transaction and returns how many rows it inserted. Optimistic:
 * almost every export is new, so the rows go in as a plain insert under a savepoint; only when one
 * is already stored (a retried or twice-delivered export, or the same span twice in one flush) does
 * it roll back to the savepoint and run `insert … ON CONFLICT DO NOTHING`, which skips the stored
 * rows. Either way the outcome is that of ON CONFLICT DO NOTHING: each new row once, no stored row
 * twice, and the count is of new rows only.
 * Why: ON CONFLICT makes PostgreSQL insert each row speculatively (pre-check, insert, re-check)
 * into the partitioned `spans` and `service_metrics` tables. bench/ingest/writer-statements.mjs
 * traces 400 pg, 7 alternating rounds, medians, load average 6–7: 400 exports written in 6,274 →
 * 4,718 ms; time in INSERT INTO spans 7,715 → 5,258 ms, in service_metrics 2,412 → 1,641 ms.
 * On PGlite (not a PostgreSQL-server transaction) it did not help (6,037 vs 5,480 ms, 200 exports,
 * 7 rounds): there the ON CONFLICT statement runs directly.
 */
export async function insertNewRows(tx: Queryable, insert: string, values: unknown[]): Promise<number> {
  if (tx.pgTransaction !== true) return (await tx.query(`${insert} ON CONFLICT DO NOTHING`, values)).rowCount;
  await tx.query('SAVEPOINT lattice_insert_new_rows');
  let inserted: number;
  try {
    inserted = (await tx.query(insert, values)).rowCount;
  } catch (err) {
    if (sqlState(err) !== UNIQUE_VIOLATION) throw err;
    await tx.query('ROLLBACK TO SAVEPOINT lattice_insert_new_rows');
    inserted = (await tx.query(`${insert} ON CONFLICT DO NOTHING`, values)).rowCount;
  }
  await tx.query('RELEASE SAVEPOINT lattice_insert_new_rows');
  return inserted;
}
