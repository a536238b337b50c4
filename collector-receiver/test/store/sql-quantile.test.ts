/**
 * Migration 003's SQL `lattice_quantile` answers the API's number (selectServiceStats / the
 * window summary: same estimator, same clamping) over the rollups the writer stored, on PGlite and
 * PostgreSQL, for several windows and distributions — and that number is within 1 % of the exact
 * nearest-rank quantile of what the real SDK recorded.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { selectServiceStats } from '../../src/store/queries/stats.js';
import { findServiceId } from '../../src/store/queries/services.js';
import { quantileOfRollups, type RollupGroup } from '../../src/pipeline/histogram/window-summary.js';
import type { DurationPoint } from '../../src/translate/rows.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { durationPoint, nanos } from '../helpers/fixtures.js';
import { exactQuantile, recordWithSdk, sampleDurations, spread, type Distribution } from '../pipeline/histogram/sdk-recorder.js';

const T = Date.parse('2026-11-27T10:00:00Z');
const MINUTE = 60_000;
const QS = [0.5, 0.95, 0.99] as const;
/** Same algorithm, same order of float operations; pow/log may differ in the last ulp between V8 and libc. */
const SAME = 1e-12;
/** Generous: each case records 3 × 60 SDK points and writes them; a loaded 2-core machine is slow, not wrong. */
const SLOW = 180_000;

function expectSame(sql: number | null, api: number | null, label: string): void {
  if (api === null) { expect(sql, label).toBeNull(); return; }
  expect(sql, label).not.toBeNull();
  expect(Math.abs(sql! - api) / Math.abs(api || 1), `${label}: sql ${sql} vs api ${api}`).toBeLessThanOrEqual(SAME);
}

