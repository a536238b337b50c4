/**
 * Window stats grouped by arbitrary keys (service, route, caller, time step …) in a bounded number
 * of aggregate queries — the shared engine of /metrics/services, /routes, /timeseries and
 * /connections. Result size is bounded by groups × histogram buckets, never by requests.
 *
 * Source rule (the same as selectServiceStats, so numbers agree across routes): per service and
 * minute, the histogram rollups count when the service has any rollup in that minute or either
 * neighbouring minute (judged on service_metrics_1m), else the span rows do. A service sending spans, metrics or both is never
 * counted twice. The rule is per service, not per group: a span is dropped when its service has
 * rollups around that minute on any route. Rollup minutes overlapping [from, to) count whole.
 *
 * Every query reads two relations with the same column names, so group keys are written once:
 *   rolled(service_id, t, method, route, status_code, caller, unit_to_ms, layout, count, errors,
 *          sum, min, max, zero_count, bucket_offset, counts)      t = the rollup period start
 *          (perRoute reads: per-route rows, status_code and caller NULL; errors = status ≥ 500)
 *   spans(service_id, t, method, route, status_code, caller, ms)   spans not covered by rollups
 * caller is NULL for unknown callers in both (rollups store '').
 *
 * Per group, percentiles come from summarizeWindow (pipeline/histogram/window-summary): exact
 * percentile_cont for span-only groups, the merged histogram otherwise.
 */
import type { Queryable } from '../db.js';
import {
  ROUTE_ROLLUP_COLUMNS, addRouteRollupRow, routeRollupSegments, routeRollupWindowSql, rollupWindowSql, selectRouteWatermarks,
  type RouteRollupRow, type RouteWatermarks,
} from './window.js';
import { STORAGE_SCALE, exponentialBase, fromIndexCounts } from '../../pipeline/histogram/exponential.js';
import {
  explicitBoundsOf, exponentialScaleOf, summarizeWindow, type RollupGroup, type SpanSummary, type WindowSummary,
} from '../../pipeline/histogram/window-summary.js';

/** Which rows a grouped query reads. */
export interface WindowFilter {
  /** null = every service */
  serviceIds: readonly string[] | null;
  fromMs: number;
  toMs: number;
  method?: string | null;
  route?: string | null;
  /**
   * The coarsest rollup period a group key may receive whole (default: the coarsest there is):
   * 3600 reads through lattice_rollups() (hourly + 5-minute + minute rows, migration 002); 300
   * reads rolled-up 5-minute rows and minute rows after them; 60 reads minute rows only; 21600
   * also 6-hour rows (perRoute reads only; others read at most hourly rows). A time-step key
   * needs periods that nest in its steps: 21600 for steps of whole 6 hours, 3600 for whole hours,
   * 300 for whole 5 minutes.
   */
  maxGrainSeconds?: 60 | 300 | 3600 | 21600;
  /**
   * The group keys read only service_id, t, method and route: rollups then come from the
   * per-route rows (routeRollupWindowSql: statuses and callers merged, errors kept, 6-hour
   * periods), where `rolled` has status_code and caller NULL and an `errors` column. Stats are
   * the same numbers, read from far fewer bucket elements (bench/query).
   */
  perRoute?: boolean;
}

/** Collects `$n` placeholders: `add(value, 'bigint[]')` → '$3::bigint[]'. */
export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

/**
 * A group key: SQL over the common columns (service_id, t, method, route, status_code, caller),
 * evaluated as text; NULL stays null.
 */
export type GroupKeys = (params: SqlParams) => string[];

const ROLLUP_COLUMNS = `service_id, minute, method, route, status_code, caller, unit_to_ms, layout, count, sum, min, max,
       zero_count, bucket_offset, counts`;

