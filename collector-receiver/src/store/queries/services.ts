import type { Queryable } from '../db.js';

/**
 * Ids of `names`, creating services met for the first time. last_seen_at is refreshed at most
 * every 10 s per service, so a hot service's row is not locked by every flush.
 * Returns name → id (ids as decimal strings: bigint).
 *
 * Ids are matched to names by their position in the input (WITH ORDINALITY), never by the name
 * read back: PGlite drops a leading U+FEFF from returned text, so a service named "\ufeffx" was
 * not found again and its whole batch failed (regression test: test/regression/service-names.test.ts).
 */
export async function upsertServices(tx: Queryable, names: readonly string[]): Promise<Map<string, string>> {
  const unique = [...new Set(names)].sort();
  const ids = new Map<string, string>();
  if (unique.length === 0) return ids;
  const upserted = await tx.query<{ ord: string; id: string | null }>(
    `WITH input AS (SELECT name, ord FROM unnest($1::text[]) WITH ORDINALITY AS u(name, ord)),
          ins AS (INSERT INTO services (name) SELECT name FROM input
                  ON CONFLICT (name) DO UPDATE SET last_seen_at = now()
                    WHERE services.last_seen_at < now() - interval '10 seconds'
                  RETURNING id, name)
     SELECT input.ord::text AS ord, coalesce(ins.id, s.id)::text AS id
       FROM input LEFT JOIN ins ON ins.name = input.name LEFT JOIN services s ON s.name = input.name`, [unique]);
  const missing: string[] = [];
  for (const row of upserted.rows) {
    const name = unique[Number(row.ord) - 1]!;
    if (row.id === null) missing.push(name); else ids.set(name, row.id);
  }
  if (missing.length > 0) {
    // Inserted by another replica after this statement's snapshot: visible to a new statement.
    const existing = await tx.query<{ ord: string; id: string }>(
      `SELECT u.ord::text AS ord, s.id::text AS id
         FROM unnest($1::text[]) WITH ORDINALITY AS u(name, ord) JOIN services s ON s.name = u.name`, [missing]);
    for (const row of existing.rows) ids.set(missing[Number(row.ord) - 1]!, row.id);
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
