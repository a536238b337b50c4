/**
 * Window reads over the histogram rollups. Every window query reads the coarsest table that
 * answers it exactly and stitches the fresh edge: the SQL function `lattice_rollups(service_ids,
 * from, to)` (migration 002) returns the rollup rows of [from, to) with the columns of
 * service_metrics_1m (`minute` = period start) plus `grain_seconds`, reading whole rolled-up hours
 * from service_metrics_1h, whole rolled-up 5-minute periods from service_metrics_5m and the edges
 * (and anything not rolled up yet) from service_metrics_1m. Each minute comes from exactly one
 * table, so sums, min/max and bucket counts merged over the result equal those of the 1m rows.
 *
 *   const p = new SqlParams();
 *   `SELECT r.route, sum(r.count) FROM ${rollupWindowSql(p.add(ids, 'bigint[]'),
 *      p.add(fromMs, 'float8'), p.add(toMs, 'float8'))} r GROUP BY r.route`
 *
 * A row counts when its period start lies in [from, to): minutes are whole, so pass a
 * minute-aligned `from` (floor) to count a partly covered first minute.
 *
 * Reads grouped by route (not by status code or caller) use routeRollupWindowSql instead: the
 * same stitching over per-route rows, with 6-hour periods as the coarsest (migration 007).
 */
import type { Queryable } from '../db.js';
import { summarizeWindow, type RollupGroup, type WindowSummary } from '../../pipeline/histogram/window-summary.js';

/**
 * SQL text of the stitched rollup window, for a FROM clause. Arguments are SQL expressions —
 * normally `$n` placeholders: service ids as bigint[] (NULL = every service), from/to either as
 * epoch milliseconds (default, the receiver's usual form) or timestamptz (`{ epochMs: false }`).
 */
export function rollupWindowSql(serviceIds: string, from: string, to: string, options: { epochMs?: boolean } = {}): string {
  const ts = (x: string) => (options.epochMs === false ? `(${x})::timestamptz` : `to_timestamp((${x})::float8 / 1000)`);
  return `lattice_rollups((${serviceIds})::bigint[], ${ts(from)}, ${ts(to)})`;
}

/**
 * SQL text (a parenthesised FROM item) of the per-route rollup rows of [from, to): the rows of
 * every status code and caller of a route merged, with `errors` (requests with status ≥ 500)
 * kept. Each minute is read from the coarsest table that has it, below that grain's watermark:
 *   1m [from, f_from) · route 5m [f_from, h_from) · route 1h [h_from, s_from) ·
 *   route 6h [s_from, s_to) · route 1h [s_to, h_to) · route 5m [h_to, f_to) · 1m [f_to, to)
 * (service_route_metrics, migration 007; the 1m edges are service_metrics_1m rows, one per status
 * and caller, errors counted per row). Columns: service_id, minute (period start), method, route,
 * unit_to_ms, layout, count, errors, callers, caller_counts (requests per caller, '' = unknown;
 * migration 009), sum, min, max, zero_count, bucket_offset, counts, grain_seconds. Arguments are SQL expressions: service ids as bigint[] or null (every service),
 * from/to as timestamptz. A row counts when its period starts in [from, to), as in lattice_rollups().
 * maxGrainSeconds caps the period a row may cover (time-step keys need periods inside a step).
 *
 * Why: a 24 h per-route read over lattice_rollups() merges ~24 hourly rows × statuses × callers
 * per route, a few hundred scale-6 buckets each (~1 M bucket elements per service at 10 M
 * requests/day); here whole 6-hour periods are one row per route (bench/query).
 */