/** Rollup rows of [from, to) (minute starts) at the coarsest allowed grain, as a FROM item. */
function rollupRowsSql(grain: 60 | 300 | 3600 | 21600, ids: string | null, fromTs: string, toTs: string): string {
  const idFilter = ids ? `service_id = ANY(${ids}) AND ` : '';
  if (grain >= 3600) return rollupWindowSql(ids ?? 'NULL', fromTs, toTs, { epochMs: false });
  if (grain === 60) return `(SELECT ${ROLLUP_COLUMNS} FROM service_metrics_1m WHERE ${idFilter}minute >= ${fromTs} AND minute < ${toTs})`;
  // 5-minute rows below the 5m watermark (whole periods: callers align from/to to 5 minutes),
  // minute rows from there on: each minute read once, as in lattice_rollups().
  const mark = `(SELECT w.rolled_to FROM lattice_rollup_watermarks w WHERE w.grain = '5m')`;
  return `(SELECT ${ROLLUP_COLUMNS} FROM service_metrics_5m
           WHERE ${idFilter}minute >= ${fromTs} AND minute < least(${toTs}, ${mark})
             AND minute + interval '5 minutes' <= least(${toTs}, ${mark})
           UNION ALL
           SELECT ${ROLLUP_COLUMNS} FROM service_metrics_1m
           WHERE ${idFilter}minute >= greatest(${fromTs}, date_bin('5 minutes', least(${toTs}, ${mark}), timestamptz '2000-01-01 00:00:00+00'))
             AND minute < ${toTs})`;
}

/**
 * The WITH clause defining `rolled` and `spans` for a filter.
 *
 * Spans are read only in the minutes the source rule gives them: per service, the minutes of the
 * window without a rollup in that minute or a neighbour are gathered into ranges, and span rows
 * are read per range through the (service_id, "timestamp") index. A service whose metrics cover
 * the window reads no span row at all (the per-row NOT EXISTS this replaces scanned all of them:
 * 12 s for 4 M rows on the loaded dev box).
 */
