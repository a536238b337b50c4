/**
 * Regression: exponential points whose bucket offsets lie far apart made every merge allocate the
 * whole index range between them — mergeExponential in memory, lattice_add_counts in the rollup
 * upsert and lattice_merge_step in SQL. Offsets 2^30 apart at scale 20 stalled the writer for 48 s
 * (the hostile-input corpus). Now every merged or stored histogram holds at most
 * MAX_EXPONENTIAL_BUCKETS (4096) buckets (downscaled until it fits), the SQL functions raise or
 * split instead of allocating, and points whose buckets lie outside the double range are rejected
 * at translation, naming the field.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { MAX_EXPONENTIAL_BUCKETS, exponentialBucketValue, mergeExponential } from '../../src/pipeline/histogram/exponential.js';
import { fitToStoredRows, toRollupRows, type RollupRow } from '../../src/pipeline/rollup.js';
import { rollUp } from '../../src/store/maintenance/rollups.js';
import { toDurationPoints } from '../../src/translate/points.js';
import type { DurationPoint, ExponentialBuckets } from '../../src/translate/rows.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { durationPoint, nanos } from '../helpers/fixtures.js';
import { jsonMetricsRequest } from '../fixtures/otlp.js';

const exp = (scale: number, offset: number, counts: number[]): ExponentialBuckets => ({ kind: 'exponential', scale, zeroCount: 0, offset, counts });
/** The start of the minute two minutes ago: both test points land in one minute. */
const MINUTE = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;

function farPoint(offset: number, at: number, scale = 6): DurationPoint {
  return durationPoint([], {
    startTimeUnixNano: nanos(MINUTE + at - 1000), timeUnixNano: nanos(MINUTE + at),
    count: 1, sum: 1, min: null, max: null, buckets: exp(scale, offset, [1]),
  });
}

function bucketTotal(rows: readonly { counts: readonly (number | string)[] }[]): number {
  return rows.reduce((n, r) => n + r.counts.reduce<number>((m, c) => m + Number(c), 0), 0);
}

