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

export interface RouteRollupStats extends WindowSummary {
  method: string;
  route: string;
}

const NO_SPANS = { count: 0, errors: 0, sumMs: 0, minMs: null, maxMs: null, p50Ms: null, p95Ms: null, p99Ms: null, histogram: null };

/**
 * Per-route stats (count, error rate, mean, p50/p95/p99) of one service over [fromMs, toMs) from
 * the histogram rollups alone, read through lattice_rollups(): a 24 h window reads ~24 hourly rows
 * per route key instead of ~1440 minute rows. Span rows are not read (a service that sends only
 * spans has no rollups: see routes.ts selectRouteStats for the span+rollup source rule).
 * Minutes are whole: a minute counts when it starts in the window. One aggregate query; the
 * percentile estimator is summarizeWindow's (window-summary.ts). Most requests first.
 */
export async function selectRouteRollupStats(db: Queryable, serviceId: string, fromMs: number, toMs: number): Promise<RouteRollupStats[]> {
  // One query: each (route, unit, layout) group is numbered first, so the bucket sums group by two
  // integers (gid, idx), and each group comes back as one row with its buckets as two arrays.
  const result = await db.query<{ method: string; route: string; unit_to_ms: number; layout: string; n: number; errors: number;
    total: number | null; sum_missing: boolean; mn: number | null; mx: number | null; zeros: number; idx: number[] | null; c: number[] | null }>(
    `WITH w AS MATERIALIZED (
       SELECT r.method, r.route, r.status_code, r.unit_to_ms, r.layout, r.count, r.sum, r.min, r.max, r.zero_count, r.bucket_offset, r.counts
       FROM ${rollupWindowSql('ARRAY[$1::bigint]', '$2', '$3')} r
     ), g AS (
       SELECT row_number() OVER () AS gid, method, route, unit_to_ms, layout, sum(count)::float8 AS n,
              coalesce(sum(count) FILTER (WHERE status_code >= 500), 0)::float8 AS errors,
              sum(sum) AS total, bool_or(sum IS NULL) AS sum_missing, min(min) AS mn, max(max) AS mx, sum(zero_count)::float8 AS zeros
       FROM w GROUP BY method, route, unit_to_ms, layout
     ), b AS (
       SELECT g.gid, w.bucket_offset + (u.ord - 1)::int AS idx, sum(u.c)::float8 AS c
       FROM w JOIN g USING (method, route, unit_to_ms, layout), unnest(w.counts) WITH ORDINALITY AS u(c, ord)
       WHERE u.c <> 0 GROUP BY 1, 2
     ), arrays AS (
       SELECT gid, array_agg(idx ORDER BY idx) AS idx, array_agg(c ORDER BY idx) AS c FROM b GROUP BY gid
     )
     SELECT g.method, g.route, g.unit_to_ms, g.layout, g.n, g.errors, g.total, g.sum_missing, g.mn, g.mx, g.zeros, a.idx, a.c
     FROM g LEFT JOIN arrays a USING (gid)`, [serviceId, fromMs, toMs]);
  const routes = new Map<string, { method: string; route: string; groups: RollupGroup[] }>();
  for (const g of result.rows) {
    const key = `${g.method}\u0000${g.route}`;
    let r = routes.get(key);
    if (!r) { r = { method: g.method, route: g.route, groups: [] }; routes.set(key, r); }
    const buckets = new Map<number, number>();
    const idx = g.idx ?? [];
    const c = g.c ?? [];
    for (let i = 0; i < idx.length; i++) buckets.set(Number(idx[i]), Number(c[i]));
    r.groups.push({
      unitToMs: Number(g.unit_to_ms), layout: g.layout, count: Number(g.n), errors: Number(g.errors),
      sum: g.sum_missing ? null : Number(g.total), min: g.mn === null ? null : Number(g.mn), max: g.mx === null ? null : Number(g.mx),
      zeroCount: Number(g.zeros), buckets,
    });
  }
  return [...routes.values()]
    .map((r) => ({ method: r.method, route: r.route, ...summarizeWindow(NO_SPANS, r.groups) }))
    .sort((a, b) => b.requestCount - a.requestCount || (a.route < b.route ? -1 : a.route > b.route ? 1 : 0) || (a.method < b.method ? -1 : 1));
}
