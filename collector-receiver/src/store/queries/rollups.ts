import type { Queryable } from '../db.js';
import type { RollupRow } from '../../pipeline/rollup.js';

/**
 * Adds rollup rows into service_metrics_1m in one statement. Bucket arrays travel as array
 * literals in a text[] ('{1,0,3}') and are cast per row: PostgreSQL cannot unnest a
 * two-dimensional array of ragged rows. An existing row is merged: counts added with offsets
 * aligned by lattice_add_counts (migration 001), min/max by LEAST/GREATEST, sum stays NULL once
 * unknown. Rows must be unique by key (toRollupRows guarantees it) and sorted (lock order).
 */
export async function upsertRollups(tx: Queryable, rows: readonly RollupRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO service_metrics_1m AS r (service_id, minute, method, route, status_code, caller, unit_to_ms, layout,
       count, sum, min, max, zero_count, bucket_offset, counts)
     SELECT s, to_timestamp(mi / 1000.0), me, ro, st, ca, un, la, co, su, mn, mx, ze, bo, cs::bigint[]
     FROM unnest($1::bigint[], $2::float8[], $3::text[], $4::text[], $5::int[], $6::text[], $7::float8[], $8::text[],
                 $9::bigint[], $10::float8[], $11::float8[], $12::float8[], $13::bigint[], $14::int[], $15::text[])
          AS u(s, mi, me, ro, st, ca, un, la, co, su, mn, mx, ze, bo, cs)
     ON CONFLICT (service_id, minute, method, route, status_code, caller, unit_to_ms, layout) DO UPDATE SET
       count = r.count + EXCLUDED.count,
       sum = r.sum + EXCLUDED.sum,
       min = LEAST(r.min, EXCLUDED.min),
       max = GREATEST(r.max, EXCLUDED.max),
       zero_count = r.zero_count + EXCLUDED.zero_count,
       bucket_offset = LEAST(r.bucket_offset, EXCLUDED.bucket_offset),
       counts = lattice_add_counts(r.bucket_offset, r.counts, EXCLUDED.bucket_offset, EXCLUDED.counts)`,
    [
      rows.map((r) => r.serviceId),
      rows.map((r) => r.minuteMs),
      rows.map((r) => r.method),
      rows.map((r) => r.route),
      rows.map((r) => r.statusCode),
      rows.map((r) => r.caller),
      rows.map((r) => r.unitToMs),
      rows.map((r) => r.layout),
      rows.map((r) => r.count),
      rows.map((r) => r.sum),
      rows.map((r) => r.min),
      rows.map((r) => r.max),
      rows.map((r) => r.zeroCount),
      rows.map((r) => r.offset),
      rows.map((r) => `{${r.counts.join(',')}}`),
    ]);
}
