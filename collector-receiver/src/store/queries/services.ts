import type { Queryable } from '../db.js';

/**
 * Ids of `names`, creating services met for the first time. last_seen_at is refreshed at most
 * every 10 s per service, so a hot service's row is not locked by every flush.
 * Returns name → id (ids as decimal strings: bigint).
 */
export async function upsertServices(tx: Queryable, names: readonly string[]): Promise<Map<string, string>> {
  const unique = [...new Set(names)].sort();
  const ids = new Map<string, string>();
  if (unique.length === 0) return ids;
  const upserted = await tx.query<{ id: string; name: string }>(
    `INSERT INTO services (name) SELECT unnest($1::text[])
     ON CONFLICT (name) DO UPDATE SET last_seen_at = now()
       WHERE services.last_seen_at < now() - interval '10 seconds'
     RETURNING id::text AS id, name`, [unique]);
  for (const row of upserted.rows) ids.set(row.name, row.id);
  const rest = unique.filter((n) => !ids.has(n));
  if (rest.length > 0) {
    const existing = await tx.query<{ id: string; name: string }>(
      'SELECT id::text AS id, name FROM services WHERE name = ANY($1::text[])', [rest]);
    for (const row of existing.rows) ids.set(row.name, row.id);
  }
  return ids;
}

/** The id of a service by name, or null when it never sent anything. */
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