export function routeRollupWindowSql(serviceIds: string | null, from: string, to: string,
  maxGrainSeconds: 60 | 300 | 3600 | 21600 = 21_600): string {
  const ids = serviceIds === null ? '' : `service_id = ANY (${serviceIds}) AND `;
  const bin = (period: string, t: string) => `date_bin('${period}', ${t}, ${ORIGIN})`;
  const ceil = (period: string, t: string) => `(CASE WHEN ${bin(period, t)} = ${t} THEN ${t} ELSE ${bin(period, t)} + interval '${period}' END)`;
  // A grain above maxGrainSeconds reads as never rolled up: its segment is empty and the finer
  // grains take the whole range.
  const grainSeconds: Record<string, number> = { route_5m: 300, route_1h: 3600, route_6h: 21_600 };
  const mark = (grain: string) => (grainSeconds[grain]! > maxGrainSeconds ? `timestamptz '-infinity'`
    : `(SELECT w.rolled_to FROM lattice_rollup_watermarks w WHERE w.grain = '${grain}')`);
  const cols = `service_id, minute, method, route, unit_to_ms, layout, count, errors, callers, caller_counts, sum, min, max, zero_count,
       bucket_offset, counts`;
  const coarse = (grain: number, lo: string, hi: string) =>
    `SELECT ${cols}, grain_seconds FROM service_route_metrics
     WHERE ${ids}grain_seconds = ${grain} AND minute >= (SELECT ${lo} FROM b) AND minute < (SELECT ${hi} FROM b)`;
  const fine = (lo: string, hi: string) =>
    `SELECT service_id, minute, method, route, unit_to_ms, layout, count, CASE WHEN status_code >= 500 THEN count ELSE 0 END AS errors,
            ARRAY[caller] AS callers, ARRAY[count] AS caller_counts, sum, min, max, zero_count, bucket_offset, counts, 60 AS grain_seconds
     FROM service_metrics_1m WHERE ${ids}minute >= ${lo} AND minute < ${hi}`;
  return `(WITH f AS (
      SELECT f0.f_from, greatest(f0.f_from, least(${bin('5 minutes', to)}, ${mark('route_5m')})) AS f_to
      FROM (SELECT ${ceil('5 minutes', from)} AS f_from) AS f0
    ), h AS (
      SELECT h0.h_from, greatest(h0.h_from, least(${bin('1 hour', to)}, f.f_to, ${mark('route_1h')})) AS h_to
      FROM f, LATERAL (SELECT least(f.f_to, ${ceil('1 hour', from)}) AS h_from) AS h0
    ), s AS (
      SELECT s0.s_from, greatest(s0.s_from, least(${bin('6 hours', 'h.h_to')}, ${mark('route_6h')})) AS s_to
      FROM h, LATERAL (SELECT least(h.h_to, ${ceil('6 hours', 'h.h_from')}) AS s_from) AS s0
    ), b AS MATERIALIZED (SELECT f.f_from, f.f_to, h.h_from, h.h_to, s.s_from, s.s_to FROM f, h, s)
    ${fine(from, `least((SELECT b.f_from FROM b), ${to})`)}
    UNION ALL ${coarse(300, 'b.f_from', 'b.h_from')}
    UNION ALL ${coarse(3600, 'b.h_from', 'b.s_from')}
    UNION ALL ${coarse(21_600, 'b.s_from', 'b.s_to')}
    UNION ALL ${coarse(3600, 'b.s_to', 'b.h_to')}
    UNION ALL ${coarse(300, 'b.h_to', 'b.f_to')}
    UNION ALL ${fine(`greatest((SELECT b.f_to FROM b), ${from})`, to)})`;
}

const ORIGIN = `timestamptz '2000-01-01 00:00:00+00'`;

/**
 * Adds a bucket array in PostgreSQL's text form ('{3,0,12}', what `counts::text` returns), whose
 * first element is bucket `offset`, into `into` (bucket index → count), skipping zeros.
 * Hand-written rather than pg's array parser (which builds a string per element): on the 304 k
 * bucket elements of one service's hourly rows (bench/query, 1 M requests) 21.7 ms vs 54 ms
 * median, fetch included.
 */
export function addCountsText(into: Map<number, number>, offset: number, text: string): void {
  let value = 0;
  let index = offset;
  let digits = false;
  for (let i = 1; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch >= 48 && ch <= 57) { value = value * 10 + (ch - 48); digits = true; continue; }
    // ',' or the closing '}'
    if (digits && value !== 0) into.set(index, (into.get(index) ?? 0) + value);
    if (digits) index++;
    value = 0;
    digits = false;
  }
}

export interface RouteRollupStats extends WindowSummary {
  method: string;
  route: string;
}

