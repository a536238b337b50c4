/**
 * Row-level security in SQL, not only in the API: as lattice_reader with project B set, every
 * protected table returns none of A's rows; with no project set, none at all; and a SQL user
 * pinned by lattice_sql_grants (docs/tenancy.md) cannot switch project with SET or SET ROLE.
 * Data goes in through the real receiver (two projects, both with a service named 'web'); the
 * coarse rollup tables get copies of the 1-minute rows so no protected table is empty.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/store/db.js';
import { withProject } from '../../src/tenancy/with-project.js';
import { testBackends } from '../helpers/test-db.js';
import { createKeyFor, hex, sendRequest, startTenancyReceiver, type TenancyReceiver } from './harness.js';

interface ProtectedTable { table: string; hasServiceId: boolean }

/** Tables the data sent here fills for both projects: checked to hold rows, so the checks can fail. */
const FILLED = ['services', 'service_metrics', 'service_metrics_1m', 'service_metrics_5m', 'service_metrics_1h', 'service_routes', 'spans'];

describe.each(testBackends())('row-level security in SQL (%s)', (backend) => {
  let r: TenancyReceiver;
  let projectA = '';
  let projectB = '';
  let tables: ProtectedTable[] = [];

  beforeAll(async () => {
    r = await startTenancyReceiver(backend);
    const aIngest = await createKeyFor(r.t.db, 'alpha', 'ingest');
    const bIngest = await createKeyFor(r.t.db, 'beta', 'ingest');
    await sendRequest(r.url, aIngest, { traceId: hex(16), service: 'web', route: '/a', caller: 'a-gw' });
    await sendRequest(r.url, bIngest, { traceId: hex(16), service: 'web', route: '/b', caller: 'b-gw' });
    const ids = await r.t.db.query<{ name: string; id: string }>("SELECT name, id::text AS id FROM projects WHERE name IN ('alpha', 'beta')");
    projectA = ids.rows.find((p) => p.name === 'alpha')!.id;
    projectB = ids.rows.find((p) => p.name === 'beta')!.id;
    for (const grain of ['5m', '1h']) {
      await r.t.db.query(`INSERT INTO service_metrics_${grain} SELECT * FROM service_metrics_1m ON CONFLICT DO NOTHING`);
    }
    // Every table of this schema (not a partition) with a service_id column, and services itself.
    const found = await r.t.db.query<{ table: string }>(
      `SELECT c.relname AS table FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'service_id' AND NOT a.attisdropped)
        ORDER BY 1`);
    tables = [{ table: 'services', hasServiceId: false }, ...found.rows.map((row) => ({ table: row.table, hasServiceId: true }))];
  });
  afterAll(async () => { await r?.close(); });

  /** Rows of `table` that belong to project `projectId`, counted as the owner (RLS does not apply to it). */
  const ownerCount = async (table: ProtectedTable, projectId: string) => {
    const where = table.hasServiceId
      ? `service_id IN (SELECT id FROM services WHERE project_id = $1)` : 'project_id = $1';
    const result = await r.t.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table.table} WHERE ${where}`, [projectId]);
    return Number(result.rows[0]!.n);
  };
  const readerRows = async (tx: Queryable, table: ProtectedTable) => {
    const column = table.hasServiceId ? 'service_id' : 'id';
    return (await tx.query<{ id: string }>(`SELECT ${column}::text AS id FROM ${table.table}`)).rows.map((row) => row.id);
  };

  it('protects every table with a service_id column (RLS on, policy present), and grants nothing on partitions', async () => {
    expect(tables.map((t) => t.table)).toEqual(expect.arrayContaining(FILLED));
    const rls = await r.t.db.query<{ relname: string; relrowsecurity: boolean; policies: string }>(
      `SELECT c.relname, c.relrowsecurity, (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)::text AS policies
         FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY ($1::text[])`, [tables.map((t) => t.table)]);
    for (const row of rls.rows) {
      expect({ table: row.relname, rls: row.relrowsecurity, hasPolicy: Number(row.policies) > 0 }).toEqual({ table: row.relname, rls: true, hasPolicy: true });
    }
    const partitions = await r.t.db.query<{ relname: string; readable: boolean }>(
      `SELECT c.relname, has_table_privilege('lattice_reader', c.oid, 'SELECT') AS readable
         FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relispartition`);
    expect(partitions.rows.length).toBeGreaterThan(0);
    for (const row of partitions.rows) expect({ partition: row.relname, readable: row.readable }).toEqual({ partition: row.relname, readable: false });
    const secrets = await r.t.db.query<{ t: string; readable: boolean }>(
      `SELECT t, has_table_privilege('lattice_reader', t, 'SELECT') AS readable FROM unnest(ARRAY['api_keys', 'metric_streams', 'delta_streams']) AS t`);
    expect(secrets.rows.every((row) => !row.readable)).toBe(true);
  });

  it('as lattice_reader with project B: every protected table has B\'s rows and none of A\'s', async () => {
    const aServices = (await r.t.db.query<{ id: string }>('SELECT id::text AS id FROM services WHERE project_id = $1', [projectA])).rows.map((s) => s.id);
    const bServices = (await r.t.db.query<{ id: string }>('SELECT id::text AS id FROM services WHERE project_id = $1', [projectB])).rows.map((s) => s.id);
    for (const table of tables) {
      const filled = FILLED.includes(table.table);
      // The owner sees both projects' rows in the tables this test fills: the checks below can fail.
      if (filled) expect({ table: table.table, a: await ownerCount(table, projectA) > 0 }).toEqual({ table: table.table, a: true });
      const seen = await withProject(r.t.db, projectB, (tx) => readerRows(tx, table));
      expect({ table: table.table, leaked: seen.filter((id) => aServices.includes(id)) }).toEqual({ table: table.table, leaked: [] });
      expect({ table: table.table, own: seen.every((id) => bServices.includes(id)) && (!filled || seen.length > 0) })
        .toEqual({ table: table.table, own: true });
    }
  });

  it('as lattice_reader without a project: zero rows everywhere', async () => {
    for (const table of tables) {
      const seen = await r.t.db.transaction(async (tx) => {
        await tx.query('SET LOCAL ROLE lattice_reader');
        return readerRows(tx, table);
      });
      expect({ table: table.table, rows: seen.length }).toEqual({ table: table.table, rows: 0 });
    }
  });

  it('as lattice_reader: api_keys, metric_streams and delta_streams cannot be read at all', async () => {
    for (const table of ['api_keys', 'metric_streams', 'delta_streams']) {
      await expect(withProject(r.t.db, projectA, (tx) => tx.query(`SELECT 1 FROM ${table}`))).rejects.toThrow(/permission denied/);
    }
  });

  // Logins exist on a server only; PGlite is one embedded connection (and its SET SESSION
  // AUTHORIZATION does not revert at the end of the transaction, so it cannot stand in for one).
  it.skipIf(backend === 'pglite')('a SQL login pinned to project B by lattice_sql_grants sees B only, whatever it SETs; an unpinned login sees nothing', async () => {
    const pinned = `lattice_t_pinned_${randomBytes(4).toString('hex')}`;
    const unpinned = `lattice_t_free_${randomBytes(4).toString('hex')}`;
    await r.t.db.query(`CREATE ROLE ${pinned} LOGIN`);
    await r.t.db.query(`CREATE ROLE ${unpinned} LOGIN`);
    try {
      await r.t.db.query(`GRANT lattice_reader TO ${pinned}, ${unpinned}`);
      await r.t.db.query('INSERT INTO lattice_sql_grants (role_name, project_id) VALUES ($1, $2)', [pinned, projectB]);
      const bServices = (await r.t.db.query<{ id: string }>('SELECT id::text AS id FROM services WHERE project_id = $1', [projectB])).rows.map((s) => s.id);
      // SET SESSION AUTHORIZATION (superuser only) stands in for logging in as that role.
      const asLogin = <T>(role: string, fn: (tx: Queryable) => Promise<T>) => r.t.db.transaction(async (tx) => {
        await tx.query(`SET LOCAL SESSION AUTHORIZATION ${role}`);
        return fn(tx);
      });
      for (const table of tables) {
        const seen = await asLogin(pinned, async (tx) => {
          // Every way a login could try to switch: the setting, and SET ROLE to the reader role.
          await tx.query("SELECT set_config('lattice.project_id', $1, true)", [projectA]);
          await tx.query('SET LOCAL ROLE lattice_reader');
          await tx.query("SELECT set_config('lattice.project_id', $1, true)", [projectA]);
          return readerRows(tx, table);
        });
        const filled = FILLED.includes(table.table);
        expect({ table: table.table, own: seen.every((id) => bServices.includes(id)) && (!filled || seen.length > 0) })
          .toEqual({ table: table.table, own: true });
        const unpinnedSeen = await asLogin(unpinned, async (tx) => {
          await tx.query("SELECT set_config('lattice.project_id', $1, true)", [projectA]);
          return readerRows(tx, table);
        });
        expect({ table: table.table, rows: unpinnedSeen.length }).toEqual({ table: table.table, rows: 0 });
      }
      // Its own grant row is the only one it can see, and it cannot write one.
      const grants = await asLogin(pinned, (tx) => tx.query<{ role_name: string }>('SELECT role_name FROM lattice_sql_grants'));
      expect(grants.rows).toEqual([{ role_name: pinned }]);
      await expect(asLogin(pinned, (tx) => tx.query('UPDATE lattice_sql_grants SET project_id = $1', [projectA]))).rejects.toThrow(/permission denied/);
    } finally {
      await r.t.db.query('DELETE FROM lattice_sql_grants WHERE role_name = ANY ($1::name[])', [[pinned, unpinned]]);
      await r.t.db.query(`DROP ROLE IF EXISTS ${pinned}`);
      await r.t.db.query(`DROP ROLE IF EXISTS ${unpinned}`);
    }
  });
});
