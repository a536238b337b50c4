import { vi, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMaintenance } from '../../src/store/maintenance/maintenance.js';
import { rollupWindowSql, selectRouteRollupStats } from '../../src/store/queries/window.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { comparable, createServices, insertMinuteRows, randomMinuteRows, readMerged } from './rollup-helpers.js';

// Storage-heavy on a shared 2-core machine: generous limits (a slow box is not a failure).
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const T = Date.parse('2026-11-20T09:00:00Z');
const MIN = 60_000;
const HOUR = 3_600_000;
/** One period for the whole window: rows are compared merged over the window. */
const WHOLE = 1e15;
const SETTINGS = { retentionRawDays: 7, retention1mDays: 30, retention5mDays: 90, retention1hDays: 400 };

describe.each(testBackends())('lattice_rollups() stitched window on %s', (backend) => {
  let t: TestDb;
  let ids: string[];
  beforeEach(async () => {
    t = await createTestDb(backend);
    ids = await createServices(t.db, ['checkout', 'payments', 'search']);
    // 09:00 → 12:10, then rolled up at 12:08: 5m watermark 12:05, 1h watermark 12:00.
    await insertMinuteRows(t.db, randomMinuteRows(ids, T, 190, 11));
    await runMaintenance(t.db, SETTINGS, { nowMs: T + 3 * HOUR + 8 * MIN, rollupsOnly: true });
  });
  afterEach(async () => { await t.drop(); });

  const window = (serviceIds: string[] | null, fromMs: number, toMs: number) =>
    readMerged(t.db, `${rollupWindowSql('$1', '$2', '$3')} r`, WHOLE, [serviceIds, fromMs, toMs]);
  const minutesOnly = (serviceIds: string[] | null, fromMs: number, toMs: number) =>
    readMerged(t.db, `service_metrics_1m r WHERE ($1::bigint[] IS NULL OR r.service_id = ANY ($1::bigint[]))
      AND r.minute >= to_timestamp($2::float8 / 1000) AND r.minute < to_timestamp($3::float8 / 1000)`, WHOLE, [serviceIds, fromMs, toMs]);
  const grains = async (fromMs: number, toMs: number) => (await t.db.query<{ g: number; n: number }>(
    `SELECT grain_seconds AS g, count(*)::int AS n FROM ${rollupWindowSql('NULL', '$1', '$2')} r GROUP BY 1 ORDER BY 1`,
    [fromMs, toMs])).rows.map((r) => Number(r.g));

  it('a window with whole hours in the middle reads 1h + 5m + 1m and equals the 1m rows exactly', async () => {
    const from = T + 3 * MIN; // 09:03 → 12:09: 1m 09:03–09:05, 5m –10:00, 1h 10:00–12:00, 5m –12:05, 1m –12:09
    const to = T + 3 * HOUR + 9 * MIN;
    expect(await grains(from, to)).toEqual([60, 300, 3600]);
    for (const sel of [null, [ids[0]!], [ids[1]!, ids[2]!]]) {
      const stitched = comparable(await window(sel, from, to));
      expect(stitched.length).toBeGreaterThan(0);
      expect(stitched).toEqual(comparable(await minutesOnly(sel, from, to)));
    }
  });

  it('equals the 1m rows for windows on and off period boundaries, short and empty', async () => {
    const cases: [number, number][] = [
      [T, T + 3 * HOUR], [T + HOUR, T + 2 * HOUR], [T + 7 * MIN, T + 9 * MIN], [T + 59 * MIN, T + 61 * MIN],
      [T + 2 * HOUR + 55 * MIN, T + 3 * HOUR + 10 * MIN], [T - HOUR, T + 4 * HOUR], [T + HOUR, T + HOUR],
      [T + HOUR + 30_000, T + 2 * HOUR + 30_000],
    ];
    for (const [from, to] of cases) {
      expect(comparable(await window(null, from, to)), `${new Date(from).toISOString()} → ${new Date(to).toISOString()}`)
        .toEqual(comparable(await minutesOnly(null, from, to)));
    }
  });

  it('reads the fresh edge past the watermark from 1m rows: new minutes count at once, none twice', async () => {
    const late = randomMinuteRows(ids, T + 3 * HOUR + 10 * MIN, 3, 12); // 12:10–12:13, not rolled up
    await insertMinuteRows(t.db, late);
    const from = T;
    const to = T + 3 * HOUR + 15 * MIN;
    expect(comparable(await window(null, from, to))).toEqual(comparable(await minutesOnly(null, from, to)));
    await runMaintenance(t.db, SETTINGS, { nowMs: T + 3 * HOUR + 20 * MIN, rollupsOnly: true });
    expect(await grains(from, to)).toEqual([300, 3600]);
    expect(comparable(await window(null, from, to))).toEqual(comparable(await minutesOnly(null, from, to)));
  });

  it('selectRouteRollupStats: the same per-route counts, error rates and percentiles as from the 1m rows alone', async () => {
    const from = T + 3 * MIN;
    const to = T + 3 * HOUR + 9 * MIN;
    const stitched = await selectRouteRollupStats(t.db, ids[0]!, from, to);
    const grainsRead = await grains(from, to);
    expect(grainsRead).toContain(3600);
    // The same window with the watermarks reset reads 1m rows only.
    await t.db.query(`UPDATE lattice_rollup_watermarks SET rolled_to = '-infinity'`);
    expect(await grains(from, to)).toEqual([60]);
    const minutes = await selectRouteRollupStats(t.db, ids[0]!, from, to);
    expect(stitched.map((r) => r.route).sort()).toEqual(['/a', '/b/:id', '/c']);
    const round = (rows: typeof stitched) => rows.map((r) => ({ ...r, avgMs: Number(r.avgMs!.toFixed(6)) }));
    expect(round(stitched)).toEqual(round(minutes));
    const counts = await t.db.query<{ route: string; n: number; e: number }>(
      `SELECT route, sum(count)::int AS n, coalesce(sum(count) FILTER (WHERE status_code >= 500), 0)::int AS e
       FROM service_metrics_1m WHERE service_id = $1::bigint
         AND minute >= to_timestamp($2::float8 / 1000) AND minute < to_timestamp($3::float8 / 1000) GROUP BY 1`, [ids[0], from, to]);
    expect(counts.rows).toHaveLength(3);
    for (const c of counts.rows) {
      const r = stitched.find((s) => s.route === c.route)!;
      expect(r.requestCount).toBe(c.n);
      expect(r.errorRate).toBeCloseTo(c.e / c.n, 12);
      expect(r.p50Ms! <= r.p95Ms! && r.p95Ms! <= r.p99Ms!).toBe(true);
    }
  });

  it('reads whole hours from 1h rows only (no 5m or 1m rows for them)', async () => {
    const rows = await t.db.query<{ g: number; minute: Date }>(
      `SELECT grain_seconds AS g, minute FROM ${rollupWindowSql('NULL', '$1', '$2')} r`, [T + HOUR, T + 3 * HOUR]);
    expect(new Set(rows.rows.map((r) => Number(r.g)))).toEqual(new Set([3600]));
  });
});
