/**
 * Migration 012 leaves half of each service_metrics_1m page free, so the writer's merges into an
 * open minute's rows (INSERT … ON CONFLICT DO UPDATE on every flush with metric points) stay on
 * their page as HOT updates instead of adding an entry to each of the table's three indexes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RollupRow } from '../../src/pipeline/rollup.js';
import { upsertRollups } from '../../src/store/queries/rollups.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { createServices } from './rollup-helpers.js';

const MINUTE = Date.parse('2026-11-27T10:00:00Z');

describe.each(testBackends())('service_metrics_1m updates (migration 012) on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(() => t.drop());

  it('merges a flush into 400 stored rows of a minute as HOT updates', async () => {
    const [serviceId] = await createServices(t.db, ['checkout']);
    const rows: RollupRow[] = Array.from({ length: 400 }, (_, i) => ({
      serviceId: serviceId!, minuteMs: MINUTE, method: 'GET', route: `/route/${String(i).padStart(3, '0')}`, statusCode: 200,
      caller: '', unitToMs: 1, layout: 'explicit:5,10,25,50,100', count: 6, sum: 60, min: 1, max: 200, zeroCount: 0,
      offset: 0, counts: [1, 1, 1, 1, 1, 1],
    }));
    const hot = await t.db.transaction(async (tx) => {
      await upsertRollups(tx, rows); // the minute's first flush: 400 new rows, packed at the fillfactor
      await upsertRollups(tx, rows); // the next flush merges into every one of them
      const { rows: [stats] } = await tx.query<{ updated: string; hot: string }>(
        `SELECT pg_stat_get_xact_tuples_updated('service_metrics_1m'::regclass)::text AS updated,
                pg_stat_get_xact_tuples_hot_updated('service_metrics_1m'::regclass)::text AS hot`);
      return { updated: Number(stats!.updated), hot: Number(stats!.hot) };
    });
    expect(hot.updated).toBe(400);
    // Pages filled to 100 % (no migration 012) leave room for a few HOT updates per page at most.
    expect(hot.hot).toBeGreaterThanOrEqual(380);
    const { rows: [merged] } = await t.db.query<{ count: string }>('SELECT sum(count)::text AS count FROM service_metrics_1m');
    expect(Number(merged!.count)).toBe(400 * 12);
  });
});
