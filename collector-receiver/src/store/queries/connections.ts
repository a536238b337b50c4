/**
 * Who calls whom over a window: caller → callee edges with requests, error rate and p95, from
 * the caller recorded on each span / histogram point (null = uninstrumented callers). At most
 * five aggregate queries per call. Same source rule and estimator as selectServiceStats.
 */
import type { Queryable } from '../db.js';
import { selectGroupedSummaries } from './grouped-window.js';

export interface ConnectionEdge {
  caller: string | null;
  callee: string;
  requestCount: number;
  errorRate: number | null;
  p95Ms: number | null;
}

/** Every edge with requests in [fromMs, toMs), most requests first. */
export async function selectConnectionEdges(db: Queryable, fromMs: number, toMs: number): Promise<ConnectionEdge[]> {
  const [summaries, names] = await Promise.all([
    selectGroupedSummaries(db, { serviceIds: null, fromMs, toMs }, () => ['caller', 'service_id']),
    db.query<{ id: string; name: string }>('SELECT id::text AS id, name FROM services'),
  ]);
  const nameOf = new Map(names.rows.map((r) => [r.id, r.name]));
  return summaries
    .map((s) => ({ caller: s.key[0] ?? null, callee: nameOf.get(s.key[1]!) ?? s.key[1]!,
      requestCount: s.requestCount, errorRate: s.errorRate, p95Ms: s.p95Ms }))
    .sort((a, b) => b.requestCount - a.requestCount || compare(a.callee, b.callee) || compare(a.caller ?? '', b.caller ?? ''));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
