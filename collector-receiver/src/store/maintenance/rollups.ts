/**
 * Builds, in the database, incrementally:
 *   service_metrics_5m     from service_metrics_1m    service_metrics_1h from service_metrics_5m
 *   service_route_metrics  per route (statuses and callers merged, errors and requests per caller
 *                          counted): 5-minute rows
 *                          from service_metrics_5m, hourly rows from service_metrics_1h, 6-hour
 *                          rows from its hourly rows (migration 007)
 *   service_rollup_minutes which minutes of each hour a service has 1m rows in (bit mask)
 * - only closed periods: a 5-minute period once it ended GRACE ago (delta points are stamped at
 *   export time, so a minute's rows are in within seconds of its end); an hour once all its
 *   5-minute periods are rolled up; a 6-hour period once its hours are;
 * - each coarse row is recomputed from its finer rows and replaces what was there (unchanged rows
 *   are not rewritten), so a run is idempotent and re-runnable;
 * - each run recomputes the periods of the last lookback before the watermark again (rows of a
 *   retried export), and every period noted in lattice_rollup_late — 1m rows written below the
 *   5m watermark, however late (a trigger notes them, migration 007) — at every level;
 * - each level's watermark (lattice_rollup_watermarks) moves in the same transaction as its rows,
 *   so readers never see a period both or neither way.
 * Histograms merge per key — the layout (exponential scale or explicit bounds) is in the key — by
 * adding counts per bucket index (bucket_offset + position), which aligns exponential offsets.
 */
import type { Queryable } from '../db.js';
import { MAX_EXPONENTIAL_BUCKETS } from '../../pipeline/histogram/exponential.js';