export function windowSources(filter: WindowFilter, params: SqlParams, marks?: RouteWatermarks): string {
  const from = params.add(filter.fromMs, 'float8');
  const to = params.add(filter.toMs, 'float8');
  const fromTs = `to_timestamp(${from} / 1000)`;
  const toTs = `to_timestamp(${to} / 1000)`;
  // A rollup minute overlapping the window counts whole: rollups from the window's first minute.
  const fromMinute = `date_trunc('minute', ${fromTs})`;
  const ids = filter.serviceIds === null ? null : params.add(filter.serviceIds, 'bigint[]');
  const routeFilter = (alias: string, routeColumn: string) =>
    (filter.method ? ` AND ${alias}.method = ${params.add(filter.method, 'text')}` : '') +
    (filter.route ? ` AND ${alias}.${routeColumn} = ${params.add(filter.route, 'text')}` : '');
  const rolledRoute = routeFilter('r', 'route');
  const spanRoute = routeFilter('m', 'path');
  const rolled = filter.perRoute
    ? `SELECT r.service_id, r.minute AS t, r.method, r.route, NULL::int AS status_code, NULL::text AS caller,
           r.unit_to_ms, r.layout, r.count, r.errors, r.callers, r.caller_counts, r.sum, r.min, r.max, r.zero_count,
           r.bucket_offset, r.counts
    FROM ${routeRollupWindowSql(ids, routeRollupSegments(Math.floor(filter.fromMs / 60_000) * 60_000, filter.toMs,
        marks ?? { route5m: -Infinity, route1h: -Infinity, route6h: -Infinity }, filter.maxGrainSeconds ?? 21_600), params)} r`
    : `SELECT r.service_id, r.minute AS t, r.method, r.route, r.status_code, nullif(r.caller, '') AS caller,
           r.unit_to_ms, r.layout, r.count, CASE WHEN r.status_code >= 500 THEN r.count ELSE 0 END AS errors,
           r.sum, r.min, r.max, r.zero_count, r.bucket_offset, r.counts
    FROM ${rollupRowsSql(filter.maxGrainSeconds ?? 3600, ids, fromMinute, toTs)} r`;
  // Minutes with 1m rows: below the 'minutes' watermark from service_rollup_minutes (a 60-bit
  // mask per service-hour, migration 007: 24 rows per service-day instead of every 1m row), from
  // service_metrics_1m after it.
  const minutesMark = `(SELECT w.rolled_to FROM lattice_rollup_watermarks w WHERE w.grain = 'minutes')`;
  return `WITH rolled AS (
    ${rolled}
    WHERE true${rolledRoute}
  ), covered AS (
    SELECT DISTINCT c.service_id, c.minute + d.n * interval '1 minute' AS minute
    FROM (
      SELECT m.service_id, m.hour + b.i * interval '1 minute' AS minute
      FROM service_rollup_minutes m, generate_series(0, 59) AS b(i)
      WHERE m.hour >= date_bin('1 hour', ${fromMinute} - interval '1 minute', timestamptz '2000-01-01 00:00:00+00')
        AND m.hour <= ${toTs} + interval '1 minute' AND (m.minutes >> b.i) & 1 = 1
        AND m.hour + b.i * interval '1 minute' < ${minutesMark}${ids ? ` AND m.service_id = ANY(${ids})` : ''}
      UNION ALL
      SELECT c1.service_id, c1.minute FROM service_metrics_1m c1
      WHERE c1.minute >= greatest(${fromMinute} - interval '1 minute', ${minutesMark})
        AND c1.minute <= ${toTs} + interval '1 minute'${ids ? ` AND c1.service_id = ANY(${ids})` : ''}
    ) AS c, (VALUES (-1), (0), (1)) AS d(n)
    WHERE c.minute >= ${fromMinute} - interval '1 minute' AND c.minute <= ${toTs} + interval '1 minute'
  ), span_minutes AS (
    SELECT s.id AS service_id, g.minute
    FROM services s, generate_series(${fromMinute}, ${toTs} - interval '1 microsecond', interval '1 minute') AS g(minute)
    WHERE ${ids ? `s.id = ANY(${ids}) AND ` : ''}NOT EXISTS (SELECT 1 FROM covered c WHERE c.service_id = s.id AND c.minute = g.minute)
  ), span_ranges AS (
    SELECT service_id, min(minute) AS lo, max(minute) + interval '1 minute' AS hi
    FROM (SELECT service_id, minute,
                 minute - (row_number() OVER (PARTITION BY service_id ORDER BY minute)) * interval '1 minute' AS island
          FROM span_minutes) AS x
    GROUP BY service_id, island
  ), spans AS (
    -- OFFSET 0 keeps the LATERAL subquery a per-range index scan (with run-time partition
    -- pruning); flattened, the planner merge-joined every span row of the window against the
    -- ranges (4 M rows read for a service whose metrics cover the window).
    SELECT m.* FROM span_ranges g, LATERAL (
      SELECT m.service_id, m."timestamp" AS t, m.method, m.path AS route, m.status_code, m.caller_service_name AS caller,
             m.response_time_ms AS ms
      FROM service_metrics m
      WHERE m.service_id = g.service_id AND m."timestamp" >= greatest(g.lo, ${fromTs}) AND m."timestamp" < least(g.hi, ${toTs})${spanRoute}
      OFFSET 0) AS m
  )`;
}

export interface GroupedSummary extends WindowSummary {
  /** the group's key values, in the order given (text, or null) */
  key: Array<string | null>;
  /** requests answered with status ≥ 500 */
  errorCount: number;
  /** newest request: a span's timestamp or a rollup's minute, epoch ms */
  lastMs: number | null;
  /** Apdex(T) when asked for and the group has requests, else null */
  apdex: number | null;
  /** requests per caller (null = unknown caller), when asked for (withCallers), else null */
  callers: Map<string | null, number> | null;
}

export interface GroupedOptions {
  /** compute Apdex with this T (ms) */
  apdexTMs?: number;
  /**
   * Also count each group's requests per caller (perRoute reads only: the per-route rows carry
   * them, migration 009; span rows are counted by caller in one more query when there are any).
   */
  withCallers?: boolean;
}

type KeyRow = Record<string, string | null>;

function keyColumns(keys: string[]): { select: string; groupBy: string; names: string[] } {
  const names = keys.map((_, i) => `k${i}`);
  return {
    select: keys.map((k, i) => `(${k})::text AS k${i}`).join(', '),
    groupBy: keys.map((_, i) => String(i + 1)).join(', '),
    names,
  };
}

