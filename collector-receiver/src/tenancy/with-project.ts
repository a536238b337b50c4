/**
 * Reads for one project, kept apart by PostgreSQL row-level security (migration 006), not by
 * WHERE clauses: each read runs in a transaction that switches to the role lattice_reader and
 * sets `lattice.project_id` for that transaction only. Works the same on PGlite.
 *
 * The API routes receive a Db from createProjectScopedDb(): every query through it runs inside
 * withProject() for the project of the request being answered (requestContext, set by the auth
 * hook in auth.ts). A query outside a request's context is refused, never run unscoped.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Db, Queryable } from '../store/db.js';
import { errors } from '../errors.js';

export interface RequestTenancy {
  /** projects.id of the authenticated key (or 'default' in open mode); undefined before auth. */
  projectId: string | undefined;
}

/** Set for the whole handling of every request by registerAuth (onRequest). */
export const requestContext = new AsyncLocalStorage<RequestTenancy>();

const PROJECT_ID = /^[1-9]\d{0,17}$/;

export async function withProject<T>(db: Db, projectId: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  if (!PROJECT_ID.test(projectId)) throw errors.LAT_ERR_AUTH_NO_PROJECT(projectId);
  return db.transaction(async (tx) => {
    // = SET LOCAL ROLE lattice_reader + SET LOCAL lattice.project_id, in one round trip.
    await tx.query("SELECT set_config('role', 'lattice_reader', true), set_config('lattice.project_id', $1, true)", [projectId]);
    return fn(tx);
  });
}

/** A Db whose every query runs as withProject(db, <the current request's project>, …). */
export function createProjectScopedDb(db: Db): Db {
  const project = (): string => {
    const projectId = requestContext.getStore()?.projectId;
    if (projectId === undefined) throw errors.LAT_ERR_AUTH_NO_PROJECT('(none)');
    return projectId;
  };
  return {
    kind: db.kind,
    description: db.description,
    async query<Row>(text: string, values?: unknown[]) {
      return withProject(db, project(), (tx) => tx.query<Row>(text, values));
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      return withProject(db, project(), fn);
    },
    async close() {
      // The underlying Db belongs to whoever opened it.
    },
  };
}
