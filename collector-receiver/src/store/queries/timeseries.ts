/**
 * One service's requests, errors and p50/p95/p99 per time step, optionally for one route and/or
 * method. Grouped in SQL by step index — at most four aggregate queries per call, whatever the
 * number of steps. Same source rule and estimator as selectServiceStats (grouped-window.ts).
 */
import type { Queryable } from '../db.js';
import { selectGroupedSummaries } from './grouped-window.js';

export interface TimeseriesPoint {
  /** step start, epoch ms */
  tMs: number;
  requests: number;
  errors: number;
  /** null when the step has no requests */
  errorRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

export interface TimeseriesQuery {
  /** start (inclusive) and end (exclusive), epoch multiples of stepMs */
  fromMs: number;
  toMs: number;
  /** a multiple of 60 000 (rollups are per minute) */
  stepMs: number;
  method?: string | null;
  route?: string | null;
}

/** Every step of [fromMs, toMs), empty steps included (requests 0, nulls). */
export async function selectTimeseries(db: Queryable, serviceId: string, q: TimeseriesQuery): Promise<TimeseriesPoint[]> {
  const summaries = await selectGroupedSummaries(db,
    { serviceIds: [serviceId], fromMs: q.fromMs, toMs: q.toMs, method: q.method ?? null, route: q.route ?? null,
      // coarse rollup periods only where they nest in the (epoch-aligned) steps; the key is the
      // step alone, so the per-route rows answer it
      maxGrainSeconds: q.stepMs % 21_600_000 === 0 ? 21_600 : q.stepMs % 3_600_000 === 0 ? 3600 : q.stepMs % 300_000 === 0 ? 300 : 60,
      perRoute: true },
    // A rollup minute starting just before fromMs (the window's overlap rule) lands in step 0.
    (p) => [`greatest(0, floor((extract(epoch FROM t) * 1000 - ${p.add(q.fromMs, 'float8')}) / ${p.add(q.stepMs, 'float8')}))::int`]);
  const byStep = new Map(summaries.map((s) => [Number(s.key[0]), s]));
  const points: TimeseriesPoint[] = [];
  for (let i = 0, t = q.fromMs; t < q.toMs; i++, t += q.stepMs) {
    const s = byStep.get(i);
    points.push(s
      ? { tMs: t, requests: s.requestCount, errors: s.errorCount, errorRate: s.errorRate,
          p50Ms: s.p50Ms, p95Ms: s.p95Ms, p99Ms: s.p99Ms }
      : { tMs: t, requests: 0, errors: 0, errorRate: null, p50Ms: null, p95Ms: null, p99Ms: null });
  }
  return points;
}
