import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { selectServiceStats } from '../../src/store/queries/stats.js';
import { findServiceId } from '../../src/store/queries/services.js';
import { selectRecentRequests } from '../../src/store/queries/requests.js';
import type { IngestBatch } from '../../src/translate/rows.js';
import { createTestDb, testBackends, TEST_DATABASE_URL, skipReason, type TestDb } from '../helpers/test-db.js';
import { durationPoint, nanos, requestRow } from '../helpers/fixtures.js';

const T = Date.parse('2026-11-27T10:00:00Z');
const WINDOW = { from: T, to: T + 10 * 60_000 };

describe.each(testBackends())('selectServiceStats on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(async () => { await t.drop(); });

  async function write(batch: Partial<IngestBatch>): Promise<void> {
    const writer = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000 });
    await writer.write({ requests: batch.requests ?? [], durationPoints: batch.durationPoints ?? [] });
    await writer.close();
  }

  async function stats(from = WINDOW.from, to = WINDOW.to) {
    const id = await findServiceId(t.db, 'checkout');
    expect(id).not.toBeNull();
    return selectServiceStats(t.db, id!, from, to);
  }

  const spans = () => [10, 20, 30, 40].map((ms, i) =>
    requestRow({ responseTimeMs: ms, statusCode: i === 3 ? 503 : 200, startUnixMs: T + 60_000 + i * 1000 }));
  const point = (values = [10, 20, 30, 40], overrides = {}) =>
    durationPoint(values, { startTimeUnixNano: nanos(T + 60_000), timeUnixNano: nanos(T + 90_000), ...overrides });

  it('spans only: exact counts, error rate, mean and percentiles', async () => {
    await write({ requests: spans() });
    const s = await stats();
    expect(s).toMatchObject({ requestCount: 4, errorRate: 0.25, avgMs: 25, p50Ms: 25 });
    expect(s.p99Ms).toBeCloseTo(39.7, 6);
  });

  it('metrics only: counts from rollups, percentiles within the scale-6 error', async () => {
    await write({ durationPoints: [point([10, 20, 30]), point([40], { statusCode: 503, streamKey: 'stream-b' })] });
    const s = await stats();
    expect(s).toMatchObject({ requestCount: 4, errorRate: 0.25, avgMs: 25 });
    expect(Math.abs(s.p50Ms! - 20) / 20).toBeLessThan(0.0055);
    expect(Math.abs(s.p99Ms! - 40) / 40).toBeLessThan(0.0055);
  });

  it('metrics in seconds are converted to milliseconds', async () => {
    await write({ durationPoints: [point([0.01, 0.02, 0.03, 0.04], { unitToMs: 1000 })] });
    const s = await stats();
    expect(s.requestCount).toBe(4);
    expect(s.avgMs).toBeCloseTo(25, 9);
    expect(Math.abs(s.p50Ms! - 20) / 20).toBeLessThan(0.012);
  });

  it('explicit-bucket metrics only: interpolated percentiles', async () => {
    await write({ durationPoints: [point([], { count: 4, sum: 100, min: 10, max: 40,
      buckets: { kind: 'explicit', bounds: [0, 5, 10, 25, 50], counts: [0, 0, 1, 1, 2, 0] } })] });
    const s = await stats();
    expect(s).toMatchObject({ requestCount: 4, avgMs: 25 });
    expect(s.p50Ms).toBeGreaterThan(10);
    expect(s.p50Ms).toBeLessThanOrEqual(25);
  });

  it('spans and metrics for the same requests are not double counted', async () => {
    await write({ requests: spans(), durationPoints: [point([10, 20, 30]), point([40], { statusCode: 503, streamKey: 'stream-b' })] });
    const s = await stats();
    expect(s).toMatchObject({ requestCount: 4, errorRate: 0.25, avgMs: 25 });
  });

  it('a window mixing span-only minutes and histogram minutes adds both into one quantile', async () => {
    const later = [100, 200].map((ms) => requestRow({ responseTimeMs: ms, startUnixMs: T + 5 * 60_000 }));
    await write({ requests: [...spans(), ...later], durationPoints: [point()] });
    const s = await stats();
    // minute T+1 from histograms (4 requests), minute T+5 from spans (2)
    expect(s.requestCount).toBe(6);
    expect(s.avgMs).toBeCloseTo((100 + 300) / 6, 9);
    expect(Math.abs(s.p99Ms! - 200) / 200).toBeLessThan(0.0055);
    expect(Math.abs(s.p50Ms! - 30) / 30).toBeLessThan(0.0055);
  });

  it('an empty window answers count 0 and nulls, never zeros', async () => {
    await write({ requests: spans() });
    expect(await stats(T + 3_600_000, T + 7_200_000)).toEqual(
      { requestCount: 0, errorRate: null, avgMs: null, p50Ms: null, p95Ms: null, p99Ms: null });
  });

  it('recent requests: newest first, limited', async () => {
    await write({ requests: spans() });
    const id = (await findServiceId(t.db, 'checkout'))!;
    const recent = await selectRecentRequests(t.db, id, 2);
    expect(recent.map((r) => r.responseTimeMs)).toEqual([40, 30]);
    expect(recent[0]).toMatchObject({ method: 'GET', path: '/orders/:id', statusCode: 503, callerServiceName: null,
      timestamp: new Date(T + 63_000).toISOString() });
  });
});

if (!TEST_DATABASE_URL) describe.skip(`real-server tests: ${skipReason}`, () => { it('skipped', () => {}); });
