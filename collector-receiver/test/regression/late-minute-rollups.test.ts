/**
 * Regression: 1-minute rows written more than the rollup job's lookback (15 minutes) behind the
 * 5-minute watermark never reached service_metrics_5m / _1h (nor the per-route rows): windows read
 * the stale coarse row and missed them. Now a trigger on service_metrics_1m notes the 5-minute
 * periods written below the watermark (lattice_rollup_late, migration 007) and the next pass
 * rebuilds them at every level, however late.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { rollUp } from '../../src/store/maintenance/rollups.js';
import { selectRouteStats } from '../../src/store/queries/routes.js';
import type { DurationPoint, IngestBatch } from '../../src/translate/rows.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { durationPoint, nanos } from '../helpers/fixtures.js';

const T0 = Date.parse('2026-11-27T00:00:00Z');
const MIN = 60_000;
const HOUR = 3_600_000;

const at = (minute: number, stream: string, values: number[], statusCode = 200): DurationPoint =>
  durationPoint(values, { streamKey: stream, statusCode, startTimeUnixNano: nanos(T0 + minute * MIN), timeUnixNano: nanos(T0 + minute * MIN + 30_000) });

describe.each(testBackends())('1m rows arriving long after their period was rolled up, on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); }, 120_000);
  afterEach(async () => { await t.drop(); });

  const write = async (points: DurationPoint[]) => {
    const writer = createBatchingWriter(t.db, { batchRows: 10_000, maxQueuedRows: 100_000 });
    await writer.write({ requests: [], durationPoints: points, spans: [] } as IngestBatch);
    await writer.close();
  };
  const totals = async () => (await t.db.query<{ grain: string; count: number }>(
    `SELECT '5m' AS grain, sum(count)::int AS count FROM service_metrics_5m WHERE minute < $1
     UNION ALL SELECT '1h', sum(count)::int FROM service_metrics_1h WHERE minute < $1
     UNION ALL SELECT 'route ' || grain_seconds, sum(count)::int FROM service_route_metrics WHERE minute < $1 GROUP BY grain_seconds
     ORDER BY 1`, [new Date(T0 + HOUR)])).rows;

  it('reach the 5m, 1h and per-route rows on the next pass (2 h late; was: never)', async () => {
    await write(Array.from({ length: 60 }, (_, i) => at(i, `s-${i}`, [10, 20])));
    await t.db.transaction((tx) => rollUp(tx, { nowMs: T0 + 2 * HOUR }));
    const before = await totals();
    expect(before.map((r) => r.count)).toEqual([120, 120, 120, 120]);

    // Two hours later: a retried export for minute 10 (a new stream) and more for an existing key.
    await write([at(10, 'late-a', [30, 40, 50]), at(10, 'late-b', [900, 900, 900], 500)]);
    const noted = await t.db.query<{ period: Date }>('SELECT period FROM lattice_rollup_late');
    expect(noted.rows.map((r) => r.period.getTime())).toEqual([T0 + 10 * MIN]);

    const run = await t.db.transaction((tx) => rollUp(tx, { nowMs: T0 + 2 * HOUR + 30_000 }));
    expect(run.latePeriods).toBe(1);
    expect((await totals()).map((r) => [r.grain, r.count])).toEqual([['1h', 126], ['5m', 126], ['route 300', 126], ['route 3600', 126]]);
    expect((await t.db.query('SELECT 1 FROM lattice_rollup_late')).rows).toHaveLength(0);

    // Reads through the coarse rows see them: hourly rows for the hour, errors included.
    const stats = await t.db.query<{ n: number }>(
      `SELECT sum(count)::int AS n FROM lattice_rollups(NULL, $1, $2)`, [new Date(T0), new Date(T0 + HOUR)]);
    expect(stats.rows[0]!.n).toBe(126);
    const id = (await t.db.query<{ id: string }>('SELECT id::text AS id FROM services')).rows[0]!.id;
    const [route] = await selectRouteStats(t.db, id, T0, T0 + HOUR);
    expect(route!.requestCount).toBe(126);
    expect(route!.errorRate).toBeCloseTo(3 / 126, 12);
    expect(route!.p99Ms).toBeGreaterThan(800);
  });

  it('reach the 6-hour route row too once its period is built', async () => {
    await write(Array.from({ length: 6 }, (_, h) => at(h * 60 + 5, `h-${h}`, [10])));
    await t.db.transaction((tx) => rollUp(tx, { nowMs: T0 + 7 * HOUR }));
    const sixHours = async () => (await t.db.query<{ n: number }>(
      'SELECT sum(count)::int AS n FROM service_route_metrics WHERE grain_seconds = 21600')).rows[0]!.n;
    expect(await sixHours()).toBe(6);
    await write([at(10, 'late', [20, 30])]);
    await t.db.transaction((tx) => rollUp(tx, { nowMs: T0 + 7 * HOUR + 30_000 }));
    expect(await sixHours()).toBe(8);
    const id = (await t.db.query<{ id: string }>('SELECT id::text AS id FROM services')).rows[0]!.id;
    expect((await selectRouteStats(t.db, id, T0, T0 + 6 * HOUR))[0]!.requestCount).toBe(8);
  });

  it('notes nothing for rows of periods not rolled up yet', async () => {
    await write([at(0, 's-0', [10])]);
    await t.db.transaction((tx) => rollUp(tx, { nowMs: T0 + 20 * MIN }));
    await write([at(30, 's-30', [10])]);
    expect((await t.db.query('SELECT 1 FROM lattice_rollup_late')).rows).toHaveLength(0);
  });
});
