import type { Queryable } from '../db.js';
import { STORAGE_SCALE, fromIndexCounts } from '../../pipeline/histogram/exponential.js';
import { summarizeWindow, type RollupGroup, type SpanSummary, type WindowSummary } from '../../pipeline/histogram/window-summary.js';

/**
 * Request stats of one service over [fromMs, toMs).
 * Per minute, one source counts: the histogram rollups when the service has any in that minute or
 * the minutes either side, else the span rows — a service sending spans, metrics or both is never
 * counted twice. The neighbours matter: a delta point is stamped with its export time, so requests
 * at 12:00:59.9 land in the 12:01 rollup while their spans sit in minute 12:00. Rollups are minute
 * granular: a rollup minute overlapping the window counts whole. Error = status ≥ 500.
 * Four aggregate queries whose result size is bounded by buckets, never by requests.
 */
export async function selectServiceStats(db: Queryable, serviceId: string, fromMs: number, toMs: number): Promise<WindowSummary> {
  const window = [serviceId, fromMs, toMs];
  const rolledMinutes = `service_metrics_1m r WHERE r.service_id = $1::bigint
      AND r.minute > to_timestamp($2::float8 / 1000) - interval '1 minute' AND r.minute < to_timestamp($3::float8 / 1000)`;
  const spanRows = `service_metrics m WHERE m.service_id = $1::bigint
      AND m."timestamp" >= to_timestamp($2::float8 / 1000) AND m."timestamp" < to_timestamp($3::float8 / 1000)
      AND NOT EXISTS (SELECT 1 FROM service_metrics_1m r
                      WHERE r.service_id = m.service_id
                        AND r.minute BETWEEN date_trunc('minute', m."timestamp") - interval '1 minute'
                                         AND date_trunc('minute', m."timestamp") + interval '1 minute')`;

  const spans = await db.query<{ n: number; errors: number; total: number | null; mn: number | null; mx: number | null;
    p50: number | null; p95: number | null; p99: number | null }>(
    `SELECT count(*)::float8 AS n, (count(*) FILTER (WHERE m.status_code >= 500))::float8 AS errors,
            sum(m.response_time_ms) AS total, min(m.response_time_ms) AS mn, max(m.response_time_ms) AS mx,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY m.response_time_ms) AS p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY m.response_time_ms) AS p95,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY m.response_time_ms) AS p99
     FROM ${spanRows}`, window);
  const groupRows = await db.query<{ unit_to_ms: number; layout: string; n: number; errors: number; total: number | null;
    sum_missing: boolean; mn: number | null; mx: number | null; zeros: number }>(
    `SELECT r.unit_to_ms, r.layout, sum(r.count)::float8 AS n,
            coalesce(sum(r.count) FILTER (WHERE r.status_code >= 500), 0)::float8 AS errors,
            sum(r.sum) AS total, bool_or(r.sum IS NULL) AS sum_missing, min(r.min) AS mn, max(r.max) AS mx,
            sum(r.zero_count)::float8 AS zeros
     FROM ${rolledMinutes} GROUP BY r.unit_to_ms, r.layout`, window);

  const s = spans.rows[0]!;
  const spanSummary: SpanSummary = {
    count: Number(s.n), errors: Number(s.errors), sumMs: Number(s.total ?? 0),
    minMs: numOrNull(s.mn), maxMs: numOrNull(s.mx), p50Ms: numOrNull(s.p50), p95Ms: numOrNull(s.p95), p99Ms: numOrNull(s.p99),
    histogram: null,
  };
  const groups: RollupGroup[] = [];
  if (groupRows.rows.length > 0) {
    const buckets = await db.query<{ unit_to_ms: number; layout: string; idx: number; n: number }>(
      `SELECT r.unit_to_ms, r.layout, (r.bucket_offset + u.ord - 1)::int AS idx, sum(u.c)::float8 AS n
       FROM ${rolledMinutes.replace('service_metrics_1m r WHERE', 'service_metrics_1m r, unnest(r.counts) WITH ORDINALITY AS u(c, ord) WHERE')}
       GROUP BY 1, 2, 3`, window);
    const byGroup = new Map<string, RollupGroup>();
    for (const g of groupRows.rows) {
      const group: RollupGroup = {
        unitToMs: Number(g.unit_to_ms), layout: g.layout, count: Number(g.n), errors: Number(g.errors),
        sum: g.sum_missing ? null : Number(g.total), min: numOrNull(g.mn), max: numOrNull(g.mx), zeroCount: Number(g.zeros),
        buckets: new Map(),
      };
      groups.push(group);
      byGroup.set(`${group.unitToMs}|${group.layout}`, group);
    }
    for (const b of buckets.rows) {
      const n = Number(b.n);
      if (n > 0) byGroup.get(`${Number(b.unit_to_ms)}|${b.layout}`)?.buckets.set(Number(b.idx), n);
    }
    if (spanSummary.count > 0) {
      // Span durations bucketed in SQL at the storage scale (same formula as exponentialIndex).
      const spanBuckets = await db.query<{ idx: number | null; n: number }>(
        `SELECT CASE WHEN m.response_time_ms > 0
                     THEN (ceil(ln(m.response_time_ms) / ln(2::float8) * $4::float8) - 1)::int END AS idx,
                count(*)::float8 AS n
         FROM ${spanRows} GROUP BY 1`, [...window, 2 ** STORAGE_SCALE]);
      let zeros = 0;
      const byIndex = new Map<number, number>();
      for (const b of spanBuckets.rows) {
        if (b.idx === null) zeros += Number(b.n); else byIndex.set(Number(b.idx), Number(b.n));
      }
      spanSummary.histogram = fromIndexCounts(STORAGE_SCALE, zeros, byIndex);
    }
  }
  return summarizeWindow(spanSummary, groups);
}

function numOrNull(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}