describe.each(testBackends())('lattice_quantile (migration 003) on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); }, SLOW);
  afterEach(async () => { await t.drop(); }, SLOW);

  async function write(points: DurationPoint[]): Promise<string> {
    const writer = createBatchingWriter(t.db, { batchRows: 5000, maxQueuedRows: 100_000 });
    await writer.write({ requests: [], durationPoints: points });
    await writer.close();
    return (await findServiceId(t.db, 'checkout'))!;
  }

  /** The SQL answer over the rollup minutes selectServiceStats reads for [from, to). */
  async function sqlQuantiles(serviceId: string, from: number, to: number): Promise<Array<number | null>> {
    const result = await t.db.query<{ p50: number | null; p95: number | null; p99: number | null }>(
      `SELECT lattice_quantile(r, 0.5) AS p50, lattice_quantile(r, 0.95) AS p95, lattice_quantile(r, 0.99) AS p99
       FROM service_metrics_1m r
       WHERE r.service_id = $1::bigint
         AND r.minute > to_timestamp($2::float8 / 1000) - interval '1 minute' AND r.minute < to_timestamp($3::float8 / 1000)`,
      [serviceId, from, to]);
    const row = result.rows[0]!;
    return [row.p50, row.p95, row.p99].map((v) => (v === null ? null : Number(v)));
  }

  async function compareWindows(serviceId: string, windows: Array<[number, number]>): Promise<void> {
    for (const [from, to] of windows) {
      const api = await selectServiceStats(t.db, serviceId, from, to);
      const sql = await sqlQuantiles(serviceId, from, to);
      const label = `${new Date(from).toISOString()}…${new Date(to).toISOString()}`;
      expectSame(sql[0]!, api.p50Ms, `p50 ${label}`);
      expectSame(sql[1]!, api.p95Ms, `p95 ${label}`);
      expectSame(sql[2]!, api.p99Ms, `p99 ${label}`);
    }
  }

  const WINDOWS: Array<[number, number]> = [
    [T, T + 60 * MINUTE],
    [T + 10 * MINUTE, T + 20 * MINUTE],
    [T + 30 * MINUTE, T + 31 * MINUTE],
    [T + 59 * MINUTE + 30_000, T + 61 * MINUTE],
  ];

  it.each<[Distribution, number, number]>([
    ['lognormal', 11, 2000],
    ['bimodal', 12, 1500],
    ['pareto', 13, 2500],
    ['constant', 14, 300],
    ['tiny', 15, 5],
  ])('%s (seed %i, n %i): equals the API for 4 windows; the hour is within 0.55 percent of exact', async (distribution, seed, n) => {
    const seconds = sampleDurations(distribution, seed, n);
    const points = await recordWithSdk({ instances: 3, minutes: 60, startMs: T, samples: spread(seconds, seed, 3, 60) });
    const serviceId = await write(points);
    await compareWindows(serviceId, WINDOWS);
    const sorted = seconds.slice().sort((a, b) => a - b);
    const sql = await sqlQuantiles(serviceId, T, T + 60 * MINUTE);
    QS.forEach((q, i) => {
      const exact = exactQuantile(sorted, q) * 1000;
      expect(Math.abs(sql[i]! - exact) / exact, `q=${q}`).toBeLessThan(0.0055);
    });
  }, SLOW);

  it('mixed sources (ms exponential at scale 4, s exponential, explicit buckets, zeros): equals the API', async () => {
    const at = (minute: number) => ({ startTimeUnixNano: nanos(T + minute * MINUTE), timeUnixNano: nanos(T + minute * MINUTE + 59_000) });
    const points = [
      durationPoint([0, 0, 3, 7.5, 12, 250], { ...at(1), streamKey: 'ms' }, 4),
      durationPoint([0.004, 0.02, 0.3, 1.2], { ...at(2), streamKey: 's', unitToMs: 1000 }, 8),
      durationPoint([], { ...at(3), streamKey: 'explicit', count: 6, sum: 300, min: 2, max: 180,
        buckets: { kind: 'explicit', bounds: [0, 5, 10, 25, 50, 75, 100, 250], counts: [0, 1, 1, 1, 0, 1, 0, 2, 0] } }),
    ];
    const serviceId = await write(points);
    await compareWindows(serviceId, [[T, T + 5 * MINUTE], [T + MINUTE, T + 3 * MINUTE], [T + 2 * MINUTE, T + 4 * MINUTE]]);
  }, SLOW);

  it('explicit buckets only (interpolation), and per-route GROUP BY equals the engine per route', async () => {
    const at = { startTimeUnixNano: nanos(T), timeUnixNano: nanos(T + 59_000) };
    const points = [
      durationPoint([], { ...at, streamKey: 'a', route: '/a', count: 10, sum: 1, min: 0.004, max: 0.6,
        unitToMs: 1000, buckets: { kind: 'explicit', bounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], counts: [1, 0, 2, 3, 1, 1, 1, 1, 0] } }),
      durationPoint([3, 5, 8, 13, 21, 34], { ...at, streamKey: 'b', route: '/b' }),
    ];
    const serviceId = await write(points);
    await compareWindows(serviceId, [[T, T + MINUTE]]);
    const rows = await t.db.query<{ route: string; p95: number }>(
      `SELECT route, lattice_quantile(r, 0.95) AS p95 FROM service_metrics_1m r WHERE service_id = $1::bigint GROUP BY route ORDER BY route`,
      [serviceId]);
    const raw = await t.db.query<{ route: string; unit_to_ms: number; layout: string; zero_count: string; bucket_offset: number; counts: Array<string | number>; min: number | null; max: number | null }>(
      'SELECT route, unit_to_ms, layout, zero_count, bucket_offset, counts, min, max FROM service_metrics_1m WHERE service_id = $1::bigint', [serviceId]);
    const engine = (route: string) => {
      const groups: RollupGroup[] = raw.rows.filter((r) => r.route === route).map((r) => ({
        unitToMs: Number(r.unit_to_ms), layout: r.layout, count: 0, errors: 0, sum: null, min: r.min, max: r.max, zeroCount: Number(r.zero_count),
        buckets: new Map(r.counts.map((c, k) => [r.bucket_offset + k, Number(c)] as [number, number]).filter(([, c]) => c > 0)),
      }));
      return quantileOfRollups(groups, 0.95);
    };
    expect(rows.rows.map((r) => r.route)).toEqual(['/a', '/b']);
    for (const r of rows.rows) expectSame(Number(r.p95), engine(r.route), r.route);
    // 10 values, rank 10 (of 10) lies in (0.5, 1] s, closed by max 0.6 s → 600 ms
    expect(Number(rows.rows[0]!.p95)).toBeCloseTo(600, 9);
  }, SLOW);

  it('works over the 5m table and over lattice_rollups() rows (migration 002) like over service_metrics_1m', async () => {
    const seconds = sampleDurations('lognormal', 21, 800);
    const serviceId = await write(await recordWithSdk({ instances: 3, minutes: 10, startMs: T, samples: spread(seconds, 21, 3, 10) }));
    // same columns, another table: a copy of the 1m rows (the function ignores period alignment)
    await t.db.query(`INSERT INTO service_metrics_5m SELECT * FROM service_metrics_1m`);
    const result = await t.db.query<{ m1: number; m5: number; stitched: number }>(
      `SELECT (SELECT lattice_quantile(r, 0.99) FROM service_metrics_1m r WHERE r.service_id = $1::bigint) AS m1,
              (SELECT lattice_quantile(r, 0.99) FROM service_metrics_5m r WHERE r.service_id = $1::bigint) AS m5,
              (SELECT lattice_quantile(r, 0.99) FROM lattice_rollups(ARRAY[$1::bigint], to_timestamp($2::float8 / 1000), to_timestamp($3::float8 / 1000)) r) AS stitched`,
      [serviceId, T, T + 10 * MINUTE]);
    const row = result.rows[0]!;
    const exact = exactQuantile(seconds.slice().sort((a, b) => a - b), 0.99) * 1000;
    expect(Math.abs(Number(row.m1) - exact) / exact).toBeLessThan(0.0055);
    expect(Number(row.m5)).toBe(Number(row.m1));
    expect(Number(row.stitched)).toBe(Number(row.m1));
  }, SLOW);

  it('lattice_merge + lattice_quantile(h, q) equal the aggregate; no rows → NULL; q outside [0, 1] is an error', async () => {
    const serviceId = await write([durationPoint([1, 2, 3, 4, 100], { startTimeUnixNano: nanos(T), timeUnixNano: nanos(T + 59_000) })]);
    const merged = await t.db.query<{ a: number; b: number; c: number; d: number | null }>(
      `SELECT (SELECT lattice_quantile(r, 0.5) FROM service_metrics_1m r) AS a,
              (SELECT lattice_quantile(lattice_merge(r), 0.5) FROM service_metrics_1m r) AS b,
              (SELECT lattice_quantile(lattice_merge(unit_to_ms, layout, zero_count, bucket_offset, counts, min, max), 0.5) FROM service_metrics_1m) AS c,
              (SELECT lattice_quantile(r, 0.5) FROM service_metrics_1m r WHERE service_id = $1::bigint + 1) AS d`, [serviceId]);
    const row = merged.rows[0]!;
    expect(Math.abs(Number(row.a) - 3) / 3).toBeLessThan(0.0055);
    expect(Number(row.b)).toBe(Number(row.a));
    expect(Number(row.c)).toBe(Number(row.a));
    expect(row.d).toBeNull();
    await expect(t.db.query('SELECT lattice_quantile(r, 1.5) FROM service_metrics_1m r')).rejects.toThrow(/q should be a number from 0 to 1, instead got '1.5'/);
    // single value: min/max clamp makes it exact
    const one = await t.db.query<{ v: number }>(
      `SELECT lattice_quantile(lattice_merge(1000::float8, 'exponential:6', 0::bigint, 0, '{1}'::bigint[], 0.2::float8, 0.2::float8), 0.99) AS v`);
    expect(Number(one.rows[0]!.v)).toBe(200);
  }, SLOW);
});
