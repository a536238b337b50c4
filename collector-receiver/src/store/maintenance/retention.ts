/**
 * Retention: raw per-request rows go by whole daily partitions (DROP TABLE — no vacuum debt, no
 * row-by-row delete), rollups by DELETE of periods older than their retention.
 * The partitioned tables are DAY_PARTITIONED_TABLES (service_metrics, spans); a partition
 * `<table>_pYYYYMMDD` is dropped once its whole day is older than the raw retention.
 * The writer recreates a dropped partition it had cached (see batching-writer.ts).
 */
import type { Queryable } from '../db.js';
import { DAY_PARTITIONED_TABLES } from '../queries/partitions.js';

export interface RetentionDays {
  raw: number;
  rollup1m: number;
  rollup5m: number;
  rollup1h: number;
}

export interface RetentionResult {
  droppedPartitions: string[];
  deleted1m: number;
  deleted5m: number;
  deleted1h: number;
}

const DAY_MS = 86_400_000;

/** Applies retention inside the caller's transaction (the caller holds the maintenance lock). */
export async function applyRetention(tx: Queryable, days: RetentionDays, nowMs: number = Date.now()): Promise<RetentionResult> {
  // Deletes first: DROP TABLE locks the parent table (writers wait) until the transaction ends,
  // so the drops come last, just before the commit.
  const cutoff = (d: number) => new Date(nowMs - d * DAY_MS);
  const d1m = await tx.query('DELETE FROM service_metrics_1m WHERE minute < $1', [cutoff(days.rollup1m)]);
  const d5m = await tx.query('DELETE FROM service_metrics_5m WHERE minute < $1', [cutoff(days.rollup5m)]);
  const d1h = await tx.query('DELETE FROM service_metrics_1h WHERE minute < $1', [cutoff(days.rollup1h)]);
  // Per-route rows go with the table they are built from; the minute masks with the hourly rows
  // (24 small rows per service-day: coverage stays known while any rollup of the hour is kept).
  await tx.query(`DELETE FROM service_route_metrics
                  WHERE (grain_seconds = 300 AND minute < $1) OR (grain_seconds > 300 AND minute < $2)`,
    [cutoff(days.rollup5m), cutoff(days.rollup1h)]);
  await tx.query('DELETE FROM service_rollup_minutes WHERE hour < $1', [cutoff(days.rollup1h)]);
  const rawCutoff = nowMs - days.raw * DAY_MS;
  const partitions = await tx.query<{ parent: string; child: string; qualified: string }>(
    `SELECT p.relname AS parent, c.relname AS child, format('%I.%I', n.nspname, c.relname) AS qualified
     FROM unnest($1::text[]) AS t(name)
     JOIN pg_class p ON p.oid = to_regclass(t.name)
     JOIN pg_inherits i ON i.inhparent = p.oid
     JOIN pg_class c ON c.oid = i.inhrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace`, [DAY_PARTITIONED_TABLES]);
  const dropped: string[] = [];
  for (const { parent, child, qualified } of partitions.rows) {
    const match = /^(\d{4})(\d{2})(\d{2})$/.exec(child.slice(parent.length + 2));
    if (!child.startsWith(`${parent}_p`) || match === null) continue; // not one of ours
    const dayEnd = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) + DAY_MS;
    if (dayEnd > rawCutoff) continue;
    // DDL takes no $n placeholders: the name comes from the catalog, quoted by format('%I').
    await tx.query(`DROP TABLE IF EXISTS ${qualified}`);
    dropped.push(child);
  }
  return { droppedPartitions: dropped.sort(), deleted1m: d1m.rowCount, deleted5m: d5m.rowCount, deleted1h: d1h.rowCount };
}
