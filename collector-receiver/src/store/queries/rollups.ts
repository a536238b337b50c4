import type { Queryable } from '../db.js';
import { toBareArrayLiteral, toQuotedArrayLiteral } from './array-literal.js';
import { fitToStoredRows, type RollupRow, type StoredBucketRange } from '../../pipeline/rollup.js';

/**
 * Adds rollup rows into service_metrics_1m in one statement. Columns travel as array literals built
 * in one pass (array-literal.ts); bucket arrays as literals inside a text[] ('{1,0,3}'), cast per
 * row: PostgreSQL cannot unnest a two-dimensional array of ragged rows. An existing row is merged: counts added with offsets
 * aligned by lattice_add_counts (migration 001), min/max by LEAST/GREATEST, sum stays NULL once
 * unknown. Rows must be unique by key (toRollupRows guarantees it) and sorted (lock order).
 * Exponential rows are first fitted to what is stored (one SELECT of the stored bucket ranges of
 * their keys, then `fitToStoredRows`), so no merged row spans more than MAX_EXPONENTIAL_BUCKETS;
 * lattice_add_counts (migration 005) raises rather than allocate when a concurrent flush raced
 * this check, and the retried flush then fits.
 */
export async function upsertRollups(tx: Queryable, input: readonly RollupRow[]): Promise<void> {
  if (input.length === 0) return;
  const rows = fitToStoredRows(input, await selectStoredBucketRanges(tx, input));
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
       bucket_offset = CASE WHEN cardinality(r.counts) = 0 THEN EXCLUDED.bucket_offset
                            WHEN cardinality(EXCLUDED.counts) = 0 THEN r.bucket_offset
                            ELSE LEAST(r.bucket_offset, EXCLUDED.bucket_offset) END,
       counts = lattice_add_counts(r.bucket_offset, r.counts, EXCLUDED.bucket_offset, EXCLUDED.counts)`,
    [
      toBareArrayLiteral(rows, (r) => r.serviceId),
      toBareArrayLiteral(rows, (r) => r.minuteMs),
      toQuotedArrayLiteral(rows, (r) => r.method),
      toQuotedArrayLiteral(rows, (r) => r.route),
      toBareArrayLiteral(rows, (r) => r.statusCode),
      toQuotedArrayLiteral(rows, (r) => r.caller),
      toBareArrayLiteral(rows, (r) => r.unitToMs),
      toQuotedArrayLiteral(rows, (r) => r.layout),
      toBareArrayLiteral(rows, (r) => r.count),
      toBareArrayLiteral(rows, (r) => r.sum),
      toBareArrayLiteral(rows, (r) => r.min),
      toBareArrayLiteral(rows, (r) => r.max),
      toBareArrayLiteral(rows, (r) => r.zeroCount),
      toBareArrayLiteral(rows, (r) => r.offset),
      toQuotedArrayLiteral(rows, (r) => `{${r.counts.join(',')}}`),
    ]);
}

/**
 * The non-empty exponential rows of service_metrics_1m stored under the keys of the exponential
 * `rows` (any scale), as bucket ranges; one query.
 */
export async function selectStoredBucketRanges(tx: Queryable, rows: readonly RollupRow[]): Promise<StoredBucketRange[]> {
  const exponential = rows.filter((r) => r.layout.startsWith('exponential:') && r.counts.length > 0);
  if (exponential.length === 0) return [];
  const result = await tx.query<{ service_id: string; minute_ms: number; method: string; route: string; status_code: number;
    caller: string; unit_to_ms: number; layout: string; bucket_offset: number; length: number }>(
    `SELECT u.s::text AS service_id, u.mi AS minute_ms, u.me AS method, u.ro AS route, u.st AS status_code, u.ca AS caller,
            u.un AS unit_to_ms, r.layout, r.bucket_offset, cardinality(r.counts) AS length
     FROM (SELECT DISTINCT * FROM unnest($1::bigint[], $2::float8[], $3::text[], $4::text[], $5::int[], $6::text[], $7::float8[])
             AS u0(s, mi, me, ro, st, ca, un)) AS u
     JOIN service_metrics_1m r ON r.service_id = u.s AND r.minute = to_timestamp(u.mi / 1000.0) AND r.method = u.me
       AND r.route = u.ro AND r.status_code = u.st AND r.caller = u.ca AND r.unit_to_ms = u.un
     WHERE r.layout LIKE 'exponential:%' AND cardinality(r.counts) > 0`,
    [
      exponential.map((r) => r.serviceId),
      exponential.map((r) => r.minuteMs),
      exponential.map((r) => r.method),
      exponential.map((r) => r.route),
      exponential.map((r) => r.statusCode),
      exponential.map((r) => r.caller),
      exponential.map((r) => r.unitToMs),
    ]);
  return result.rows.map((r) => ({
    serviceId: r.service_id, minuteMs: Number(r.minute_ms), method: r.method, route: r.route, statusCode: Number(r.status_code),
    caller: r.caller, unitToMs: Number(r.unit_to_ms), layout: r.layout, offset: Number(r.bucket_offset), length: Number(r.length),
  }));
}