function keyOf(row: KeyRow, names: readonly string[]): string {
  return names.map((n) => (row[n] === null ? '\u0001' : row[n])).join('\u0000');
}

/**
 * Stats per group over the window: requestCount, errorRate, avg/p50/p95/p99 (and Apdex when asked),
 * in at most four queries. Groups with no requests do not appear.
 */
export async function selectGroupedSummaries(db: Queryable, filter: WindowFilter, groupKeys: GroupKeys,
  options: GroupedOptions = {}): Promise<GroupedSummary[]> {
  const params = new SqlParams();
  const sources = windowSources(filter, params, filter.perRoute ? await selectRouteWatermarks(db) : undefined);
  const keys = groupKeys(params);
  const { select, groupBy, names } = keyColumns(keys);
  const values = params.values;
  // Parameters used by one query only go after the shared ones (PostgreSQL rejects unused ones).
  const apdexT = options.apdexTMs === undefined ? null : `$${values.length + 1}::float8`;

  const spanQuery = db.query<KeyRow & { n: number; errors: number; total: number | null; mn: number | null; mx: number | null;
    p50: number | null; p95: number | null; p99: number | null; last_ms: number | null; sat: number | null; tol: number | null }>(
    `${sources}
     SELECT ${select}, count(*)::float8 AS n, (count(*) FILTER (WHERE status_code >= 500))::float8 AS errors,
            sum(ms) AS total, min(ms) AS mn, max(ms) AS mx,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
            (extract(epoch FROM max(t)) * 1000)::float8 AS last_ms,
            ${apdexT ? `(count(*) FILTER (WHERE ms <= ${apdexT}))::float8` : 'NULL::float8'} AS sat,
            ${apdexT ? `(count(*) FILTER (WHERE ms > ${apdexT} AND ms <= 4 * ${apdexT}))::float8` : 'NULL::float8'} AS tol
     FROM spans GROUP BY ${groupBy}`, apdexT ? [...values, options.apdexTMs] : values);
  // Per-route reads fetch the rollup rows themselves (bounded by periods × routes; 6-hour rows
  // for whole 6-hour periods) and merge them here, buckets included: no unnest in SQL.
  const rollupQuery = filter.perRoute ? null : db.query<KeyRow & { unit_to_ms: number; layout: string; n: number; errors: number;
    total: number | null; sum_missing: boolean; mn: number | null; mx: number | null; zeros: number; last_ms: number | null }>(
    `${sources}
     SELECT ${select}, unit_to_ms, layout, sum(count)::float8 AS n, coalesce(sum(errors), 0)::float8 AS errors,
            sum(sum) AS total, bool_or(sum IS NULL) AS sum_missing, min(min) AS mn, max(max) AS mx,
            sum(zero_count)::float8 AS zeros, (extract(epoch FROM max(t)) * 1000)::float8 AS last_ms
     FROM rolled GROUP BY ${groupBy}, unit_to_ms, layout`, values);
  const routeRowQuery = filter.perRoute ? db.query<KeyRow & RouteRollupRow & { t_ms: number }>(
    `${sources}
     SELECT ${select}, ${ROUTE_ROLLUP_COLUMNS}, (extract(epoch FROM r.t) * 1000)::float8 AS t_ms
     FROM rolled r`, values) : null;
  const [spanRows, rollupRows, routeRows] = await Promise.all([spanQuery, rollupQuery, routeRowQuery]);

  interface Acc {
    key: Array<string | null>; spans: SpanSummary; groups: Map<string, RollupGroup>; lastMs: number | null; sat: number; tol: number;
    callers: Map<string | null, number> | null;
  }
  const withCallers = options.withCallers === true && filter.perRoute === true;
  const byKey = new Map<string, Acc>();
  const accOf = (row: KeyRow): Acc => {
    const k = keyOf(row, names);
    let acc = byKey.get(k);
    if (!acc) {
      acc = {
        key: names.map((n) => row[n] ?? null),
        spans: { count: 0, errors: 0, sumMs: 0, minMs: null, maxMs: null, p50Ms: null, p95Ms: null, p99Ms: null, histogram: null },
        groups: new Map(), lastMs: null, sat: 0, tol: 0, callers: withCallers ? new Map() : null,
      };
      byKey.set(k, acc);
    }
    return acc;
  };
  // Span rows by caller: only when there are any (a service whose metrics cover the window has none).
  const spanCallers = withCallers && spanRows.rows.length > 0 ? db.query<KeyRow & { caller: string | null; n: number }>(
    `${sources}
     SELECT ${select}, caller, count(*)::float8 AS n FROM spans GROUP BY ${groupBy}, caller`, values) : null;
  for (const s of spanRows.rows) {
    const acc = accOf(s);
    acc.spans = {
      count: Number(s.n), errors: Number(s.errors), sumMs: Number(s.total ?? 0),
      minMs: numOrNull(s.mn), maxMs: numOrNull(s.mx), p50Ms: numOrNull(s.p50), p95Ms: numOrNull(s.p95), p99Ms: numOrNull(s.p99),
      histogram: null,
    };
    acc.lastMs = maxOrNull(acc.lastMs, numOrNull(s.last_ms));
    acc.sat += Number(s.sat ?? 0);
    acc.tol += Number(s.tol ?? 0);
  }
  for (const row of routeRows?.rows ?? []) {
    const acc = accOf(row);
    addRouteRollupRow(acc.groups, row, acc.callers ?? undefined);
    acc.lastMs = maxOrNull(acc.lastMs, numOrNull(row.t_ms));
  }
  for (const g of rollupRows?.rows ?? []) {
    const acc = accOf(g);
    const group: RollupGroup = {
      unitToMs: Number(g.unit_to_ms), layout: g.layout, count: Number(g.n), errors: Number(g.errors),
      sum: g.sum_missing ? null : Number(g.total), min: numOrNull(g.mn), max: numOrNull(g.mx), zeroCount: Number(g.zeros),
      buckets: new Map(),
    };
    acc.groups.set(`${group.unitToMs}|${group.layout}`, group);
    acc.lastMs = maxOrNull(acc.lastMs, numOrNull(g.last_ms));
  }

  if ((rollupRows?.rows.length ?? 0) > 0 || (routeRows?.rows.length ?? 0) > 0) {
    const mixed = [...byKey.values()].some((a) => a.groups.size > 0 && a.spans.count > 0);
    const bucketQuery = filter.perRoute ? null : db.query<KeyRow & { unit_to_ms: number; layout: string; idx: number; n: number }>(
      `${sources}
       SELECT ${select}, unit_to_ms, layout, (bucket_offset + u.ord - 1)::int AS idx, sum(u.c)::float8 AS n
       FROM rolled, unnest(counts) WITH ORDINALITY AS u(c, ord) WHERE u.c <> 0
       GROUP BY ${groupBy}, unit_to_ms, layout, idx`, values);
    // Span durations bucketed in SQL at the storage scale (same formula as exponentialIndex),
    // only needed for groups that also have rollups.
    const scaleParam = values.length + 1;
    const spanBucketQuery = mixed ? db.query<KeyRow & { idx: number | null; n: number }>(
      `${sources}
       SELECT ${select}, CASE WHEN ms > 0 THEN (ceil(ln(ms) / ln(2::float8) * $${scaleParam}::float8) - 1)::int END AS idx,
              count(*)::float8 AS n
       FROM spans GROUP BY ${groupBy}, idx`, [...values, 2 ** STORAGE_SCALE]) : null;
    const [buckets, spanBuckets] = await Promise.all([bucketQuery, spanBucketQuery]);
    for (const b of buckets?.rows ?? []) {
      const n = Number(b.n);
      if (n > 0) byKey.get(keyOf(b, names))?.groups.get(`${Number(b.unit_to_ms)}|${b.layout}`)?.buckets.set(Number(b.idx), n);
    }
    if (spanBuckets) {
      const perKey = new Map<string, { zeros: number; byIndex: Map<number, number> }>();
      for (const b of spanBuckets.rows) {
        const k = keyOf(b, names);
        let e = perKey.get(k);
        if (!e) { e = { zeros: 0, byIndex: new Map() }; perKey.set(k, e); }
        if (b.idx === null) e.zeros += Number(b.n); else e.byIndex.set(Number(b.idx), Number(b.n));
      }
      for (const [k, e] of perKey) {
        const acc = byKey.get(k);
        if (acc && acc.groups.size > 0) acc.spans.histogram = fromIndexCounts(STORAGE_SCALE, e.zeros, e.byIndex);
      }
    }
  }

  for (const c of (await spanCallers)?.rows ?? []) {
    const callers = accOf(c).callers!;
    callers.set(c.caller, (callers.get(c.caller) ?? 0) + Number(c.n));
  }

  const out: GroupedSummary[] = [];
  for (const acc of byKey.values()) {
    const groups = [...acc.groups.values()];
    const summary = summarizeWindow(acc.spans, groups);
    let apdex: number | null = null;
    if (options.apdexTMs !== undefined && summary.requestCount > 0) {
      let sat = acc.sat;
      let tol = acc.tol;
      for (const g of groups) {
        const atT = countAtMost(g, options.apdexTMs);
        sat += atT;
        tol += countAtMost(g, 4 * options.apdexTMs) - atT;
      }
      apdex = (sat + tol / 2) / summary.requestCount;
    }
    const errorCount = groups.reduce((n, g) => n + g.errors, acc.spans.errors);
    out.push({ ...summary, key: acc.key, errorCount, lastMs: acc.lastMs, apdex, callers: acc.callers });
  }
  return out;
}

