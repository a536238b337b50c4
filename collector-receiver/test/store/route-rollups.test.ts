/**
 * Per-route rollups (migrations 007, 009): service_route_metrics rows built by the rollup job, and
 * the reads grouped by route that use them (perRoute) give the numbers of the status-level rows
 * they replace — counts, errors, percentiles, Apdex and callers — whatever grains the window
 * stitches (6-hour, hourly, 5-minute rows and 1m edges), with span-only minutes counted once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { rollUp } from '../../src/store/maintenance/rollups.js';
import { selectGroupedSummaries, type GroupedSummary, type WindowFilter } from '../../src/store/queries/grouped-window.js';
import { selectRouteCallers, selectRouteStats, routeKey } from '../../src/store/queries/routes.js';
import { selectTimeseries } from '../../src/store/queries/timeseries.js';
import type { DurationPoint, IngestBatch, RequestRow } from '../../src/translate/rows.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { durationPoint, nanos, requestRow } from '../helpers/fixtures.js';

const T0 = Date.parse('2026-11-27T00:00:00Z'); // 6-hour aligned
const MIN = 60_000;
const HOUR = 3_600_000;
/** minutes 0 … 479 (8 h) have metrics; 490 … 499 spans only */
const METRIC_MINUTES = 480;
const SPAN_ONLY = Array.from({ length: 10 }, (_, k) => 490 + k);

/** The points of minute i: two routes, statuses 200/404/500, callers web/billing/unknown. */
function pointsOf(i: number): DurationPoint[] {
  const at = { startTimeUnixNano: nanos(T0 + i * MIN), timeUnixNano: nanos(T0 + i * MIN + 30_000) };
  const out = [
    durationPoint([5 + (i % 17), 40 + (i % 5), 300], { ...at, streamKey: `a-${i}`, route: '/orders/:id', callerServiceName: 'web' }),
    durationPoint([2 + (i % 3)], { ...at, streamKey: `b-${i}`, route: '/orders/:id', callerServiceName: null }),
    durationPoint([120 + i, 7], { ...at, streamKey: `c-${i}`, method: 'POST', route: '/pay', callerServiceName: 'billing' }),
  ];
  if (i % 7 === 0) out.push(durationPoint([900 + i], { ...at, streamKey: `d-${i}`, method: 'POST', route: '/pay', statusCode: 500, callerServiceName: 'billing' }));
  if (i % 11 === 0) out.push(durationPoint([1], { ...at, streamKey: `e-${i}`, route: '/orders/:id', statusCode: 404, callerServiceName: 'web' }));
  return out;
}

