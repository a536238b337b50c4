/**
 * SQL of projects and api_keys (migration 006). The receiver's own role runs these (api_keys is
 * not readable by lattice_reader). One exported function per statement; values through $n only.
 */
import type { Queryable } from '../store/db.js';
import type { KeyKind } from './keys.js';

/** What authenticating a key needs; ids as decimal strings (bigint). */
export interface StoredKey {
  id: string;
  projectId: string;
  kind: KeyKind;
  revoked: boolean;
}

export interface KeyListing {
  id: string;
  project: string;
  kind: KeyKind;
  label: string | null;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** Active (not revoked) keys by kind, and every key ever created (revoked ones too). */
export async function countKeys(db: Queryable): Promise<{ ingest: number; read: number; total: number }> {
  const result = await db.query<{ ingest: string; read: string; total: string }>(
    `SELECT count(*) FILTER (WHERE kind = 'ingest' AND revoked_at IS NULL)::text AS ingest,
            count(*) FILTER (WHERE kind = 'read' AND revoked_at IS NULL)::text AS read,
            count(*)::text AS total
       FROM api_keys`);
  const row = result.rows[0];
  return { ingest: Number(row?.ingest ?? 0), read: Number(row?.read ?? 0), total: Number(row?.total ?? 0) };
}

export async function findKeyByHash(db: Queryable, hash: Buffer): Promise<StoredKey | null> {
  const result = await db.query<{ id: string; project_id: string; kind: KeyKind; revoked: boolean }>(
    `SELECT id::text AS id, project_id::text AS project_id, kind, revoked_at IS NOT NULL AS revoked
       FROM api_keys WHERE key_hash = $1`, [hash]);
  const row = result.rows[0];
  return row === undefined ? null : { id: row.id, projectId: row.project_id, kind: row.kind, revoked: row.revoked };
}

/** The project's id, creating the project when it is new. */
export async function ensureProject(db: Queryable, name: string): Promise<{ id: string; created: boolean }> {
  const result = await db.query<{ id: string; created: boolean }>(
    `WITH ins AS (INSERT INTO projects (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id)
     SELECT id::text AS id, true AS created FROM ins
     UNION ALL SELECT id::text, false FROM projects WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM ins)`, [name]);
  const row = result.rows[0]!;
  return { id: row.id, created: row.created };
}

export async function insertKey(db: Queryable, key: { projectId: string; kind: KeyKind; label: string | null; prefix: string; hash: Buffer }): Promise<string> {
  const result = await db.query<{ id: string }>(
    `INSERT INTO api_keys (project_id, kind, label, key_prefix, key_hash) VALUES ($1, $2, $3, $4, $5) RETURNING id::text AS id`,
    [key.projectId, key.kind, key.label, key.prefix, key.hash]);
  return result.rows[0]!.id;
}

/** Every key (revoked ones too), of one project or of all, oldest first. */
export async function listKeys(db: Queryable, project?: string): Promise<KeyListing[]> {
  const result = await db.query<{ id: string; project: string; kind: KeyKind; label: string | null; prefix: string;
    created_at: Date; revoked_at: Date | null; last_used_at: Date | null }>(
    `SELECT k.id::text AS id, p.name AS project, k.kind, k.label, k.key_prefix AS prefix, k.created_at, k.revoked_at, k.last_used_at
       FROM api_keys k JOIN projects p ON p.id = k.project_id
      WHERE $1::text IS NULL OR p.name = $1
      ORDER BY k.id`, [project ?? null]);
  return result.rows.map((r) => ({
    id: r.id, project: r.project, kind: r.kind, label: r.label, prefix: r.prefix,
    createdAt: new Date(r.created_at), revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at),
    lastUsedAt: r.last_used_at === null ? null : new Date(r.last_used_at),
  }));
}

/**
 * Revokes the active keys whose id is `idOrPrefix` or whose display prefix starts with it (at
 * least 12 characters, so a short typo cannot revoke many). Returns the revoked keys' ids and the
 * matches found (to report an ambiguous prefix without revoking anything).
 */
export async function revokeKeys(db: Queryable, idOrPrefix: string): Promise<{ revoked: string[]; matches: number }> {
  const byId = /^\d{1,18}$/.test(idOrPrefix);
  const match = byId ? 'id = $1::bigint' : `key_prefix LIKE replace(replace(replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'`;
  const found = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM api_keys WHERE revoked_at IS NULL AND ${match}`, [idOrPrefix]);
  const matches = Number(found.rows[0]?.n ?? 0);
  if (matches !== 1) return { revoked: [], matches };
  const result = await db.query<{ id: string }>(
    `UPDATE api_keys SET revoked_at = now() WHERE revoked_at IS NULL AND ${match} RETURNING id::text AS id`, [idOrPrefix]);
  return { revoked: result.rows.map((r) => r.id), matches };
}

/** Sets last_used_at = now() on these keys: one statement for every key used since the last call. */
export async function touchKeys(db: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query('UPDATE api_keys SET last_used_at = now() WHERE id = ANY ($1::bigint[])', [ids]);
}
