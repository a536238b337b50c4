import { afterEach, describe, expect, it } from 'vitest';
import { migrate, loadMigrations } from '../../src/store/migrate.js';
import { TEST_DATABASE_URL, createTestDb, skipReason, testBackends, type TestDb } from '../helpers/test-db.js';

describe.each(testBackends())('migrate on %s', (backend) => {
  let t: TestDb | undefined;
  afterEach(async () => { await t?.drop(); t = undefined; });

  it('applies every migration once and records it', async () => {
    t = await createTestDb(backend, { migrate: false });
    const first = await migrate(t.db);
    expect(first.applied).toEqual((await loadMigrations()).map((m) => m.name));
    const second = await migrate(t.db);
    expect(second.applied).toEqual([]);
    const rows = await t.db.query<{ id: number }>('SELECT id FROM lattice_migrations ORDER BY id');
    expect(rows.rows.map((r) => Number(r.id))).toEqual((await loadMigrations()).map((m) => m.id));
    const tables = await t.db.query<{ n: string }>(
      `SELECT to_regclass('services')::text AS a, to_regclass('service_metrics')::text AS b,
              to_regclass('service_metrics_1m')::text AS c, to_regclass('metric_streams')::text AS d`);
    expect(Object.values(tables.rows[0]!).every((v) => v !== null)).toBe(true);
  });
});

describe.skipIf(!TEST_DATABASE_URL)('migrate concurrently on a real server', () => {
  it('two receivers migrating one fresh schema at once both succeed and apply once', async () => {
    const t = await createTestDb('postgres', { migrate: false });
    try {
      const other = await t.openAnother();
      const [a, b] = await Promise.all([migrate(t.db), migrate(other)]);
      const all = (await loadMigrations()).map((m) => m.name);
      expect([...a.applied, ...b.applied].sort()).toEqual(all);
      const rows = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM lattice_migrations');
      expect(rows.rows[0]!.n).toBe(all.length);
    } finally {
      await t.drop();
    }
  });

  it('two fresh schemas migrated at once both succeed', async () => {
    const [x, y] = await Promise.all([createTestDb('postgres', { migrate: false }), createTestDb('postgres', { migrate: false })]);
    try {
      const [a, b] = await Promise.all([migrate(x.db), migrate(y.db)]);
      const all = (await loadMigrations()).map((m) => m.name);
      expect(a.applied).toEqual(all);
      expect(b.applied).toEqual(all);
    } finally {
      await Promise.all([x.drop(), y.drop()]);
    }
  });
});

if (!TEST_DATABASE_URL) describe.skip(`real-server tests: ${skipReason}`, () => { it('skipped', () => {}); });
