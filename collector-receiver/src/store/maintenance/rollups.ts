/**
 * Builds service_metrics_5m from service_metrics_1m and service_metrics_1h from service_metrics_5m,
 * in the database, incrementally:
 * - only closed periods: a 5-minute period once it ended GRACE ago (delta points are stamped at
 *   export time, so a minute's rows are in within seconds of its end); an hour once all its
 *   5-minute periods are rolled up;
 * - each coarse row is recomputed from its finer rows and replaces what was there (unchanged rows
 *   are not rewritten), so a run is idempotent and re-runnable;
 * - each run recomputes the periods of the last LOOKBACK before the watermark again, so finer
 *   rows that arrive late (a retried export) still reach the coarse tables; rows later than that
 *   stay in the 1m table only (lattice_rollups() then reads the period from its coarse row);
 * - the watermark (lattice_rollup_watermarks) moves in the same transaction as the rows, so
 *   lattice_rollups() never sees a period both or neither way.
 * Histograms merge per key — the layout (exponential scale or explicit bounds) is in the key — by
 * adding counts per bucket index (bucket_offset + position), which aligns exponential offsets.
 */
import type { Queryable } from '../db.js';

export interface RollupRunResult {
  /** 5-minute / hourly rows written (inserted or changed) */
  rows5m: number;
  rows1h: number;
  /** watermarks after the run, ISO 8601 (null = nothing rolled up yet) */
  rolledTo5m: string | null;
  rolledTo1h: string | null;
}

export interface RollupOptions {
  /** "now", epoch ms (tests); default Date.now() */
  nowMs?: number;
  /** How long after its end a 5-minute period is rolled up; default 60 s. */
  graceMs?: number;
}

const GRACE_MS = 60_000;
/** Periods re-rolled behind the watermark on every run. */
const LOOKBACK_5M = '15 minutes';
const LOOKBACK_1H = '1 hour';
/** 1m rows are rolled up in chunks of this many hours (bounded sorts on a catch-up). */
const CHUNK_HOURS = 6;
const ORIGIN = `timestamptz '2000-01-01 00:00:00+00'`;

interface Level {
  grain: '5m' | '1h';
  source: 'service_metrics_1m' | 'service_metrics_5m';
  target: 'service_metrics_5m' | 'service_metrics_1h';
  period: string;
  lookback: string;
}
const LEVEL_5M: Level = { grain: '5m', source: 'service_metrics_1m', target: 'service_metrics_5m', period: '5 minutes', lookback: LOOKBACK_5M };
const LEVEL_1H: Level = { grain: '1h', source: 'service_metrics_5m', target: 'service_metrics_1h', period: '1 hour', lookback: LOOKBACK_1H };

/**
 * One rollup pass inside the caller's transaction (the caller holds the maintenance lock).
 */
export async function rollUp(tx: Queryable, options: RollupOptions = {}): Promise<RollupRunResult> {
  const nowMs = options.nowMs ?? Date.now();
  const graceMs = options.graceMs ?? GRACE_MS;
  // The rows just rolled up are the newest, past the planner's statistics (estimated ~1 row): a
  // nested loop between the per-key totals and the rows then goes quadratic (measured: 82 s for
  // 190 k 1m rows, bench/query). For this transaction: hash joins, no JIT (the disabled nested
  // loop's cost would trigger seconds of JIT compilation), sorts in memory.
  await tx.query('SET LOCAL enable_nestloop = off');
  await tx.query('SET LOCAL jit = off');
  await tx.query(`SET LOCAL work_mem = '64MB'`);
  const closed5m = await tx.query<{ t: Date }>(
    `SELECT date_bin('5 minutes', to_timestamp($1::float8 / 1000), ${ORIGIN}) AS t`, [nowMs - graceMs]);
  const five = await rollLevel(tx, LEVEL_5M, closed5m.rows[0]!.t);
  // An hour is closed once the 5-minute watermark passed its end.
  const hourEnd = five.rolledTo === null ? null : await tx.query<{ t: Date }>(
    `SELECT date_bin('1 hour', $1::timestamptz, ${ORIGIN}) AS t`, [five.rolledTo]);
  const hour = hourEnd === null ? { rows: 0, rolledTo: await watermark(tx, '1h') } : await rollLevel(tx, LEVEL_1H, hourEnd.rows[0]!.t);
  return {
    rows5m: five.rows, rows1h: hour.rows,
    rolledTo5m: five.rolledTo?.toISOString() ?? null, rolledTo1h: hour.rolledTo?.toISOString() ?? null,
  };
}

async function watermark(tx: Queryable, grain: string): Promise<Date | null> {
  const r = await tx.query<{ t: Date | null }>(
    `SELECT CASE WHEN isfinite(rolled_to) THEN rolled_to END AS t FROM lattice_rollup_watermarks WHERE grain = $1`, [grain]);
  return r.rows[0]?.t ?? null;
}

