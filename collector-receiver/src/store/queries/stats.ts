import type { Queryable } from '../db.js';
import type { WindowSummary } from '../../pipeline/histogram/window-summary.js';
import { selectGroupedSummaries } from './grouped-window.js';

/**
 * Request stats of one service over [fromMs, toMs).
 * Per minute, one source counts: the histogram rollups when the service has any in that minute or
 * the minutes either side, else the span rows — a service sending spans, metrics or both is never
 * counted twice. The neighbours matter: a delta point is stamped with its export time, so requests
 * at 12:00:59.9 land in the 12:01 rollup while their spans sit in minute 12:00. Rollups are minute
 * granular: a rollup minute overlapping the window counts whole. Error = status ≥ 500.
 * The grouped engine (grouped-window.ts) with one group: the per-route rows answer it (whole
 * 6-hour, hourly and 5-minute periods), so a 24 h window reads a few rows per route instead of
 * every minute row and a NOT EXISTS per span row.
 */
export async function selectServiceStats(db: Queryable, serviceId: string, fromMs: number, toMs: number): Promise<WindowSummary> {
  const [s] = await selectGroupedSummaries(db, { serviceIds: [serviceId], fromMs, toMs, perRoute: true }, () => ['service_id']);
  if (!s) return { requestCount: 0, errorRate: null, avgMs: null, p50Ms: null, p95Ms: null, p99Ms: null };
  return { requestCount: s.requestCount, errorRate: s.errorRate, avgMs: s.avgMs, p50Ms: s.p50Ms, p95Ms: s.p95Ms, p99Ms: s.p99Ms };
}
