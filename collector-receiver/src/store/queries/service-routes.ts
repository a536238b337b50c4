import type { Queryable } from '../db.js';

/** The route every request past a service's route limit is stored under. */
export const OVERFLOW_ROUTE = '(overflow)';

export interface RouteAdmission {
  /** serviceId → routes stored under their own name (known before or admitted now) */
  known: Map<string, Set<string>>;
  /** services that reached the limit: `known` then holds all their routes, any other is overflow */
  full: Set<string>;
}

/**
 * Admits the routes not seen before, per service up to `limit` distinct routes, in two statements
 * whatever the number of routes (a third, once, lists a service's routes when it is full). Call it inside the write transaction, only for routes the
 * caller has not cached (see route-guard.ts).
 * - The services' rows are locked first (FOR NO KEY UPDATE, in id order): two flushes or replicas
 *   admitting routes of one service take turns, so the limit holds exactly across replicas. The
 *   lock does not conflict with the foreign-key checks of concurrent inserts (KEY SHARE).
 * - New routes are admitted in route order while the service has room; a service with routes
 *   left over gets route_overflow_at (once; a data-modifying WITH runs whether or not it is read).
 */
export async function admitRoutes(tx: Queryable, serviceIds: readonly string[], routes: readonly string[], limit: number): Promise<RouteAdmission> {
  const known = new Map<string, Set<string>>();
  const full = new Set<string>();
  if (routes.length === 0) return { known, full };
  await tx.query('SELECT 1 FROM services WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE',
    [[...new Set(serviceIds)]]);
  const result = await tx.query<{ kind: 'known' | 'admitted' | 'count'; service_id: string; route: string | null; n: number | null }>(
    `WITH cand AS (SELECT DISTINCT s, r FROM unnest($1::bigint[], $2::text[]) AS c(s, r)),
     existing AS (SELECT c.s, c.r FROM cand c JOIN service_routes sr ON sr.service_id = c.s AND sr.route = c.r),
     counts AS (SELECT sr.service_id AS s, count(*)::int AS n FROM service_routes sr
                WHERE sr.service_id IN (SELECT s FROM cand) GROUP BY sr.service_id),
     fresh AS (SELECT c.s, c.r, coalesce(n.n, 0) + row_number() OVER (PARTITION BY c.s ORDER BY c.r) AS rank
               FROM cand c LEFT JOIN counts n ON n.s = c.s
               WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.s = c.s AND e.r = c.r)),
     admitted AS (INSERT INTO service_routes (service_id, route) SELECT s, r FROM fresh WHERE rank <= $3
                  ON CONFLICT DO NOTHING RETURNING service_id, route),
     flagged AS (UPDATE services SET route_overflow_at = now()
                 WHERE route_overflow_at IS NULL AND id IN (SELECT s FROM fresh WHERE rank > $3) RETURNING id)
     SELECT 'known' AS kind, s::text AS service_id, r AS route, NULL::int AS n FROM existing
     UNION ALL SELECT 'admitted', service_id::text, route, NULL FROM admitted
     UNION ALL SELECT 'count', s::text, NULL, count(*)::int FROM fresh WHERE rank <= $3 GROUP BY s
     UNION ALL SELECT 'count', s::text, NULL, n FROM counts`,
    [serviceIds, routes, limit]);
  const stored = new Map<string, number>();
  for (const row of result.rows) {
    if (row.kind === 'count') {
      stored.set(row.service_id, (stored.get(row.service_id) ?? 0) + Number(row.n));
      continue;
    }
    let set = known.get(row.service_id);
    if (!set) { set = new Set(); known.set(row.service_id, set); }
    set.add(row.route!);
  }
  for (const [serviceId, n] of stored) if (n >= limit) full.add(serviceId);
  if (full.size > 0) {
    // A full service's every stored route, once: from then on an uncached route of it is overflow
    // without asking again (routes admitted by other replicas included).
    const all = await tx.query<{ service_id: string; route: string }>(
      'SELECT service_id::text AS service_id, route FROM service_routes WHERE service_id = ANY($1::bigint[])', [[...full]]);
    for (const row of all.rows) {
      let set = known.get(row.service_id);
      if (!set) { set = new Set(); known.set(row.service_id, set); }
      set.add(row.route);
    }
  }
  return { known, full };
}
