import type { Queryable } from '../db.js';

/** Arbitrary constant naming "Lattice partition DDL" for pg_advisory_xact_lock. */
const PARTITION_LOCK_KEY = 7_216_431_002;

/** UTC day (YYYY-MM-DD) of an epoch-ms instant. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/**
 * The tables partitioned by UTC day: service_metrics (migration 001) and spans (migration 004).
 * Every day gets a partition of each, created together; retention drops them together.
 */
export const DAY_PARTITIONED_TABLES = ['service_metrics', 'spans'] as const;
export type DayPartitionedTable = (typeof DAY_PARTITIONED_TABLES)[number];

export function partitionName(day: string, table: DayPartitionedTable = 'service_metrics'): string {
  return `${table}_p${day.replaceAll('-', '')}`;
}

/**
 * Creates the missing daily partitions of every DAY_PARTITIONED_TABLES table for `days` (YYYY-MM-DD, UTC).
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
  const wanted = DAY_PARTITIONED_TABLES.flatMap((table) => days.map((day) => ({ table, day, name: partitionName(day, table) })));
  const names = wanted.map((w) => w.name);
  const missing = await tx.query<{ name: string }>(
    'SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NULL', [names]);
  if (missing.rows.length === 0) return;
  await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [PARTITION_LOCK_KEY]);
  for (const { name } of missing.rows) {
    const { table, day } = wanted[names.indexOf(name)]!;
    const next = utcDay(Date.parse(`${day}T00:00:00Z`) + 86_400_000);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF ${table}
      FOR VALUES FROM ('${day} 00:00:00+00') TO ('${next} 00:00:00+00')`);
  }
}
