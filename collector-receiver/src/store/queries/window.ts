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

/** How far each per-route grain is built (lattice_rollup_watermarks), epoch ms; -Infinity = not yet. */
export interface RouteWatermarks {
  route5m: number;
  route1h: number;
  route6h: number;
}

/** The per-route watermarks, one small query (readers decide the segments of a window in JS). */
export async function selectRouteWatermarks(db: Queryable): Promise<RouteWatermarks> {
  const result = await db.query<{ grain: string; ms: number | null }>(
    `SELECT grain, CASE WHEN isfinite(rolled_to) THEN extract(epoch FROM rolled_to) * 1000 END::float8 AS ms
     FROM lattice_rollup_watermarks WHERE grain IN ('route_5m', 'route_1h', 'route_6h')`);
  const of = (grain: string) => {
    const ms = result.rows.find((r) => r.grain === grain)?.ms;
    return ms === null || ms === undefined ? -Infinity : Number(ms);
  };
  return { route5m: of('route_5m'), route1h: of('route_1h'), route6h: of('route_6h') };
}

export interface RouteRollupSegment {
  /** 60 = service_metrics_1m rows, else service_route_metrics rows of that grain */
  grainSeconds: 60 | 300 | 3600 | 21600;
  fromMs: number;
  toMs: number;
}

const FIVE_MIN = 300_000;
const ONE_HOUR = 3_600_000;
const SIX_HOURS = 21_600_000;
// Periods are UTC-aligned from the epoch (the rollup job's date_bin origin, 2000-01-01, is too).
const floorMs = (t: number, p: number) => Math.floor(t / p) * p;
const ceilMs = (t: number, p: number) => Math.ceil(t / p) * p;

/**
 * The window [fromMs, toMs) cut into contiguous segments, each read from the coarsest per-route
 * grain that is built there (below its watermark), the edges and anything not rolled up yet from
 * the 1m rows:
 *   1m [from, f_from) · 5m [f_from, h_from) · 1h [h_from, s_from) · 6h [s_from, s_to) ·
 *   1h [s_to, h_to) · 5m [h_to, f_to) · 1m [f_to, to)
 * Empty segments are left out. A grain above maxGrainSeconds counts as never built (time-step
 * keys need periods inside a step). Watermarks read before the rows are never wrong, only older:
 * every period below a watermark stays in its table.
 */
export function routeRollupSegments(fromMs: number, toMs: number, marks: RouteWatermarks,
  maxGrainSeconds: 60 | 300 | 3600 | 21600 = 21_600): RouteRollupSegment[] {
  const w5 = maxGrainSeconds >= 300 ? marks.route5m : -Infinity;
  const w1 = maxGrainSeconds >= 3600 ? marks.route1h : -Infinity;
  const w6 = maxGrainSeconds >= 21_600 ? marks.route6h : -Infinity;
  const fFrom = ceilMs(fromMs, FIVE_MIN);
  const fTo = Math.max(fFrom, Math.min(floorMs(toMs, FIVE_MIN), w5));
  const hFrom = Math.min(fTo, ceilMs(fromMs, ONE_HOUR));
  const hTo = Math.max(hFrom, Math.min(floorMs(toMs, ONE_HOUR), fTo, w1));
  const sFrom = Math.min(hTo, ceilMs(hFrom, SIX_HOURS));
  const sTo = Math.max(sFrom, Math.min(floorMs(hTo, SIX_HOURS), w6));
  const all: RouteRollupSegment[] = [
    { grainSeconds: 60, fromMs, toMs: Math.min(fFrom, toMs) },
    { grainSeconds: 300, fromMs: fFrom, toMs: hFrom },
    { grainSeconds: 3600, fromMs: hFrom, toMs: sFrom },
    { grainSeconds: 21_600, fromMs: sFrom, toMs: sTo },
    { grainSeconds: 3600, fromMs: sTo, toMs: hTo },
    { grainSeconds: 300, fromMs: hTo, toMs: fTo },
    { grainSeconds: 60, fromMs: Math.max(fTo, fromMs), toMs },
  ];
  return all.filter((g) => g.fromMs < g.toMs);
}

/** Adds a value as a `$n` placeholder and returns it ('$3::float8'); SqlParams in grouped-window.ts. */
export interface ParamSink {
  add(value: unknown, cast: string): string;
}

/**
 * SQL text (a parenthesised FROM item) of the per-route rollup rows of the segments
 * (routeRollupSegments): the rows of every status code and caller of a route merged, with `errors`
 * (requests with status ≥ 500) and requests per caller kept (service_route_metrics, migrations
 * 007/009); the 1m segments are service_metrics_1m rows, one per status and caller, errors
 * counted per row. Columns: service_id, minute (period start), method, route, unit_to_ms, layout,
 * count, errors, callers, caller_counts ('' = unknown caller), sum, min, max, zero_count,
 * bucket_offset, counts, grain_seconds. serviceIds: SQL for a bigint[], or null (every service).
 * A row counts when its period starts in its segment, as in lattice_rollups().
 *
 * Why: a 24 h per-route read over lattice_rollups() merges ~24 hourly rows × statuses × callers
 * per route, a few hundred scale-6 buckets each (~1 M bucket elements per service at 10 M
 * requests/day); here whole 6-hour periods are one row per route. The segments are worked out in
 * JS so the statement is a few plain index range scans: the stitching in SQL (CTEs over the
 * watermarks, seven UNION ALL branches) took 26 ms to plan at 10 M, more than it ran (bench/query).
 */
export function routeRollupWindowSql(serviceIds: string | null, segments: readonly RouteRollupSegment[], params: ParamSink): string {
  const ids = serviceIds === null ? '' : `service_id = ANY (${serviceIds}) AND `;
  const cols = `service_id, minute, method, route, unit_to_ms, layout, count, errors, callers, caller_counts, sum, min, max, zero_count,
       bucket_offset, counts, grain_seconds`;
  const fineCols = `service_id, minute, method, route, unit_to_ms, layout, count, CASE WHEN status_code >= 500 THEN count ELSE 0 END AS errors,
       ARRAY[caller] AS callers, ARRAY[count] AS caller_counts, sum, min, max, zero_count, bucket_offset, counts, 60 AS grain_seconds`;
  const ts = (ms: number) => `to_timestamp(${params.add(ms, 'float8')} / 1000)`;
  const parts = segments.map((g) => (g.grainSeconds === 60
    ? `SELECT ${fineCols} FROM service_metrics_1m WHERE ${ids}minute >= ${ts(g.fromMs)} AND minute < ${ts(g.toMs)}`
    : `SELECT ${cols} FROM service_route_metrics
       WHERE ${ids}grain_seconds = ${g.grainSeconds} AND minute >= ${ts(g.fromMs)} AND minute < ${ts(g.toMs)}`));
  if (parts.length === 0) parts.push(`SELECT ${fineCols} FROM service_metrics_1m WHERE false`);
  // lattice_serial_plan() (migration 010): no parallel workers for a few small range scans.
  return `(SELECT * FROM (${parts.join('\n     UNION ALL ')}) AS segments WHERE lattice_serial_plan())`;
}

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
  const segments = routeRollupSegments(fromMs, toMs, await selectRouteWatermarks(db));
  const values: unknown[] = [serviceId];
  const params: ParamSink = { add: (value, cast) => `$${values.push(value)}::${cast}` };
  const result = await db.query<RouteRollupRow & { method: string; route: string }>(
    `SELECT r.method, r.route, ${ROUTE_ROLLUP_COLUMNS}
     FROM ${routeRollupWindowSql('ARRAY[$1::bigint]', segments, params)} r`, values);
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
