/**
 * Test databases for every suite that touches storage (store/, pipeline/, api/, end-to-end).
 *
 *   import { testBackends, createTestDb, skipReason } from '../helpers/test-db.js';
 *
 *   describe.each(testBackends())('my suite on %s', (backend) => {
 *     let t: TestDb;
 *     beforeEach(async () => { t = await createTestDb(backend); });   // migrated, empty
 *     afterEach(() => t.drop());
 *     it('…', async () => { await t.db.query('SELECT 1'); });
 *   });
 *   describe.skipIf(!TEST_DATABASE_URL)('needs a real server', …)  // reason: skipReason
 *
 * - 'pglite': a fresh in-memory PGlite per call, loaded from a migrated template made once per
 *   test process (≈0.6 s each).
 * - 'postgres' (only when LATTICE_TEST_DATABASE_URL is set): a fresh schema
 *   `lattice_test_<random>` on that server, reached through a pg Pool whose connections use
 *   `-c search_path=<schema>` and application_name <schema>; drop() removes the schema. Tests never share tables.
 * `openAnother()` returns a second Db on the same data (another pool on the same schema; on
 * PGlite the same instance, which is one connection anyway) — "a second replica".
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/store/db.js';
import { createPgDb } from '../../src/store/pg-db.js';
import { createPgliteDb, dumpPgliteDb } from '../../src/store/pglite-db.js';
import { migrate } from '../../src/store/migrate.js';

export type TestBackend = 'pglite' | 'postgres';

/** The real server for tests, from LATTICE_TEST_DATABASE_URL (CI sets it); undefined = PGlite only. */
export const TEST_DATABASE_URL: string | undefined = process.env.LATTICE_TEST_DATABASE_URL || undefined;

/** Why the real-server variants are skipped, for describe.skip titles. */
export const skipReason = 'LATTICE_TEST_DATABASE_URL is not set: tests against a real PostgreSQL server are skipped';

/** ['pglite'] plus 'postgres' when LATTICE_TEST_DATABASE_URL is set. */
export function testBackends(): TestBackend[] {
  return TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

export interface TestDb {
  backend: TestBackend;
  db: Db;
  /** postgres only: the schema this test owns */
  schema: string | undefined;
  /** A second handle on the same data (a second "replica"); closed by drop(). */
  openAnother(): Promise<Db>;
  /** Closes every handle and removes the schema. Safe to call twice. */
  drop(): Promise<void>;
}

let template: Promise<Blob> | undefined;

/** One migrated PGlite per test process, dumped; each test loads the dump (~0.5 s vs ~3 s + migrate). */
function migratedTemplate(): Promise<Blob> {
  template ??= (async () => {
    const db = await createPgliteDb();
    try {
      await migrate(db);
      return await dumpPgliteDb(db);
    } finally {
      await db.close();
    }
  })();
  return template;
}

export async function createTestDb(backend: TestBackend, options: { migrate?: boolean } = {}): Promise<TestDb> {
  const handles: Db[] = [];
  let dropped = false;
  if (backend === 'pglite') {
    const db = options.migrate === false ? await createPgliteDb() : await createPgliteDb({ loadDataDir: await migratedTemplate() });
    handles.push(db);
    return {
      backend, db, schema: undefined,
      async openAnother() { return db; },
      async drop() {
        if (dropped) return;
        dropped = true;
        await db.close();
      },
    };
  }
  if (!TEST_DATABASE_URL) throw new Error(skipReason);
  const url = TEST_DATABASE_URL;
  const schema = `lattice_test_${randomBytes(6).toString('hex')}`;
  const admin = createPgDb({ connectionString: url, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const open = (): Db => {
    const db = createPgDb({ connectionString: url, max: 4, options: `-c search_path=${schema}`, applicationName: schema });
    handles.push(db);
    return db;
  };
  const db = open();
  if (options.migrate !== false) await migrate(db);
  return {
    backend, db, schema,
    async openAnother() { return open(); },
    async drop() {
      if (dropped) return;
      dropped = true;
      await Promise.allSettled(handles.map((h) => h.close()));
      const cleanup = createPgDb({ connectionString: url, max: 1 });
      try {
        await cleanup.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await cleanup.close();
      }
    },
  };
}

/** A Db whose server cannot be reached (a closed port): every query fails like an outage. */
export function createUnreachableDb(): Db {
  return createPgDb({ connectionString: 'postgres://postgres@127.0.0.1:1/unreachable', connectionTimeoutMillis: 1000 });
}
