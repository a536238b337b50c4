/**
 * Route cardinality guard: at most `maxRoutesPerService` distinct routes per service are stored
 * under their own name; requests and histogram points of any further route are stored under
 * '(overflow)' — in service_metrics and in the rollups alike — and the service is flagged
 * (services.route_overflow_at) so the API can say why.
 *
 * Hot path: per row, one Map lookup and one Set lookup against routes this process already knows
 * (cached after the flush that learned them commits). Only routes never seen by this process go to
 * the database, all of a flush's in one admitRoutes() call inside the flush transaction; once a
 * service is known to be full, its unknown routes overflow without asking the database.
 *
 * Across replicas the limit is exact: admitRoutes locks the services' rows, so replicas admitting
 * routes of one service take turns and each counts what the others committed. What differs per
 * replica is only when it learns a service is full (its next flush with an unknown route asks).
 * Admitted routes are never forgotten: the limit counts distinct routes since the service first
 * appeared (raise LATTICE_MAX_ROUTES_PER_SERVICE and restart to admit more).
 */
import type { Queryable } from '../store/db.js';
import type { DurationPoint, RequestRow } from '../translate/rows.js';
import { OVERFLOW_ROUTE, admitRoutes, type RouteAdmission } from '../store/queries/service-routes.js';

export const DEFAULT_MAX_ROUTES_PER_SERVICE = 1000;

export interface RouteGuard {
  /**
   * In the flush transaction: the rows with routes past the limit renamed '(overflow)' (the input
   * arrays are returned as they are when nothing changes) and what to remember once it commits.
   */
  apply(tx: Queryable, requests: RequestRow[], points: DurationPoint[], serviceIds: ReadonlyMap<string, string>):
    Promise<{ requests: RequestRow[]; points: DurationPoint[]; learned: RouteAdmission | null }>;
  /** After the commit: cache what the flush learned. */
  remember(learned: RouteAdmission | null): void;
}

export function createRouteGuard(maxRoutesPerService: number = DEFAULT_MAX_ROUTES_PER_SERVICE): RouteGuard {
  const known = new Map<string, Set<string>>();
  const full = new Set<string>();

  return {
    async apply(tx, requests, points, serviceIds) {
      // Routes this process has not cached, as (service, route) pairs.
      let askIds: string[] | undefined;
      let askRoutes: string[] | undefined;
      let overflowing = false;
      const unknown = new Set<string>();
      const check = (serviceName: string, route: string) => {
        if (route === OVERFLOW_ROUTE) return;
        const id = serviceIds.get(serviceName);
        if (id === undefined || known.get(id)?.has(route)) return;
        if (full.has(id)) { overflowing = true; return; }
        const k = `${id}\u0000${route}`;
        if (unknown.has(k)) return;
        unknown.add(k);
        (askIds ??= []).push(id);
        (askRoutes ??= []).push(route);
      };
      for (const r of requests) check(r.serviceName, r.route);
      for (const p of points) check(p.serviceName, p.route);
      if (askIds === undefined && !overflowing) return { requests, points, learned: null };

      const learned = askIds === undefined ? null : await admitRoutes(tx, askIds, askRoutes!, maxRoutesPerService);
      const allowed = (serviceName: string, route: string): boolean => {
        if (route === OVERFLOW_ROUTE) return true;
        const id = serviceIds.get(serviceName);
        if (id === undefined) return true;
        return known.get(id)?.has(route) === true || learned?.known.get(id)?.has(route) === true;
      };
      return {
        requests: requests.map((r) => (allowed(r.serviceName, r.route) ? r : { ...r, route: OVERFLOW_ROUTE })),
        points: points.map((p) => (allowed(p.serviceName, p.route) ? p : { ...p, route: OVERFLOW_ROUTE })),
        learned,
      };
    },
    remember(learned) {
      if (learned === null) return;
      for (const [id, routes] of learned.known) {
        let set = known.get(id);
        if (!set) { set = new Set(); known.set(id, set); }
        for (const r of routes) set.add(r);
      }
      for (const id of learned.full) full.add(id);
    },
  };
}