const NO_SPANS = { count: 0, errors: 0, sumMs: 0, minMs: null, maxMs: null, p50Ms: null, p95Ms: null, p99Ms: null, histogram: null };

/**
 * Per-route stats (count, error rate, mean, p50/p95/p99) of one service over [fromMs, toMs) from
 * the histogram rollups alone, read through routeRollupWindowSql (6-hour, hourly and 5-minute
 * per-route rows, 1m edges). Span rows are not read (a service that sends only spans has no
 * rollups: see routes.ts selectRouteStats for the span+rollup source rule).
 * Minutes are whole: a minute counts when it starts in the window. One query; the rows come back
 * as they are (bounded by periods × routes, not by requests) and are merged here; the percentile
 * estimator is summarizeWindow's (window-summary.ts). Most requests first.
 */
export async function selectRouteRollupStats(db: Queryable, serviceId: string, fromMs: number, toMs: number): Promise<RouteRollupStats[]> {
  const result = await db.query<RouteRollupRow & { method: string; route: string }>(
    `SELECT r.method, r.route, ${ROUTE_ROLLUP_COLUMNS}
     FROM ${routeRollupWindowSql('ARRAY[$1::bigint]', 'to_timestamp($2::float8 / 1000)', 'to_timestamp($3::float8 / 1000)')} r`,
    [serviceId, fromMs, toMs]);
  const routes = new Map<string, { method: string; route: string; groups: Map<string, RollupGroup> }>();
  for (const row of result.rows) {
    const key = `${row.method}\u0000${row.route}`;
    let r = routes.get(key);
    if (!r) { r = { method: row.method, route: row.route, groups: new Map() }; routes.set(key, r); }
    addRouteRollupRow(r.groups, row);
  }
  return [...routes.values()]
    .map((r) => ({ method: r.method, route: r.route, ...summarizeWindow(NO_SPANS, [...r.groups.values()]) }))
    .sort((a, b) => b.requestCount - a.requestCount || (a.route < b.route ? -1 : a.route > b.route ? 1 : 0) || (a.method < b.method ? -1 : 1));
}

/** The columns addRouteRollupRow reads, selected from a routeRollupWindowSql row `r`. */
export const ROUTE_ROLLUP_COLUMNS = `r.unit_to_ms, r.layout, r.count::float8 AS count, r.errors::float8 AS errors, r.sum, r.min, r.max,
  r.zero_count::float8 AS zero_count, r.bucket_offset, r.counts::text AS counts, r.callers, r.caller_counts::float8[] AS caller_counts`;

export interface RouteRollupRow {
  unit_to_ms: number; layout: string; count: number; errors: number; sum: number | null; min: number | null; max: number | null;
  zero_count: number; bucket_offset: number; counts: string; callers: string[]; caller_counts: number[];
}

/**
 * Adds one rollup row into the groups of its (unit, layout), and its requests per caller into
 * `callers` when given (null = unknown caller).
 */
export function addRouteRollupRow(groups: Map<string, RollupGroup>, row: RouteRollupRow, callers?: Map<string | null, number>): void {
  if (callers) {
    for (let i = 0; i < row.callers.length; i++) {
      const caller = row.callers[i] === '' ? null : row.callers[i]!;
      callers.set(caller, (callers.get(caller) ?? 0) + Number(row.caller_counts[i]));
    }
  }
  const unitToMs = Number(row.unit_to_ms);
  const groupKey = `${unitToMs}|${row.layout}`;
  let g = groups.get(groupKey);
  if (!g) {
    g = { unitToMs, layout: row.layout, count: 0, errors: 0, sum: 0, min: null, max: null, zeroCount: 0, buckets: new Map() };
    groups.set(groupKey, g);
  }
  g.count += Number(row.count);
  g.errors += Number(row.errors);
  g.sum = g.sum === null || row.sum === null ? null : g.sum + Number(row.sum);
  if (row.min !== null) g.min = g.min === null ? Number(row.min) : Math.min(g.min, Number(row.min));
  if (row.max !== null) g.max = g.max === null ? Number(row.max) : Math.max(g.max, Number(row.max));
  g.zeroCount += Number(row.zero_count);
  addCountsText(g.buckets, Number(row.bucket_offset), row.counts);
}
