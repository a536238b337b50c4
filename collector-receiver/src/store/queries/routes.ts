/**
 * Per-route stats of one service over a window, and who calls each route. Grouped in SQL by
 * (method, route) — at most five aggregate queries per call whatever the number of routes.
 * Same source rule and estimator as selectServiceStats (see grouped-window.ts).
 */
import type { Queryable } from '../db.js';
import type { WindowSummary } from '../../pipeline/histogram/window-summary.js';
import { selectGroupedCounts, selectGroupedSummaries } from './grouped-window.js';

export interface CallerShare {
  /** null = requests without a known caller (uninstrumented clients) */
  service: string | null;
  requestCount: number;
  /** requestCount / the route's requests */
  share: number;
}

export interface RouteStats extends WindowSummary {
  method: string;
  route: string;
  /** newest request: a span's start or a histogram point's minute, epoch ms */
  lastRequestMs: number | null;
  /** most requests first */
  callers: CallerShare[];
}

/** Routes of a service with requests in [fromMs, toMs), most requests first. */
export async function selectRouteStats(db: Queryable, serviceId: string, fromMs: number, toMs: number): Promise<RouteStats[]> {
  // Grouped by route only: the per-route rollup rows (6-hour periods, statuses merged) answer it,
  // callers included (the same numbers selectRouteCallers gives).
  const summaries = await selectGroupedSummaries(db, { serviceIds: [serviceId], fromMs, toMs, perRoute: true },
    () => ['method', 'route'], { withCallers: true });
  return summaries
    .map((s) => ({
      method: s.key[0]!, route: s.key[1]!,
      requestCount: s.requestCount, errorRate: s.errorRate, avgMs: s.avgMs, p50Ms: s.p50Ms, p95Ms: s.p95Ms, p99Ms: s.p99Ms,
      lastRequestMs: s.lastMs,
      callers: toCallerShares(s.callers ?? new Map()),
    }))
    .sort((a, b) => b.requestCount - a.requestCount || compare(a.route, b.route) || compare(a.method, b.method));
}

export interface RouteCallers {
  serviceId: string;
  method: string;
  route: string;
  requestCount: number;
  callers: CallerShare[];
}

/** Callers of every route of `serviceIds` (null = all services), keyed by routeKey(); one query. */
export async function selectRouteCallers(db: Queryable, serviceIds: readonly string[] | null, fromMs: number, toMs: number):
  Promise<Map<string, RouteCallers>> {
  const counts = await selectGroupedCounts(db, { serviceIds, fromMs, toMs }, () => ['service_id', 'method', 'route', 'caller']);
  const byRoute = new Map<string, RouteCallers>();
  for (const c of counts) {
    const [serviceId, method, route, caller] = c.key as [string, string, string, string | null];
    const k = routeKey(serviceId, method, route);
    let r = byRoute.get(k);
    if (!r) { r = { serviceId, method, route, requestCount: 0, callers: [] }; byRoute.set(k, r); }
    r.requestCount += c.requestCount;
    r.callers.push({ service: caller, requestCount: c.requestCount, share: 0 });
  }
  for (const r of byRoute.values()) {
    for (const c of r.callers) c.share = c.requestCount / r.requestCount;
    r.callers.sort((a, b) => b.requestCount - a.requestCount || compare(a.service ?? '', b.service ?? ''));
  }
  return byRoute;
}

/** Requests per caller → shares of their total, most requests first. */
function toCallerShares(counts: Map<string | null, number>): CallerShare[] {
  let total = 0;
  for (const n of counts.values()) total += n;
  return [...counts]
    .map(([service, requestCount]) => ({ service, requestCount, share: requestCount / total }))
    .sort((a, b) => b.requestCount - a.requestCount || compare(a.service ?? '', b.service ?? ''));
}

export function routeKey(serviceId: string, method: string, route: string): string {
  return `${serviceId}\u0000${method}\u0000${route}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