/** Requests (and errors) per group, one query; for callers and sparklines. Groups with none do not appear. */
export async function selectGroupedCounts(db: Queryable, filter: WindowFilter, groupKeys: GroupKeys):
  Promise<Array<{ key: Array<string | null>; requestCount: number; errorCount: number }>> {
  const params = new SqlParams();
  const sources = windowSources(filter, params);
  const keys = groupKeys(params);
  const { select, groupBy, names } = keyColumns(keys);
  const result = await db.query<KeyRow & { n: number; e: number }>(
    `${sources}
     SELECT ${names.join(', ')}, sum(n)::float8 AS n, sum(e)::float8 AS e FROM (
       SELECT ${select}, count(*) AS n, count(*) FILTER (WHERE status_code >= 500) AS e FROM spans GROUP BY ${groupBy}
       UNION ALL
       SELECT ${select}, sum(count) AS n, coalesce(sum(errors), 0) AS e FROM rolled GROUP BY ${groupBy}
     ) x GROUP BY ${groupBy}`, params.values);
  return result.rows.map((r) => ({ key: names.map((n) => r[n] ?? null), requestCount: Number(r.n), errorCount: Number(r.e) }));
}

/**
 * Estimated number of a rollup group's requests with a duration ≤ thresholdMs: whole buckets
 * below the threshold, and the bucket holding it in proportion to the part of its range below
 * (linear within the bucket). The zero bucket counts as ≤ any positive threshold.
 */
export function countAtMost(g: RollupGroup, thresholdMs: number): number {
  const x = thresholdMs / g.unitToMs;
  const scale = exponentialScaleOf(g.layout);
  let n = x >= 0 ? g.zeroCount : 0;
  if (scale !== null) {
    const gamma = exponentialBase(scale);
    for (const [i, c] of g.buckets) {
      const lo = gamma ** i;
      n += c * fractionBelow(lo, lo * gamma, x);
    }
    return n;
  }
  const bounds = explicitBoundsOf(g.layout);
  for (const [k, c] of g.buckets) {
    const lo = k === 0 ? Math.min(g.min ?? 0, bounds[0] ?? 0) : bounds[k - 1]!;
    const hi = k >= bounds.length ? Math.max(g.max ?? lo, lo) : bounds[k]!;
    n += c * fractionBelow(lo, hi, x);
  }
  return n;
}

/** The share of (lo, hi] at or below x, linearly. */
function fractionBelow(lo: number, hi: number, x: number): number {
  if (x >= hi) return 1;
  if (x <= lo) return 0;
  return (x - lo) / (hi - lo);
}

function numOrNull(value: number | string | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function maxOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