describe.each(testBackends())('per-route rollups on %s', (backend) => {
  let t: TestDb;
  let serviceId: string;
  let metricRequests = 0;
  const spanOnlyRequests = SPAN_ONLY.length * 2;

  beforeAll(async () => {
    t = await createTestDb(backend);
    const points: DurationPoint[] = [];
    const requests: RequestRow[] = [];
    for (let i = 0; i < METRIC_MINUTES; i++) {
      for (const p of pointsOf(i)) { points.push(p); metricRequests += p.count; }
      // spans of covered minutes: counted from the metrics, never twice
      requests.push(requestRow({ serviceName: 'checkout', responseTimeMs: 33, startUnixMs: T0 + i * MIN + 1000 }));
    }
    for (const i of SPAN_ONLY) {
      requests.push(requestRow({ serviceName: 'checkout', responseTimeMs: 70, startUnixMs: T0 + i * MIN + 1000, callerServiceName: 'web' }));
      requests.push(requestRow({ serviceName: 'checkout', method: 'POST', route: '/pay', statusCode: 503, responseTimeMs: 250,
        startUnixMs: T0 + i * MIN + 2000 }));
    }
    const writer = createBatchingWriter(t.db, { batchRows: 100_000, maxQueuedRows: 1_000_000 });
    await writer.write({ requests, durationPoints: points, spans: [] } as IngestBatch);
    await writer.close();
    const run = await t.db.transaction((tx) => rollUp(tx, { nowMs: T0 + 9 * HOUR }));
    expect(run.routeRows).toBeGreaterThan(0);
    serviceId = (await t.db.query<{ id: string }>(`SELECT id::text AS id FROM services WHERE name = 'checkout'`)).rows[0]!.id;
  }, 180_000);
  afterAll(async () => { await t?.drop(); });

  it('builds 6-hour, hourly and 5-minute route rows whose counts equal the minute rows', async () => {
    const grains = await t.db.query<{ grain_seconds: number; rows: number; count: number; errors: number }>(
      `SELECT grain_seconds, count(*)::int AS rows, sum(count)::int AS count, sum(errors)::int AS errors FROM service_route_metrics
       WHERE minute < $1 GROUP BY 1 ORDER BY 1`, [new Date(T0 + 6 * HOUR)]);
    const minute = await t.db.query<{ count: number; errors: number }>(
      `SELECT sum(count)::int AS count, (sum(count) FILTER (WHERE status_code >= 500))::int AS errors FROM service_metrics_1m
       WHERE minute < $1`, [new Date(T0 + 6 * HOUR)]);
    expect(grains.rows.map((g) => g.grain_seconds)).toEqual([300, 3600, 21_600]);
    for (const g of grains.rows) expect({ count: g.count, errors: g.errors }).toEqual(minute.rows[0]);
    // one 6-hour row per (method, route, layout): both routes, statuses and callers merged
    expect(grains.rows[2]!.rows).toBe(2);
    const callers = await t.db.query<{ route: string; callers: string[]; caller_counts: string[] }>(
      `SELECT route, callers, caller_counts::text[] AS caller_counts FROM service_route_metrics WHERE grain_seconds = 21600 ORDER BY route`);
    expect(callers.rows.map((r) => [r.route, r.callers])).toEqual([['/orders/:id', ['', 'web']], ['/pay', ['billing']]]);
  });

  const windows: Array<[string, number, number]> = [
    ['8 h aligned', T0, T0 + 8 * HOUR],
    ['mid-hour ends', T0 + 37 * MIN, T0 + 7 * HOUR + 23 * MIN],
    ['with span-only minutes', T0 + 5 * HOUR, T0 + 9 * HOUR],
    ['one minute', T0 + 100 * MIN, T0 + 101 * MIN],
  ];

  const comparable = (s: GroupedSummary) => ({
    key: s.key, requestCount: s.requestCount, errorCount: s.errorCount, errorRate: s.errorRate,
    p50Ms: s.p50Ms, p95Ms: s.p95Ms, p99Ms: s.p99Ms, lastMs: s.lastMs,
  });
  const byKey = (a: GroupedSummary, b: GroupedSummary) => (a.key.join() < b.key.join() ? -1 : 1);

  it.each(windows)('routes over the %s window: the same numbers as the status-level rows', async (_name, fromMs, toMs) => {
    const filter: WindowFilter = { serviceIds: [serviceId], fromMs, toMs };
    const keys = () => ['method', 'route'];
    const slow = (await selectGroupedSummaries(t.db, filter, keys)).sort(byKey);
    const fast = (await selectGroupedSummaries(t.db, { ...filter, perRoute: true }, keys)).sort(byKey);
    expect(fast.map(comparable)).toEqual(slow.map(comparable));
    fast.forEach((f, k) => expect(f.avgMs!).toBeCloseTo(slow[k]!.avgMs!, 9));
    expect(fast.length).toBeGreaterThan(0);
  });

  it.each(windows)('services with Apdex over the %s window: the same numbers', async (_name, fromMs, toMs) => {
    const filter: WindowFilter = { serviceIds: null, fromMs, toMs };
    const slow = await selectGroupedSummaries(t.db, filter, () => ['service_id'], { apdexTMs: 50 });
    const fast = await selectGroupedSummaries(t.db, { ...filter, perRoute: true }, () => ['service_id'], { apdexTMs: 50 });
    expect(fast.map(comparable)).toEqual(slow.map(comparable));
    expect(fast[0]!.apdex!).toBeCloseTo(slow[0]!.apdex!, 9);
  });

  it('counts every request once over the whole day: metrics where they exist, spans elsewhere', async () => {
    const routes = await selectRouteStats(t.db, serviceId, T0, T0 + 24 * HOUR);
    expect(routes.reduce((n, r) => n + r.requestCount, 0)).toBe(metricRequests + spanOnlyRequests);
    const pay = routes.find((r) => r.route === '/pay')!;
    const payErrors = Array.from({ length: METRIC_MINUTES }, (_, i) => i).filter((i) => i % 7 === 0).length + SPAN_ONLY.length;
    expect(Math.round(pay.errorRate! * pay.requestCount)).toBe(payErrors);
  });

  it.each(windows)('route callers over the %s window equal selectRouteCallers', async (_name, fromMs, toMs) => {
    const routes = await selectRouteStats(t.db, serviceId, fromMs, toMs);
    const callers = await selectRouteCallers(t.db, [serviceId], fromMs, toMs);
    for (const r of routes) {
      expect(r.callers).toEqual(callers.get(routeKey(serviceId, r.method, r.route))?.callers ?? []);
    }
    expect(routes.some((r) => r.callers.length > 0)).toBe(true);
  });

  it('lattice_quantile over the 6-hour route rows answers what the API answers for that window', async () => {
    const sql = await t.db.query<{ route: string; n: number; p50: number; p95: number; p99: number }>(
      `SELECT route, sum(count)::int AS n, lattice_quantile(r, 0.5) AS p50, lattice_quantile(r, 0.95) AS p95,
              lattice_quantile(r, 0.99) AS p99
       FROM service_route_metrics r WHERE grain_seconds = 21600 AND minute = $1 GROUP BY route ORDER BY route`, [new Date(T0)]);
    const api = await selectRouteStats(t.db, serviceId, T0, T0 + 6 * HOUR);
    expect(sql.rows).toHaveLength(2);
    for (const row of sql.rows) {
      const r = api.find((x) => x.route === row.route)!;
      expect(r.requestCount).toBe(row.n);
      for (const [a, b] of [[r.p50Ms, row.p50], [r.p95Ms, row.p95], [r.p99Ms, row.p99]] as const) expect(a! / b).toBeCloseTo(1, 12);
    }
  });

  it('a timeseries at 6-hour steps reads 6-hour rows and puts each request in its step', async () => {
    const points = await selectTimeseries(t.db, serviceId, { fromMs: T0, toMs: T0 + 12 * HOUR, stepMs: 6 * HOUR });
    const first = Array.from({ length: 360 }, (_, i) => pointsOf(i)).flat().reduce((n, p) => n + p.count, 0);
    expect(points.map((p) => p.requests)).toEqual([first, metricRequests - first + spanOnlyRequests]);
    const hourly = await selectTimeseries(t.db, serviceId, { fromMs: T0, toMs: T0 + 12 * HOUR, stepMs: HOUR });
    expect(hourly.slice(0, 6).reduce((n, p) => n + p.requests, 0)).toBe(first);
  });
});
