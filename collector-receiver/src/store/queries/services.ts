import type { Queryable } from '../db.js';
import { fromServiceKey } from '../../tenancy/service-key.js';

/**
 * Ids of `names`, creating services met for the first time. last_seen_at is refreshed at most
 * every 10 s per service, so a hot service's row is not locked by every flush.
 * Returns name → id (ids as decimal strings: bigint). A name may be a service key of another
 * project than the default one (tenancy/service-key.ts); it is split into (project_id, name).
 *
 * Ids are matched to names by their position in the input (WITH ORDINALITY), never by the name
 * read back: PGlite drops a leading U+FEFF from returned text, so a service named "\ufeffx" was
 * not found again and its whole batch failed (regression test: test/regression/service-names.test.ts).
 */
export async function upsertServices(tx: Queryable, names: readonly string[]): Promise<Map<string, string>> {
  const unique = [...new Set(names)].sort();
  const ids = new Map<string, string>();
  if (unique.length === 0) return ids;
  const projectIds: string[] = [];
  const plainNames: string[] = [];
  for (const key of unique) {
    const { projectId, name } = fromServiceKey(key);
    projectIds.push(projectId);
    plainNames.push(name);
  }
  const upserted = await tx.query<{ ord: string; id: string | null }>(
    `WITH input AS (SELECT project_id, name, ord FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS u(project_id, name, ord)),
          ins AS (INSERT INTO services (project_id, name) SELECT project_id, name FROM input
                  ON CONFLICT (project_id, name) DO UPDATE SET last_seen_at = now()
                    WHERE services.last_seen_at < now() - interval '10 seconds'
                  RETURNING id, project_id, name)
     SELECT input.ord::text AS ord, coalesce(ins.id, s.id)::text AS id
       FROM input LEFT JOIN ins ON ins.project_id = input.project_id AND ins.name = input.name
                  LEFT JOIN services s ON s.project_id = input.project_id AND s.name = input.name`, [projectIds, plainNames]);
  const missing: number[] = [];
  for (const row of upserted.rows) {
    const index = Number(row.ord) - 1;
    if (row.id === null) missing.push(index); else ids.set(unique[index]!, row.id);
  }
  if (missing.length > 0) {
    // Inserted by another replica after this statement's snapshot: visible to a new statement.
    const existing = await tx.query<{ ord: string; id: string }>(
      `SELECT u.ord::text AS ord, s.id::text AS id
         FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS u(project_id, name, ord)
         JOIN services s ON s.project_id = u.project_id AND s.name = u.name`,
      [missing.map((i) => projectIds[i]), missing.map((i) => plainNames[i])]);
    for (const row of existing.rows) ids.set(unique[missing[Number(row.ord) - 1]!]!, row.id);
  }
  return ids;
}

/**
 * The id of a service by name, or null when it never sent anything. Names are unique per project:
 * the API calls this through its project-scoped Db (tenancy/with-project.ts), where row-level
 * security leaves only the request's project's services; as the owner it may match several.
 */
export async function findServiceId(db: Queryable, name: string): Promise<string | null> {
  const result = await db.query<{ id: string }>('SELECT id::text AS id FROM services WHERE name = $1', [name]);
  return result.rows[0]?.id ?? null;
}

/**
 * A service by name with its route-overflow flag (services.route_overflow_at, migration 002: set
 * once the service sent more distinct routes than allowed), or null when it never sent anything.
 * The column is read through to_jsonb so the query also runs on a schema without it.
 */
export async function findService(db: Queryable, name: string): Promise<{ id: string; routeOverflow: boolean } | null> {
  const result = await db.query<{ id: string; overflow: boolean }>(
    `SELECT s.id::text AS id, (to_jsonb(s) ->> 'route_overflow_at') IS NOT NULL AS overflow FROM services s WHERE s.name = $1`, [name]);
  const row = result.rows[0];
  return row === undefined ? null : { id: row.id, routeOverflow: row.overflow === true };
}
