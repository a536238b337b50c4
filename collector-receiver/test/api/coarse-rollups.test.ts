/**
 * The query routes after the rollup job built 5-minute and hourly rows (migration 002): the same
 * counts and the same steps as from the minute rows, whichever grain each step reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerApiRoutes } from '../../src/api/routes.js';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { rollUp } from '../../src/store/maintenance/rollups.js';
import type { IngestBatch } from '../../src/translate/rows.js';
import { createTestDb, testBackends, TEST_DATABASE_URL, skipReason, type TestDb } from '../helpers/test-db.js';
import { durationPoint, nanos, requestRow } from '../helpers/fixtures.js';

const T0 = Date.parse('2026-11-27T08:00:00Z');
const MIN = 60_000;
type Json = Record<string, any>;

describe.each(testBackends())('query routes over hourly and 5-minute rollups on %s', (backend) => {
  let t: TestDb;
  let app: FastifyInstance;
  let base: string;
  // one metrics point per minute for 2 h (08:00–09:59), minute i holding i % 3 + 1 requests;
  // spans for the same requests (counted from the metrics), and spans only from 10:00 to 10:09
  const perMinute = (i: number) => (i % 3) + 1;

  beforeAll(async () => {
    t = await createTestDb(backend);
    const writer = createBatchingWriter(t.db, { batchRows: 100_000, maxQueuedRows: 1_000_000 });
    const points = [];
    const requests = [];
    for (let i = 0; i < 120; i++) {
      const values = Array.from({ length: perMinute(i) }, (_, k) => 10 + k);
      points.push(durationPoint(values, { serviceName: 'svc', streamKey: `s-${i}`,
        startTimeUnixNano: nanos(T0 + i * MIN), timeUnixNano: nanos(T0 + i * MIN + 30_000) }));
      for (const ms of values) requests.push(requestRow({ serviceName: 'svc', responseTimeMs: ms, startUnixMs: T0 + i * MIN + 1000 }));
    }
    for (let i = 0; i < 10; i++) requests.push(requestRow({ serviceName: 'svc', responseTimeMs: 50, startUnixMs: T0 + (122 + i) * MIN }));
    await writer.write({ requests, durationPoints: points, spans: [] } as IngestBatch);
    await writer.close();
    const run = await t.db.transaction((tx) => rollUp(tx, { nowMs: T0 + 3 * 3_600_000 }));
    expect(run.rows1h).toBeGreaterThan(0);
    app = Fastify();
    registerApiRoutes(app, { db: t.db, now: () => T0 + 3 * 3_600_000 });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  const get = async (path: string) => (await (await fetch(base + path)).json()) as Json;
  const total = Array.from({ length: 120 }, (_, i) => perMinute(i)).reduce((a, b) => a + b, 0) + 10;

  it('routes and services count every request once', async () => {
    const routes = await get(`/metrics/routes?service=svc&from=${T0}&to=${T0 + 3 * 3_600_000}`);
    expect(routes.routes[0].requestCount).toBe(total);
    const stats = await get(`/metrics/stats?service=svc&from=${T0}&to=${T0 + 3 * 3_600_000}`);
    expect(stats.requestCount).toBe(total);
  });

  it.each([60, 300, 3600])('timeseries at step %s s puts each request in its step', async (step) => {
    const body = await get(`/metrics/timeseries?service=svc&from=${T0}&to=${T0 + 3 * 3_600_000}&step=${step}`);
    const points = body.points as Json[];
    expect(points).toHaveLength((3 * 3600) / step);
    const expected = new Map<number, number>();
    for (let i = 0; i < 120; i++) {
      const k = Math.floor((i * 60) / step);
      expected.set(k, (expected.get(k) ?? 0) + perMinute(i));
    }
    for (let i = 0; i < 10; i++) {
      const k = Math.floor(((122 + i) * 60) / step);
      expected.set(k, (expected.get(k) ?? 0) + 1);
    }
    expect(points.map((p) => p.requests)).toEqual(points.map((_, k) => expected.get(k) ?? 0));
  });

  it('a window starting mid-hour reads the partial hour from finer rows', async () => {
    const body = await get(`/metrics/routes?service=svc&from=${T0 + 30 * MIN}&to=${T0 + 90 * MIN}`);
    let expected = 0;
    for (let i = 30; i < 90; i++) expected += perMinute(i);
    expect(body.routes[0].requestCount).toBe(expected);
  });
});

if (!TEST_DATABASE_URL) describe.skip(`real-server tests: ${skipReason}`, () => { it('skipped', () => {}); });
