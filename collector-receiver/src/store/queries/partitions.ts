import type { Queryable } from '../db.js';

/** Arbitrary constant naming "Lattice partition DDL" for pg_advisory_xact_lock. */
const PARTITION_LOCK_KEY = 7_216_431_002;

/** UTC day (YYYY-MM-DD) of an epoch-ms instant. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

export function partitionName(day: string): string {
  return `service_metrics_p${day.replaceAll('-', '')}`;
}

/**
 * Creates the missing daily partitions of service_metrics for `days` (YYYY-MM-DD, UTC).
 * Call it first in the write transaction, before touching service_metrics: it takes an advisory
 * xact lock so two replicas creating the same day serialize (CREATE TABLE IF NOT EXISTS alone
 * can still race on the catalog), and an existing partition is detected without DDL so the
 * ACCESS EXCLUSIVE lock on the parent is only taken when a day is really new.
 * Returns the days that were checked (the caller caches them once the transaction commits).
 * DDL cannot take $n placeholders: names and bounds are built only from validated YYYY-MM-DD.
 */
export async function ensureDayPartitions(tx: Queryable, days: readonly string[]): Promise<void> {
  for (const day of days) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`partition day should be YYYY-MM-DD, instead got '${day}'`);
  }
  if (days.length === 0) return;
  const names = days.map(partitionName);
  const missing = await tx.query<{ name: string }>(
    'SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NULL', [names]);
  if (missing.rows.length === 0) return;
  await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [PARTITION_LOCK_KEY]);
  for (const { name } of missing.rows) {
    const day = days[names.indexOf(name)]!;
    const next = utcDay(Date.parse(`${day}T00:00:00Z`) + 86_400_000);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF service_metrics
      FOR VALUES FROM ('${day} 00:00:00+00') TO ('${next} 00:00:00+00')`);
  }
}
