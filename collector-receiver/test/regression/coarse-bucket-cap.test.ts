/**
 * Regression: the rollup job built 5m/1h counts arrays with no bound (`repeat('0,', gap)` between
 * the smallest and largest bucket of a key's minute rows): two minutes of one key whose buckets
 * lie 60 000 apart — each minute row within the writer's 4096 — made a 60 001-element 5m row,
 * then 1h row. Now a key whose merge would exceed MAX_EXPONENTIAL_BUCKETS moves, all its
 * exponential rows together, to the largest scale at which they fit: one row, ≤ 4096 buckets,
 * same counts (as downscaleExponential does in memory).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { MAX_EXPONENTIAL_BUCKETS, exponentialBucketValue } from '../../src/pipeline/histogram/exponential.js';
import { rollUp } from '../../src/store/maintenance/rollups.js';
import type { DurationPoint, IngestBatch } from '../../src/translate/rows.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { durationPoint, nanos } from '../helpers/fixtures.js';

const T0 = Date.parse('2026-11-27T00:00:00Z');
const MIN = 60_000;

const far = (minute: number, offset: number): DurationPoint => durationPoint([], {
  streamKey: `far-${minute}`, startTimeUnixNano: nanos(T0 + minute * MIN), timeUnixNano: nanos(T0 + minute * MIN + 30_000),
  count: 1, sum: 1, min: null, max: null, buckets: { kind: 'exponential', scale: 6, zeroCount: 0, offset, counts: [1] },
});

describe.each(testBackends())('coarse rollups of far-apart buckets on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); }, 120_000);
  afterEach(async () => { await t.drop(); });

  it('keep 5m, 1h and per-route rows within 4096 buckets (was 60 001), one row per key, counts kept', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000 });
    await writer.write({ requests: [], durationPoints: [far(1, 0), far(2, 60_000), far(3, 7)], spans: [] } as IngestBatch);
    await writer.close();
    const minute = await t.db.query<{ n: number }>('SELECT max(cardinality(counts))::int AS n FROM service_metrics_1m');
    expect(minute.rows[0]!.n).toBe(1);

    await t.db.transaction((tx) => rollUp(tx, { nowMs: T0 + 3 * 3_600_000 }));
    const coarse = await t.db.query<{ t: string; layout: string; n: number; count: number; buckets: number; bucket_offset: number }>(
      `SELECT '5m' AS t, layout, cardinality(counts) AS n, count::int, (SELECT sum(c)::int FROM unnest(counts) c) AS buckets, bucket_offset
       FROM service_metrics_5m
       UNION ALL SELECT '1h', layout, cardinality(counts), count::int, (SELECT sum(c)::int FROM unnest(counts) c), bucket_offset FROM service_metrics_1h
       UNION ALL SELECT 'route ' || grain_seconds, layout, cardinality(counts), count::int, (SELECT sum(c)::int FROM unnest(counts) c), bucket_offset
       FROM service_route_metrics ORDER BY 1`);
    expect(coarse.rows.map((r) => r.t)).toEqual(['1h', '5m', 'route 300', 'route 3600']);
    for (const r of coarse.rows) {
      expect(r.n).toBeLessThanOrEqual(MAX_EXPONENTIAL_BUCKETS);
      expect({ count: r.count, buckets: r.buckets }).toEqual({ count: 3, buckets: 3 });
      // 60 000 ≫ 4 = 3 750 fits: scale 6 − 4
      expect(r.layout).toBe('exponential:2');
      expect(r.bucket_offset).toBe(0);
      expect(r.n).toBe(3751);
    }
    // The largest value still reads from its (coarser) bucket.
    const q = await t.db.query<{ p100: number }>('SELECT lattice_quantile(r, 1) AS p100 FROM service_metrics_1h r');
    expect(q.rows[0]!.p100 / exponentialBucketValue(3750, 2)).toBeCloseTo(1, 9);
  });
});