describe('far-apart exponential offsets in memory', () => {
  it('mergeExponential of offsets 2^20 apart holds at most 4096 buckets (was 2^20 + 1)', () => {
    const m = mergeExponential(exp(20, 0, [1]), exp(20, 2 ** 20, [1]));
    expect(m.counts.length).toBeLessThanOrEqual(MAX_EXPONENTIAL_BUCKETS);
    expect(m.counts.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('toRollupRows keeps every row of a flush within 4096 buckets, under the layout of its scale', () => {
    const rows = toRollupRows([farPoint(0, 1000), farPoint(60_000, 2000), farPoint(10, 3000)], new Map([['checkout', '1']]));
    for (const r of rows) {
      expect(r.counts.length).toBeLessThanOrEqual(MAX_EXPONENTIAL_BUCKETS);
      expect(r.layout).toMatch(/^exponential:-?\d+$/);
    }
    expect(bucketTotal(rows)).toBe(3);
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(3);
  });

  it('fitToStoredRows moves a row that would widen a stored row past 4096 buckets to a coarser layout', () => {
    const [row] = toRollupRows([farPoint(60_000, 1000)], new Map([['checkout', '1']])) as [RollupRow];
    const stored = { ...row, layout: 'exponential:6', offset: 0, length: 1 };
    const fitted = fitToStoredRows([row], [stored]);
    expect(fitted).toHaveLength(1);
    expect(fitted[0]!.layout).not.toBe('exponential:6');
    expect(fitted[0]!.counts).toEqual([1]);
    // Nothing stored under the key: unchanged.
    expect(fitToStoredRows([row], [])).toEqual([row]);
  });
});

describe('far-apart exponential offsets at translation', () => {
  const request = (scale: number, offset: number, counts: string[]) => JSON.parse(JSON.stringify(jsonMetricsRequest([{
    name: 'http.server.duration', unit: 'ms',
    exponentialHistogram: { aggregationTemporality: 1, dataPoints: [{
      attributes: [{ key: 'http.route', value: { stringValue: '/far' } }],
      startTimeUnixNano: nanos(Date.now() - 60_000), timeUnixNano: nanos(Date.now() - 1000),
      count: String(counts.reduce((a, c) => a + Number(c), 0)), sum: 1, scale, zeroCount: '0', positive: { offset, bucketCounts: counts },
    }] },
  }]))) as Parameters<typeof toDurationPoints>[0];

  it.each([
    ['offset 2^30 at scale 20 (2^1024)', 20, 2 ** 30, ['1'], 'positive.offset should keep every bucket within the double range'],
    ['offset −2^31 at scale 6', 6, -(2 ** 31), ['1'], 'positive.offset should keep every bucket within the double range'],
    ['offset 1 at scale −10 (2^2048)', -10, 1, ['1'], 'positive.offset should keep every bucket within the double range'],
    ['16385 buckets', 6, 0, new Array<string>(16_385).fill('0').concat(['1']), 'positive.bucketCounts should have at most 16384 entries'],
  ])('rejects %s, naming the field', (_name, scale, offset, counts, reason) => {
    const result = toDurationPoints(request(scale, offset, counts), Date.now());
    expect(result.points).toHaveLength(0);
    expect(result.rejection).toEqual({ rejected: 1, message: expect.stringContaining(reason) });
  });

  it('keeps far but real offsets (2^−512 … 2^1000 at scale 20)', () => {
    for (const offset of [-(2 ** 29), 2 ** 29, 1000 * 2 ** 20 - 1]) {
      expect(toDurationPoints(request(20, offset, ['1']), Date.now()).points).toHaveLength(1);
    }
  });
});

describe.each(testBackends())('far-apart exponential offsets in the store on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); }, 120_000);
  afterEach(async () => { await t.drop(); });

  it('stores two flushes of one key with offsets 60000 apart in rows of at most 4096 buckets', async () => {
    for (const [i, offset] of [0, 60_000, 5].entries()) {
      const writer = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000 });
      await writer.write({ requests: [], durationPoints: [farPoint(offset, 1000 + i * 1000)] });
      await writer.close();
    }
    const rows = await t.db.query<{ layout: string; count: string; n: number; counts: string[] }>(
      `SELECT layout, count::text, cardinality(counts) AS n, counts::text[] AS counts FROM service_metrics_1m ORDER BY layout`);
    expect(rows.rows.length).toBeGreaterThanOrEqual(2);
    for (const r of rows.rows) expect(Number(r.n)).toBeLessThanOrEqual(MAX_EXPONENTIAL_BUCKETS);
    expect(rows.rows.reduce((n, r) => n + Number(r.count), 0)).toBe(3);
    expect(bucketTotal(rows.rows)).toBe(3);

    // The 5-minute rollup keeps one row per scale of the key; lattice_quantile merges them at the
    // smallest scale (offset 60000 at scale 6 could not join the scale-6 row at 0…5, so it went one
    // scale down, to the then empty scale-5 row: index 30000).
    await t.db.transaction((tx) => rollUp(tx, { nowMs: MINUTE + 2 * 3_600_000 }));
    const five = await t.db.query<{ layouts: number; count: number }>(
      `SELECT count(DISTINCT layout)::int AS layouts, sum(count)::int AS count FROM service_metrics_5m`);
    expect(five.rows[0]).toEqual({ layouts: rows.rows.length, count: 3 });
    const q = await t.db.query<{ p100: number }>(
      `SELECT lattice_quantile(r, 1) AS p100 FROM service_metrics_5m r`);
    expect(q.rows[0]!.p100 / exponentialBucketValue(30_000, 5)).toBeCloseTo(1, 9);
  }, 120_000);

  it('lattice_add_counts raises instead of allocating the range between offsets 100000 apart', async () => {
    await expect(t.db.query(`SELECT lattice_add_counts(0, '{1}', 100000, '{1}')`)).rejects.toThrow(/should span at most 4096 buckets/);
  });

  it('lattice_merge keeps far-apart rows of one layout as separate groups, and lattice_quantile still answers', async () => {
    const service = await t.db.query<{ id: string }>(`INSERT INTO services (name) VALUES ('far') RETURNING id::text`);
    await t.db.query(
      `INSERT INTO service_metrics_1m (service_id, minute, method, route, status_code, unit_to_ms, layout, count, bucket_offset, counts)
       SELECT $1::bigint, to_timestamp($2::float8 / 1000) + m * interval '1 minute', 'GET', '/far', 200, 1, 'exponential:6', 1, o, '{1}'
       FROM unnest('{0,1,2}'::int[], '{0,60000,3}'::int[]) AS u(m, o)`, [service.rows[0]!.id, MINUTE]);
    const merged = await t.db.query<{ groups: number; widest: number }>(
      `SELECT count(*)::int AS groups, max(cardinality(g.counts))::int AS widest
       FROM unnest((SELECT lattice_merge(r) FROM service_metrics_1m r)) AS g`);
    expect(merged.rows[0]).toEqual({ groups: 2, widest: 4 });
    const q = await t.db.query<{ p0: number; p100: number }>(
      `SELECT lattice_quantile(r, 0) AS p0, lattice_quantile(r, 1) AS p100 FROM service_metrics_1m r`);
    expect(q.rows[0]!.p0).toBeCloseTo(exponentialBucketValue(0, 6), 9);
    expect(q.rows[0]!.p100 / exponentialBucketValue(60_000, 6)).toBeCloseTo(1, 9);
  });
});