export interface RollupRunResult {
  /** 5-minute / hourly rows written (inserted or changed) */
  rows5m: number;
  rows1h: number;
  /** per-route rows written (service_route_metrics, every grain) */
  routeRows: number;
  /** 5-minute periods rebuilt because 1m rows arrived after they were rolled up */
  latePeriods: number;
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
/** 1m rows are rolled up in chunks of this many hours (bounded sorts on a catch-up). */
const CHUNK_HOURS = 6;
const ORIGIN = `timestamptz '2000-01-01 00:00:00+00'`;

type Grain = '5m' | '1h' | 'minutes' | 'route_5m' | 'route_1h' | 'route_6h';

interface Level {
  grain: Grain;
  /** the finer rows: a table, filtered by `sourceWhere` */
  source: string;
  sourceWhere?: string;
  target: string;
  /** service_route_metrics.grain_seconds of the target rows (route levels) */
  targetGrainSeconds?: number;
  period: string;
  periodMs: number;
  /** periods re-rolled behind the watermark on every run */
  lookback: string;
  /** merge every status code and caller of a route; errors kept as a count */
  byRoute: boolean;
}

const LEVELS: Record<Grain, Level> = {
  '5m': { grain: '5m', source: 'service_metrics_1m', target: 'service_metrics_5m', period: '5 minutes', periodMs: 300_000, lookback: '15 minutes', byRoute: false },
  '1h': { grain: '1h', source: 'service_metrics_5m', target: 'service_metrics_1h', period: '1 hour', periodMs: 3_600_000, lookback: '1 hour', byRoute: false },
  minutes: { grain: 'minutes', source: 'service_metrics_1m', target: 'service_rollup_minutes', period: '1 hour', periodMs: 3_600_000, lookback: '15 minutes', byRoute: false },
  route_5m: { grain: 'route_5m', source: 'service_metrics_5m', target: 'service_route_metrics', targetGrainSeconds: 300, period: '5 minutes', periodMs: 300_000, lookback: '15 minutes', byRoute: true },
  route_1h: { grain: 'route_1h', source: 'service_metrics_1h', target: 'service_route_metrics', targetGrainSeconds: 3600, period: '1 hour', periodMs: 3_600_000, lookback: '1 hour', byRoute: true },
  route_6h: { grain: 'route_6h', source: 'service_route_metrics', sourceWhere: 'grain_seconds = 3600', target: 'service_route_metrics', targetGrainSeconds: 21_600, period: '6 hours', periodMs: 21_600_000, lookback: '0 hours', byRoute: true },
};

/**
 * One rollup pass inside the caller's transaction (the caller holds the maintenance lock): the
 * 5m and 1h rows, the minute masks, the per-route rows, then the periods that late 1m rows
 * touched (lattice_rollup_late, filled by a trigger on service_metrics_1m, migration 007).
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
  const five = await rollLevel(tx, LEVELS['5m'], closed5m.rows[0]!.t);
  // An hour is closed once the 5-minute watermark passed its end.
  const hour = five.rolledTo === null ? { rows: 0, rolledTo: await watermark(tx, '1h') }
    : await rollLevel(tx, LEVELS['1h'], floorTo(five.rolledTo, 3_600_000));
  let routeRows = 0;
  if (five.rolledTo !== null) {
    await rollLevel(tx, LEVELS.minutes, five.rolledTo);
    routeRows += (await rollLevel(tx, LEVELS.route_5m, five.rolledTo)).rows;
  }
  if (hour.rolledTo !== null) {
    const routeHour = await rollLevel(tx, LEVELS.route_1h, hour.rolledTo);
    routeRows += routeHour.rows;
    // 6-hour rows are not re-rolled on every pass (6 hourly rows per route: ~2 s a pass at 10 M
    // requests/day, bench/query): only the built periods whose hourly rows this pass changed.
    const built6h = (await watermark(tx, 'route_6h'))?.getTime() ?? -Infinity;
    const changed6h = new Set([...routeHour.changed].map((t) => floorTo(new Date(t), 21_600_000).getTime()));
    for (const p of [...changed6h].sort()) {
      if (p + 21_600_000 <= built6h) routeRows += await rollRange(tx, LEVELS.route_6h, new Date(p), new Date(p + 21_600_000), new Set());
    }
    if (routeHour.rolledTo !== null) routeRows += (await rollLevel(tx, LEVELS.route_6h, floorTo(routeHour.rolledTo, 21_600_000))).rows;
  }
  const late = await rollLatePeriods(tx);
  return {
    rows5m: five.rows + late.rows5m, rows1h: hour.rows + late.rows1h, routeRows: routeRows + late.routeRows, latePeriods: late.periods,
    rolledTo5m: five.rolledTo?.toISOString() ?? null, rolledTo1h: hour.rolledTo?.toISOString() ?? null,
  };
}

/** UTC-aligned floor (every period divides a day, and the origin is midnight). */
function floorTo(t: Date, periodMs: number): Date {
  return new Date(Math.floor(t.getTime() / periodMs) * periodMs);
}

async function watermark(tx: Queryable, grain: Grain): Promise<Date | null> {
  const r = await tx.query<{ t: Date | null }>(
    `SELECT CASE WHEN isfinite(rolled_to) THEN rolled_to END AS t FROM lattice_rollup_watermarks WHERE grain = $1`, [grain]);
  return r.rows[0]?.t ?? null;
}

function sourceWhere(level: Level): string {
  return level.sourceWhere ? ` AND ${level.sourceWhere}` : '';
}

/** Rolls [watermark − lookback, closedTo) of one level, then moves its watermark to closedTo. */
async function rollLevel(tx: Queryable, level: Level, closedTo: Date): Promise<{ rows: number; rolledTo: Date | null; changed: Set<number> }> {
  const current = await watermark(tx, level.grain);
  if (current !== null && current.getTime() > closedTo.getTime()) closedTo = current; // never move back
  // Start: the lookback behind the watermark, skipping ahead to the first finer row (gaps, first run).
  const start = await tx.query<{ t: Date | null }>(
    `SELECT date_bin($2::interval, min(minute), ${ORIGIN}) AS t FROM ${level.source}
     WHERE minute >= coalesce($1::timestamptz - $3::interval, '-infinity') AND minute < $4::timestamptz${sourceWhere(level)}`,
    [current, level.period, level.lookback, closedTo]);
  let from = start.rows[0]!.t;
  let rows = 0;
  const changed = new Set<number>();
  const chunkMs = Math.max(CHUNK_HOURS * 3_600_000, level.periodMs);
  while (from !== null && from.getTime() < closedTo.getTime()) {
    const to = new Date(Math.min(from.getTime() + chunkMs, closedTo.getTime()));
    rows += await rollRange(tx, level, from, to, changed);
    from = to;
  }
  if (current === null && start.rows[0]!.t === null) return { rows, rolledTo: null, changed }; // nothing ever arrived
  await tx.query(`UPDATE lattice_rollup_watermarks SET rolled_to = $2, updated_at = now() WHERE grain = $1`,
    [level.grain, closedTo]);
  return { rows, rolledTo: closedTo, changed };
}

/**
 * The 5-minute periods noted in lattice_rollup_late: rebuilt at every level whose watermark
 * passed them (the others reach them in their normal run), then forgotten.
 */
async function rollLatePeriods(tx: Queryable): Promise<{ periods: number; rows5m: number; rows1h: number; routeRows: number }> {
  const late = await tx.query<{ period: Date }>(`SELECT period FROM lattice_rollup_late ORDER BY period`);
  const out = { periods: late.rows.length, rows5m: 0, rows1h: 0, routeRows: 0 };
  if (late.rows.length === 0) return out;
  const marks = new Map<Grain, number>();
  for (const grain of ['5m', '1h', 'minutes', 'route_5m', 'route_1h', 'route_6h'] as const) {
    marks.set(grain, (await watermark(tx, grain))?.getTime() ?? -Infinity);
  }
  const done = new Set<string>();
  // Finer levels first: each coarser level reads the rows the previous one just rebuilt.
  for (const grain of ['5m', '1h', 'minutes', 'route_5m', 'route_1h', 'route_6h'] as const) {
    const level = LEVELS[grain];
    for (const { period } of late.rows) {
      const from = floorTo(period, level.periodMs).getTime();
      const to = Math.min(from + level.periodMs, marks.get(grain)!);
      if (from >= to || done.has(`${grain}@${from}`)) continue;
      done.add(`${grain}@${from}`);
      const n = await rollRange(tx, level, new Date(from), new Date(to), new Set());
      if (grain === '5m') out.rows5m += n;
      else if (grain === '1h') out.rows1h += n;
      else if (grain !== 'minutes') out.routeRows += n;
    }
  }
  await tx.query(`DELETE FROM lattice_rollup_late WHERE period = ANY ($1::timestamptz[])`, [late.rows.map((r) => r.period)]);
  return out;
}

/**
 * Recomputes the target rows of [from, to) from the finer rows; adds the periods written (epoch
 * ms) to `changed` (route_1h only: what route_6h rebuilds).
 */
async function rollRange(tx: Queryable, level: Level, from: Date, to: Date, changed: Set<number>): Promise<number> {
  if (level.grain === 'minutes') return rollMinutes(tx, from, to);
  const result = await tx.query<{ minute: Date }>(mergeSql(level), [from, to, level.period]);
  for (const r of result.rows) changed.add(new Date(r.minute).getTime());
  return result.rowCount;
}

/** service_rollup_minutes of the hours overlapping [from, to), from the 1m rows of [hour start, to). */
async function rollMinutes(tx: Queryable, from: Date, to: Date): Promise<number> {
  const result = await tx.query(
    `INSERT INTO service_rollup_minutes AS m (service_id, hour, minutes)
     SELECT service_id, date_bin('1 hour', minute, ${ORIGIN}) AS hour,
            bit_or(1::bigint << extract(minute FROM minute AT TIME ZONE 'UTC')::int) AS minutes
     FROM (SELECT DISTINCT service_id, minute FROM service_metrics_1m
           WHERE minute >= date_bin('1 hour', $1::timestamptz, ${ORIGIN}) AND minute < $2::timestamptz) AS x
     GROUP BY 1, 2
     ON CONFLICT (service_id, hour) DO UPDATE SET minutes = EXCLUDED.minutes
     WHERE m.minutes IS DISTINCT FROM EXCLUDED.minutes`, [from, to]);
  return result.rowCount;
}

/**
 * The INSERT … SELECT that merges the finer rows of [$1, $2) into periods of $3 and upserts them
 * (unchanged rows are not rewritten). Each coarse key gets a number (gid) first, so the bucket
 * work — unnest, sum per bucket index, lay out densely — groups and sorts by two integers instead
 * of eight key columns; the dense array is built from the non-zero buckets (gaps filled with 0)
 * through a text array literal: one pass, no per-row function calls.
 *
 * Bounded like the writer's rows (MAX_EXPONENTIAL_BUCKETS): when the exponential rows of a key
 * (all layouts but the scale) would merge into more than that many buckets at some scale — their
 * offsets far apart, each row fitting on its own — every exponential row of the key moves to the
 * largest scale at which their union fits, one row. Exact: a bucket at scale s is the union of
 * 2^(s−s') buckets at s, so only the resolution changes, as in downscaleExponential.
 */
function mergeSql(level: Level): string {
  const family = level.byRoute
    ? ['service_id', 'p', 'method', 'route', 'unit_to_ms']
    : ['service_id', 'p', 'method', 'route', 'status_code', 'caller', 'unit_to_ms'];
  const keys = [...family, 'layout'].join(', ');
  const famList = family.join(', ');
  const famJoin = family.map((k) => `s.${k} = w.${k}`).join(' AND ');
  const fromRoutes = level.source === 'service_route_metrics';
  const errors = fromRoutes ? 'errors'
    : level.byRoute ? 'CASE WHEN status_code >= 500 THEN count ELSE 0 END' : '0';
  const targetKey = level.byRoute
    ? 'service_id, grain_seconds, minute, method, route, unit_to_ms, layout'
    : 'service_id, minute, method, route, status_code, caller, unit_to_ms, layout';
  const targetCols = level.byRoute
    ? 'service_id, grain_seconds, minute, method, route, unit_to_ms, layout, count, errors, callers, caller_counts'
    : 'service_id, minute, method, route, status_code, caller, unit_to_ms, layout, count';
  const selectCols = level.byRoute
    ? `t.service_id, ${level.targetGrainSeconds}, t.p, t.method, t.route, t.unit_to_ms, t.layout, t.count, t.errors,
       coalesce(c.callers, '{}'), coalesce(c.caller_counts, '{}')`
    : 't.service_id, t.p, t.method, t.route, t.status_code, t.caller, t.unit_to_ms, t.layout, t.count';
  const changed = level.byRoute ? 'count, errors, callers, caller_counts, sum, min, max, zero_count, bucket_offset, counts' : 'count, sum, min, max, zero_count, bucket_offset, counts';
  return `WITH src0 AS (
       SELECT ${fromRoutes ? 'service_id, method, route, callers, caller_counts' : 'service_id, method, route, status_code, caller'},
              date_bin($3::interval, minute, ${ORIGIN}) AS p, unit_to_ms, layout AS source_layout,
              CASE WHEN layout LIKE 'exponential:%' THEN substr(layout, 13)::int END AS scale,
              count, ${errors} AS errors, sum, min, max, zero_count, bucket_offset, counts
       FROM ${level.source} WHERE minute >= $1::timestamptz AND minute < $2::timestamptz${sourceWhere(level)}
     ), ranges AS (
       SELECT ${famList}, scale, min(bucket_offset)::bigint AS lo, max(bucket_offset::bigint + cardinality(counts) - 1) AS hi
       FROM src0 WHERE scale IS NOT NULL AND cardinality(counts) > 0
       GROUP BY ${famList}, scale
     ), wide AS (
       SELECT ${famList}, min(scale) AS top FROM ranges GROUP BY ${famList}
       HAVING bool_or(hi - lo + 1 > ${MAX_EXPONENTIAL_BUCKETS})
     ), fit AS (
       -- the largest scale ≤ the smallest of the key at which the union of its ranges fits
       SELECT w.*, (SELECT max(c.s) FROM generate_series(w.top, w.top - 70, -1) AS c(s)
                    WHERE (SELECT max(floor(r.hi / power(2::float8, r.scale - c.s))) - min(floor(r.lo / power(2::float8, r.scale - c.s))) + 1
                           FROM ranges r WHERE ${family.map((k) => `r.${k} = w.${k}`).join(' AND ')}) <= ${MAX_EXPONENTIAL_BUCKETS}) AS fit_scale
       FROM wide w
     ), src AS (
       SELECT s.*, CASE WHEN w.fit_scale IS NULL OR s.scale IS NULL THEN s.source_layout ELSE 'exponential:' || w.fit_scale END AS layout,
              CASE WHEN w.fit_scale IS NULL OR s.scale IS NULL THEN 0 ELSE s.scale - w.fit_scale END AS shift
       FROM src0 s LEFT JOIN fit w ON ${famJoin}
     ), totals AS (
       SELECT row_number() OVER () AS gid, ${keys}, sum(count)::bigint AS count, sum(errors)::bigint AS errors,
              CASE WHEN bool_and(sum IS NOT NULL) THEN sum(sum) END AS sum,
              min(min) AS min, max(max) AS max, sum(zero_count)::bigint AS zero_count
       FROM src GROUP BY ${keys}
     ), per_index AS (
       SELECT t.gid, CASE WHEN s.shift = 0 THEN s.bucket_offset + (u.ord - 1)::int
                          ELSE floor((s.bucket_offset + u.ord - 1) / power(2::float8, s.shift))::int END AS idx, sum(u.c) AS c
       FROM src s JOIN totals t USING (${keys}), unnest(s.counts) WITH ORDINALITY AS u(c, ord)
       WHERE u.c <> 0
       GROUP BY t.gid, idx
     ), arrays AS (
       SELECT gid, min(idx) AS bucket_offset,
              ('{' || string_agg(repeat('0,', gap) || c::text, ',' ORDER BY idx) || '}')::bigint[] AS counts
       FROM (SELECT gid, idx, c, coalesce(idx - lag(idx) OVER (PARTITION BY gid ORDER BY idx) - 1, 0) AS gap FROM per_index) g
       GROUP BY gid
     )${level.byRoute ? `, caller_n AS (
       SELECT t.gid, x.caller, sum(x.n)::bigint AS n
       FROM (${fromRoutes ? `SELECT ${keys}, u.caller, u.n FROM src, unnest(src.callers, src.caller_counts) AS u(caller, n)`
                           : `SELECT ${keys}, caller, count AS n FROM src`}) AS x
       JOIN totals t USING (${keys})
       GROUP BY t.gid, x.caller
     ), caller_arrays AS (
       SELECT gid, array_agg(caller ORDER BY caller) AS callers, array_agg(n ORDER BY caller) AS caller_counts
       FROM caller_n GROUP BY gid
     )` : ''}
     INSERT INTO ${level.target} AS r (${targetCols}, sum, min, max, zero_count, bucket_offset, counts)
     SELECT ${selectCols}, t.sum, t.min, t.max, t.zero_count, coalesce(a.bucket_offset, 0), coalesce(a.counts, '{}')
     FROM totals t LEFT JOIN arrays a USING (gid)${level.byRoute ? ' LEFT JOIN caller_arrays c USING (gid)' : ''}
     ON CONFLICT (${targetKey}) DO UPDATE SET
       ${changed.split(', ').map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
     WHERE (${changed.split(', ').map((c) => `r.${c}`).join(', ')})
       IS DISTINCT FROM (${changed.split(', ').map((c) => `EXCLUDED.${c}`).join(', ')})${level.grain === 'route_1h' ? `
     RETURNING r.minute` : ''}`;
}