/** Rolls [watermark − lookback, closedTo) of one level, then moves its watermark to closedTo. */
async function rollLevel(tx: Queryable, level: Level, closedTo: Date): Promise<{ rows: number; rolledTo: Date | null }> {
  const current = await watermark(tx, level.grain);
  if (current !== null && current.getTime() > closedTo.getTime()) closedTo = current; // never move back
  // Start: the lookback behind the watermark, skipping ahead to the first finer row (gaps, first run).
  const start = await tx.query<{ t: Date | null }>(
    `SELECT date_bin($2::interval, min(minute), ${ORIGIN}) AS t FROM ${level.source}
     WHERE minute >= coalesce($1::timestamptz - $3::interval, '-infinity') AND minute < $4::timestamptz`,
    [current, level.period, level.lookback, closedTo]);
  let from = start.rows[0]!.t;
  let rows = 0;
  const chunkMs = CHUNK_HOURS * 3_600_000;
  while (from !== null && from.getTime() < closedTo.getTime()) {
    const to = new Date(Math.min(from.getTime() + chunkMs, closedTo.getTime()));
    rows += await rollRange(tx, level, from, to);
    from = to;
  }
  if (current === null && start.rows[0]!.t === null) return { rows, rolledTo: null }; // nothing ever arrived
  await tx.query(`UPDATE lattice_rollup_watermarks SET rolled_to = $2, updated_at = now() WHERE grain = $1`,
    [level.grain, closedTo]);
  return { rows, rolledTo: closedTo };
}

/**
 * Recomputes the coarse rows of [from, to) from the finer rows. Each coarse key gets a number
 * (gid) first, so the bucket work — unnest, sum per bucket index, lay out densely — groups and
 * sorts by two integers instead of eight key columns; the dense array is built from the non-zero
 * buckets (gaps filled with 0) through a text array literal: one pass, no per-row function calls.
 */
async function rollRange(tx: Queryable, level: Level, from: Date, to: Date): Promise<number> {
  const keys = 'service_id, p, method, route, status_code, caller, unit_to_ms, layout';
  const result = await tx.query(
    `WITH src AS (
       SELECT service_id, date_bin($3::interval, minute, ${ORIGIN}) AS p, method, route, status_code, caller, unit_to_ms,
              layout, count, sum, min, max, zero_count, bucket_offset, counts
       FROM ${level.source} WHERE minute >= $1::timestamptz AND minute < $2::timestamptz
     ), totals AS (
       SELECT row_number() OVER () AS gid, ${keys}, sum(count)::bigint AS count,
              CASE WHEN bool_and(sum IS NOT NULL) THEN sum(sum) END AS sum,
              min(min) AS min, max(max) AS max, sum(zero_count)::bigint AS zero_count
       FROM src GROUP BY ${keys}
     ), per_index AS (
       SELECT t.gid, s.bucket_offset + (u.ord - 1)::int AS idx, sum(u.c) AS c
       FROM src s JOIN totals t USING (${keys}), unnest(s.counts) WITH ORDINALITY AS u(c, ord)
       WHERE u.c <> 0
       GROUP BY t.gid, idx
     ), arrays AS (
       SELECT gid, min(idx) AS bucket_offset,
              ('{' || string_agg(repeat('0,', gap) || c::text, ',' ORDER BY idx) || '}')::bigint[] AS counts
       FROM (SELECT gid, idx, c, coalesce(idx - lag(idx) OVER (PARTITION BY gid ORDER BY idx) - 1, 0) AS gap FROM per_index) g
       GROUP BY gid
     )
     INSERT INTO ${level.target} AS r (service_id, minute, method, route, status_code, caller, unit_to_ms, layout,
       count, sum, min, max, zero_count, bucket_offset, counts)
     SELECT t.service_id, t.p, t.method, t.route, t.status_code, t.caller, t.unit_to_ms, t.layout,
            t.count, t.sum, t.min, t.max, t.zero_count, coalesce(a.bucket_offset, 0), coalesce(a.counts, '{}')
     FROM totals t LEFT JOIN arrays a USING (gid)
     ON CONFLICT (service_id, minute, method, route, status_code, caller, unit_to_ms, layout) DO UPDATE SET
       count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max,
       zero_count = EXCLUDED.zero_count, bucket_offset = EXCLUDED.bucket_offset, counts = EXCLUDED.counts
     WHERE (r.count, r.sum, r.min, r.max, r.zero_count, r.bucket_offset, r.counts)
       IS DISTINCT FROM (EXCLUDED.count, EXCLUDED.sum, EXCLUDED.min, EXCLUDED.max, EXCLUDED.zero_count,
                         EXCLUDED.bucket_offset, EXCLUDED.counts)`,
    [from, to, level.period]);
  return result.rowCount;
}
