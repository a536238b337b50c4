/**
 * Every service at a glance over a window (the /metrics/services answer, without the health
 * rule): last seen, ingestion lag, request stats with Apdex, the route-overflow flag and a
 * requests-per-minute sparkline. Seven aggregate queries at most, whatever the number of services.
 */
import type { Queryable } from '../db.js';
import type { WindowSummary } from '../../pipeline/histogram/window-summary.js';
import { selectGroupedCounts, selectGroupedSummaries } from './grouped-window.js';

export interface ServiceOverview extends WindowSummary {
  name: string;
  /** services.last_seen_at: the last commit of the service's data (refreshed at most every 10 s) */
  lastSeenMs: number;
  /** last_seen_at − the newest span start at or before it; null when no span in the hour before */
  ingestionLagMs: number | null;
  apdex: number | null;
  routeOverflow: boolean;
  /** one point per minute, oldest first; requests null when the service was not sending */
  sparkline: Array<{ tMs: number; requests: number | null }>;
}

export interface ServiceOverviewOptions {
  fromMs: number;
  toMs: number;
  /** the sparkline covers the SPARKLINE_MINUTES whole minutes before the minute holding nowMs */
  nowMs: number;
  apdexTMs: number;
}

export const SPARKLINE_MINUTES = 30;

export async function selectServiceOverview(db: Queryable, options: ServiceOverviewOptions): Promise<ServiceOverview[]> {
  // Ingestion lag from existing columns: services.last_seen_at is set to the transaction time of
  // a flush (at most every 10 s per service), so the newest span started at or before it belongs
  // to that flush or an earlier one. route_overflow_at is read through to_jsonb so this query
  // works before and after the migration that adds the column.
  const services = await db.query<{ id: string; name: string; created_ms: number; last_seen_ms: number; newest_ms: number | null;
    overflow: boolean }>(
    `SELECT s.id::text AS id, s.name,
            (extract(epoch FROM s.created_at) * 1000)::float8 AS created_ms,
            (extract(epoch FROM s.last_seen_at) * 1000)::float8 AS last_seen_ms,
            (SELECT (extract(epoch FROM max(m."timestamp")) * 1000)::float8 FROM service_metrics m
              WHERE m.service_id = s.id AND m."timestamp" <= s.last_seen_at
                AND m."timestamp" > s.last_seen_at - interval '1 hour') AS newest_ms,
            (to_jsonb(s) ->> 'route_overflow_at') IS NOT NULL AS overflow
     FROM services s ORDER BY s.name`);
  if (services.rows.length === 0) return [];

  const sparkTo = Math.floor(options.nowMs / 60_000) * 60_000;
  const sparkFrom = sparkTo - SPARKLINE_MINUTES * 60_000;
  const [summaries, perMinute] = await Promise.all([
    selectGroupedSummaries(db, { serviceIds: null, fromMs: options.fromMs, toMs: options.toMs, perRoute: true },
      () => ['service_id'], { apdexTMs: options.apdexTMs }),
    // Minute keys as epoch ms; a rollup minute before sparkFrom (the window's overlap rule) is
    // left out below.
    selectGroupedCounts(db, { serviceIds: null, fromMs: sparkFrom, toMs: sparkTo },
      () => ['service_id', `(extract(epoch FROM date_trunc('minute', t)) * 1000)::bigint`]),
  ]);
  const summaryOf = new Map(summaries.map((s) => [s.key[0]!, s]));
  const minutesOf = new Map<string, Map<number, number>>();
  for (const c of perMinute) {
    let m = minutesOf.get(c.key[0]!);
    if (!m) { m = new Map(); minutesOf.set(c.key[0]!, m); }
    m.set(Number(c.key[1]), c.requestCount);
  }

  return services.rows.map((s) => {
    const summary = summaryOf.get(s.id);
    const lastSeenMs = Number(s.last_seen_ms);
    const firstMinute = Math.floor(Number(s.created_ms) / 60_000) * 60_000;
    const counts = minutesOf.get(s.id);
    const sparkline: ServiceOverview['sparkline'] = [];
    for (let t = sparkFrom; t < sparkTo; t += 60_000) {
      const n = counts?.get(t);
      // A minute without requests is 0 while the service was sending (between its first data
      // and its last commit), else unknown.
      sparkline.push({ tMs: t, requests: n ?? (t >= firstMinute && t <= lastSeenMs ? 0 : null) });
    }
    return {
      name: s.name,
      lastSeenMs,
      ingestionLagMs: s.newest_ms === null ? null : Math.max(0, lastSeenMs - Number(s.newest_ms)),
      requestCount: summary?.requestCount ?? 0,
      errorRate: summary?.errorRate ?? null,
      avgMs: summary?.avgMs ?? null,
      p50Ms: summary?.p50Ms ?? null,
      p95Ms: summary?.p95Ms ?? null,
      p99Ms: summary?.p99Ms ?? null,
      apdex: summary?.apdex ?? null,
      routeOverflow: s.overflow === true,
      sparkline,
    };
  });
}
