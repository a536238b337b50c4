import { vi, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyRetention } from '../../src/store/maintenance/retention.js';
import { runMaintenance } from '../../src/store/maintenance/maintenance.js';
import { DAY_PARTITIONED_TABLES, ensureDayPartitions, partitionName, utcDay } from '../../src/store/queries/partitions.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { createServices } from './rollup-helpers.js';

// Storage-heavy on a shared 2-core machine: generous limits (a slow box is not a failure).
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const NOW = Date.parse('2026-11-20T12:00:00Z');
const DAY = 86_400_000;
const SETTINGS = { retentionRawDays: 7, retention1mDays: 30, retention5mDays: 90, retention1hDays: 400 };

describe.each(testBackends())('retention on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(async () => { await t.drop(); });

  const partitions = async () => (await t.db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'service_metrics'::regclass ORDER BY 1`)).rows.map((r) => r.name);

  it('drops whole daily partitions older than the raw retention and keeps the newer ones', async () => {
    const days = Array.from({ length: 11 }, (_, i) => utcDay(NOW - (10 - i) * DAY)); // 11-10 … 11-20
    await t.db.transaction((tx) => ensureDayPartitions(tx, days));
    const [id] = await createServices(t.db, ['checkout']);
    await t.db.query(
      `INSERT INTO service_metrics (service_id, method, path, status_code, response_time_ms, "timestamp", trace_id, span_id)
       SELECT $1::bigint, 'GET', '/', 200, 1, to_timestamp(d / 1000.0), 't' || d, 's' FROM unnest($2::float8[]) AS d`,
      [id, days.map((d) => Date.parse(`${d}T06:00:00Z`))]);
    const result = await runMaintenance(t.db, SETTINGS, { nowMs: NOW });
    // cutoff 11-13 12:00: days ending at or before it (≤ 11-12) go; 11-13 ends after it and stays.
    const gone = ['2026-11-10', '2026-11-11', '2026-11-12'];
    expect(result.ran && result.retention?.droppedPartitions)
      .toEqual(DAY_PARTITIONED_TABLES.flatMap((table) => gone.map((d) => partitionName(d, table))).sort());
    expect(await partitions()).toEqual(days.slice(3).map((d) => partitionName(d)));
    const left = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM service_metrics');
    expect(left.rows[0]!.n).toBe(8);
  });

  it('deletes rollup rows older than each rollup retention and keeps the newer ones', async () => {
    const [id] = await createServices(t.db, ['checkout']);
    const insert = (table: string, agesDays: number[]) => t.db.query(
      `INSERT INTO ${table} (service_id, minute, method, route, status_code, caller, unit_to_ms, layout, count, counts)
       SELECT $1::bigint, date_bin('1 hour', to_timestamp(($2::float8 - a * ${DAY}) / 1000), timestamptz '2000-01-01 00:00:00+00'),
              'GET', '/', 200, '', 1, 'exponential:6', 1, '{1}' FROM unnest($3::float8[]) AS a`, [id, NOW, agesDays]);
    await insert('service_metrics_1m', [31, 29]);
    await insert('service_metrics_5m', [91, 89]);
    await insert('service_metrics_1h', [401, 399]);
    const result = await t.db.transaction((tx) => applyRetention(tx,
      { raw: 7, rollup1m: 30, rollup5m: 90, rollup1h: 400 }, NOW));
    expect(result).toMatchObject({ deleted1m: 1, deleted5m: 1, deleted1h: 1 });
    const left = await t.db.query<{ t: string; n: number }>(
      `SELECT '1m' AS t, count(*)::int AS n FROM service_metrics_1m UNION ALL SELECT '5m', count(*)::int FROM service_metrics_5m
       UNION ALL SELECT '1h', count(*)::int FROM service_metrics_1h`);
    expect(left.rows.map((r) => Number(r.n))).toEqual([1, 1, 1]);
  });
});
