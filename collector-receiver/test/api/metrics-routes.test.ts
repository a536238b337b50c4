/**
 * /metrics/services, /metrics/routes, /metrics/timeseries, /metrics/connections over HTTP (port 0,
 * real fetch), on data written through the real batching writer. One database per backend holds
 * services that send spans only, metrics only, or both, plus services built for each health colour.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerApiRoutes } from '../../src/api/routes.js';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { quantileExponential, recordExponential } from '../../src/pipeline/histogram/exponential.js';
import type { DurationPoint, IngestBatch, RequestRow } from '../../src/translate/rows.js';
import { createTestDb, testBackends, TEST_DATABASE_URL, skipReason, type TestDb } from '../helpers/test-db.js';
import { durationPoint, nanos, requestRow } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** What the histogram engine answers for these values in one scale-6 ms histogram. */
function histogramQuantile(values: number[], q: number): number {
  return quantileExponential(recordExponential(values, 6), q, Math.min(...values), Math.max(...values))!;
}

type Json = Record<string, any>;

describe.each(testBackends())('query API routes on %s', (backend) => {
  let t: TestDb;
  let app: FastifyInstance;
  let base: string;

  async function write(requests: RequestRow[], durationPoints: DurationPoint[] = []): Promise<void> {
    const writer = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000 });
    await writer.write({ requests, durationPoints, spans: [] } as IngestBatch);
    await writer.close();
  }

  /** Pins a service's first/last-seen times (the writer sets them to the wall clock). */
  async function seen(name: string, lastSeenMs: number, createdMs = NOW - 3 * 3_600_000): Promise<void> {
    await t.db.query('UPDATE services SET last_seen_at = to_timestamp($2::float8 / 1000), created_at = to_timestamp($3::float8 / 1000) WHERE name = $1',
      [name, lastSeenMs, createdMs]);
  }

  beforeAll(async () => {
    t = await createTestDb(backend);
    const at = NOW - 10 * MIN;
    // spans only: GET /orders/:id ×4 (one 503 from an unknown caller), POST /orders ×1
    await write([
      ...[10, 20, 30, 40].map((ms, i) => requestRow({ serviceName: 'spans', responseTimeMs: ms, startUnixMs: at + i * 1000,
        statusCode: i === 3 ? 503 : 200, callerServiceName: i === 3 ? null : 'gateway' })),
      requestRow({ serviceName: 'spans', method: 'POST', route: '/orders', responseTimeMs: 100, startUnixMs: NOW - 5 * MIN,
        callerServiceName: 'gateway' }),
    ]);
    // metrics only: GET /items [10, 20, 30] from gateway, [40] 503 from nobody, in minute 11:50
    const point = (values: number[], overrides: Partial<DurationPoint>) => durationPoint(values, {
      serviceName: 'metrics', route: '/items', callerServiceName: 'gateway',
      startTimeUnixNano: nanos(at), timeUnixNano: nanos(at + 30_000), ...overrides,
    });
    await write([], [point([10, 20, 30], {}), point([40], { statusCode: 503, callerServiceName: null, streamKey: 'stream-b' })]);
    // both: the same four requests as spans and as a histogram
    await write(
      [10, 20, 30, 40].map((ms, i) => requestRow({ serviceName: 'both', responseTimeMs: ms, startUnixMs: at + i * 1000 })),
      [durationPoint([10, 20, 30, 40], { serviceName: 'both', streamKey: 'stream-both', startTimeUnixNano: nanos(at), timeUnixNano: nanos(at + 30_000) })]);
    // health: 100 requests each, 20 minutes ago
    const hundred = (name: string, ms: (i: number) => number, status: (i: number) => number) =>
      Array.from({ length: 100 }, (_, i) => requestRow({ serviceName: name, responseTimeMs: ms(i), statusCode: status(i),
        startUnixMs: NOW - 20 * MIN + i * 100 }));
    await write([
      ...hundred('h-green', () => 10, () => 200),
      ...hundred('h-yellow-errors', () => 10, (i) => (i < 2 ? 500 : 200)), // 2 %
      ...hundred('h-red-errors', () => 10, (i) => (i < 10 ? 502 : 200)), // 10 %
      ...hundred('h-yellow-apdex', (i) => (i < 40 ? 1000 : 10), () => 200), // (60 + 40/2) / 100 = 0.8
      ...hundred('h-red-apdex', (i) => (i < 70 ? 3000 : 10), () => 200), // 30 / 100 = 0.3
      ...hundred('h-grey', () => 10, () => 200),
    ]);
    // metrics-only Apdex: 100 ms satisfied, 1000 ms tolerating, 3000 ms frustrated → 0.5
    await write([], [durationPoint([100, 1000, 3000], { serviceName: 'h-metrics-apdex', streamKey: 'stream-apdex',
      startTimeUnixNano: nanos(NOW - 21 * MIN), timeUnixNano: nanos(NOW - 20 * MIN) })]);

    await seen('spans', NOW - 90_000);
    for (const name of ['metrics', 'both', 'h-green', 'h-yellow-errors', 'h-red-errors', 'h-yellow-apdex', 'h-red-apdex', 'h-metrics-apdex']) {
      await seen(name, NOW - 10_000);
    }
    await seen('h-grey', NOW - 200_000);

    app = Fastify();
    registerApiRoutes(app, { db: t.db, now: () => NOW });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  const get = async (path: string, at = base) => {
    const res = await fetch(at + path);
    return { status: res.status, body: await res.json() as Json };
  };

  describe('GET /metrics/routes', () => {
    it('spans only: exact per-route stats and callers, most requests first', async () => {
      const { status, body } = await get('/metrics/routes?service=spans');
      expect(status).toBe(200);
      expect(body).toEqual({
        service: 'spans', from: iso(NOW - 60 * MIN), to: iso(NOW), overflowed: false,
        routes: [
          { method: 'GET', route: '/orders/:id', requestCount: 4, rpm: 4 / 60, avgMs: 25, p50Ms: 25, p95Ms: expect.closeTo(38.5, 9), p99Ms: expect.closeTo(39.7, 9),
            errorRate: 0.25, lastRequest: iso(NOW - 10 * MIN + 3000),
            callers: [{ service: 'gateway', requestCount: 3, share: 0.75 }, { service: null, requestCount: 1, share: 0.25 }] },
          { method: 'POST', route: '/orders', requestCount: 1, rpm: 1 / 60, avgMs: 100, p50Ms: 100, p95Ms: 100, p99Ms: 100,
            errorRate: 0, lastRequest: iso(NOW - 5 * MIN), callers: [{ service: 'gateway', requestCount: 1, share: 1 }] },
        ],
      });
    });

    it('metrics only: counts from the histograms, percentiles from the histogram engine', async () => {
      const { body } = await get('/metrics/routes?service=metrics');
      const values = [10, 20, 30, 40];
      expect(body.routes).toEqual([{
        method: 'GET', route: '/items', requestCount: 4, rpm: 4 / 60, avgMs: 25, errorRate: 0.25,
        p50Ms: expect.closeTo(histogramQuantile(values, 0.5), 9), p95Ms: expect.closeTo(histogramQuantile(values, 0.95), 9),
        p99Ms: expect.closeTo(histogramQuantile(values, 0.99), 9),
        lastRequest: iso(NOW - 10 * MIN), // the histogram point's minute
        callers: [{ service: 'gateway', requestCount: 3, share: 0.75 }, { service: null, requestCount: 1, share: 0.25 }],
      }]);
    });

    it('spans and metrics for the same requests: counted once, from the histograms', async () => {
      const { body } = await get('/metrics/routes?service=both');
      expect(body.routes).toHaveLength(1);
      expect(body.routes[0]).toMatchObject({ requestCount: 4, avgMs: 25, errorRate: 0, p50Ms: expect.closeTo(histogramQuantile([10, 20, 30, 40], 0.5), 9),
        callers: [{ service: null, requestCount: 4, share: 1 }] });
    });

    it.each(['spans', 'metrics', 'both'])('a single-route service (%s) agrees with /metrics/stats', async (service) => {
      const routes = (await get(`/metrics/routes?service=${service}`)).body.routes as Json[];
      const stats = (await get(`/metrics/stats?service=${service}`)).body;
      const total = routes.reduce((n, r) => n + r.requestCount, 0);
      expect(total).toBe(stats.requestCount);
      if (routes.length === 1) {
        for (const field of ['avgMs', 'p50Ms', 'p95Ms', 'p99Ms', 'errorRate']) expect(routes[0]![field]).toBeCloseTo(stats[field], 9);
      }
    });

    it('an empty window has no routes', async () => {
      const { status, body } = await get(`/metrics/routes?service=spans&from=${NOW + MIN}&to=${NOW + 2 * MIN}`);
      expect(status).toBe(200);
      expect(body.routes).toEqual([]);
    });
  });

  describe('GET /metrics/services', () => {
    const services = async (query = '') => {
      const { status, body } = await get(`/metrics/services${query}`);
      expect(status).toBe(200);
      return new Map((body.services as Json[]).map((s) => [s.name as string, s]));
    };

    it('spans only: stats, last seen, ingestion lag and sparkline', async () => {
      const s = (await services()).get('spans')!;
      expect(s).toMatchObject({
        lastSeen: iso(NOW - 90_000),
        ingestionLagMs: 210_000, // last seen 11:58:30 − newest span 11:55:00
        requestCount: 5, rpm: 5 / 60, errorRate: 0.2, avgMs: 40, p50Ms: 30, p95Ms: expect.closeTo(88, 9), p99Ms: expect.closeTo(97.6, 9),
        apdex: 1, health: 'red', routeOverflow: false,
      });
      expect(s.healthReason).toMatch(/error rate 20\.0 %/);
      const spark = s.sparkline as Json[];
      expect(spark).toHaveLength(30);
      expect(spark[0]).toEqual({ t: iso(NOW - 30 * MIN), requests: 0 });
      expect(spark.find((p) => p.t === iso(NOW - 10 * MIN))).toEqual({ t: iso(NOW - 10 * MIN), requests: 4 });
      expect(spark.find((p) => p.t === iso(NOW - 5 * MIN))).toEqual({ t: iso(NOW - 5 * MIN), requests: 1 });
      // after the last commit (11:58:30) the service was not sending: unknown, not zero
      expect(spark[29]).toEqual({ t: iso(NOW - MIN), requests: null });
      expect(spark.reduce((n, p) => n + (p.requests ?? 0), 0)).toBe(5);
    });

    it('metrics only and both: counted once, from the histograms; no span → no lag', async () => {
      const all = await services();
      expect(all.get('metrics')).toMatchObject({ requestCount: 4, errorRate: 0.25, avgMs: 25, ingestionLagMs: null,
        p99Ms: expect.closeTo(histogramQuantile([10, 20, 30, 40], 0.99), 9) });
      expect(all.get('both')).toMatchObject({ requestCount: 4, errorRate: 0, avgMs: 25 });
      expect((all.get('both')!.sparkline as Json[]).find((p) => p.t === iso(NOW - 10 * MIN))!.requests).toBe(4);
    });

    it.each([
      ['h-green', 'green', 1],
      ['h-yellow-errors', 'yellow', 1],
      ['h-red-errors', 'red', 1],
      ['h-yellow-apdex', 'yellow', 0.8],
      ['h-red-apdex', 'red', 0.3],
      ['h-metrics-apdex', 'red', 0.5],
      ['h-grey', 'grey', 1],
    ])('%s is %s (Apdex %s)', async (name, health, apdex) => {
      const s = (await services()).get(name)!;
      expect(s.health).toBe(health);
      expect(s.apdex).toBeCloseTo(apdex, 9);
      expect(typeof s.healthReason).toBe('string');
    });

    it('thresholds come from the config passed to registerApiRoutes', async () => {
      const other = Fastify();
      registerApiRoutes(other, { db: t.db, now: () => NOW, config: { healthErrorRed: 0.5, healthApdexYellow: 0.1, healthApdexRed: 0.1, apdexTMs: 5 } });
      const at = await other.listen({ port: 0, host: '127.0.0.1' });
      try {
        const all = new Map(((await get('/metrics/services', at)).body.services as Json[]).map((s) => [s.name, s]));
        expect(all.get('h-red-errors')!.health).toBe('yellow'); // 1 % ≤ 10 % < 50 %
        expect(all.get('h-green')!.apdex).toBe(0.5); // 10 ms with T = 5: tolerating
      } finally {
        await other.close();
      }
    });

    it('an empty window: count 0 and nulls, health grey, never zeros', async () => {
      const s = (await services(`?from=${NOW - 3 * 3_600_000}&to=${NOW - 2 * 3_600_000}`)).get('h-green')!;
      expect(s).toMatchObject({ requestCount: 0, rpm: null, errorRate: null, avgMs: null, p50Ms: null, p95Ms: null, p99Ms: null,
        apdex: null, health: 'grey' });
    });
  });

  describe('GET /metrics/timeseries', () => {
    const empty = (t: number) => ({ t: iso(t), requests: 0, errors: 0, errorRate: null, p50Ms: null, p95Ms: null, p99Ms: null });

    it('aligns the window to the step and keeps empty steps as nulls', async () => {
      const { status, body } = await get(`/metrics/timeseries?service=spans&from=${iso(NOW - 14.5 * MIN)}&to=${NOW}&step=300`);
      expect(status).toBe(200);
      expect(body).toEqual({
        service: 'spans', route: null, method: null, from: iso(NOW - 15 * MIN), to: iso(NOW), stepSeconds: 300,
        points: [
          empty(NOW - 15 * MIN),
          { t: iso(NOW - 10 * MIN), requests: 4, errors: 1, errorRate: 0.25, p50Ms: 25, p95Ms: expect.closeTo(38.5, 9), p99Ms: expect.closeTo(39.7, 9) },
          { t: iso(NOW - 5 * MIN), requests: 1, errors: 0, errorRate: 0, p50Ms: 100, p95Ms: 100, p99Ms: 100 },
        ],
      });
    });

    it('filters by route and method', async () => {
      const q = `/metrics/timeseries?service=spans&from=${NOW - 15 * MIN}&to=${NOW}&step=300`;
      const byRoute = (await get(`${q}&route=/orders/:id`)).body;
      expect(byRoute.route).toBe('/orders/:id');
      expect((byRoute.points as Json[]).map((p) => p.requests)).toEqual([0, 4, 0]);
      const byMethod = (await get(`${q}&method=post`)).body;
      expect(byMethod.method).toBe('POST');
      expect((byMethod.points as Json[]).map((p) => p.requests)).toEqual([0, 0, 1]);
    });

    it('default: the last hour at one minute; histogram minutes land in their step', async () => {
      const { body } = await get('/metrics/timeseries?service=metrics');
      expect(body.stepSeconds).toBe(60);
      expect(body.points).toHaveLength(60);
      const nonEmpty = (body.points as Json[]).filter((p) => p.requests > 0);
      expect(nonEmpty).toEqual([{ t: iso(NOW - 10 * MIN), requests: 4, errors: 1, errorRate: 0.25,
        p50Ms: expect.closeTo(histogramQuantile([10, 20, 30, 40], 0.5), 9), p95Ms: expect.any(Number), p99Ms: expect.any(Number) }]);
      expect(body.points[0]).toEqual(empty(NOW - 60 * MIN));
    });

    it('spans and metrics of the same minute are counted once', async () => {
      const { body } = await get(`/metrics/timeseries?service=both&from=${NOW - 15 * MIN}&to=${NOW}&step=300`);
      expect((body.points as Json[]).map((p) => p.requests)).toEqual([0, 4, 0]);
    });
  });

  describe('GET /metrics/connections', () => {
    it('caller → callee edges, unknown callers as null', async () => {
      const { status, body } = await get(`/metrics/connections?from=${NOW - 15 * MIN}&to=${NOW}`);
      expect(status).toBe(200);
      expect(body.routes).toBeUndefined();
      const edges = body.edges as Json[];
      expect(edges.find((e) => e.caller === 'gateway' && e.callee === 'spans')).toEqual({
        caller: 'gateway', callee: 'spans', requestCount: 4, rpm: 4 / 15, errorRate: 0, p95Ms: expect.closeTo(89.5, 9) });
      expect(edges.find((e) => e.caller === null && e.callee === 'spans')).toEqual({
        caller: null, callee: 'spans', requestCount: 1, rpm: 1 / 15, errorRate: 1, p95Ms: 40 });
      expect(edges.find((e) => e.caller === 'gateway' && e.callee === 'metrics')).toMatchObject({ requestCount: 3, errorRate: 0 });
      expect(edges.find((e) => e.caller === null && e.callee === 'metrics')).toMatchObject({ requestCount: 1, errorRate: 1 });
      expect(edges.find((e) => e.callee === 'both')).toMatchObject({ caller: null, requestCount: 4 });
      expect(edges.some((e) => e.callee.startsWith('h-'))).toBe(false); // their requests are 20 minutes old
    });

    it('with service: which callers send what share of each route', async () => {
      const { body } = await get(`/metrics/connections?service=spans&from=${NOW - 15 * MIN}&to=${NOW}`);
      expect(body.routes).toEqual([
        { service: 'spans', method: 'GET', route: '/orders/:id',
          callers: [{ service: 'gateway', requestCount: 3, share: 0.75 }, { service: null, requestCount: 1, share: 0.25 }] },
        { service: 'spans', method: 'POST', route: '/orders', callers: [{ service: 'gateway', requestCount: 1, share: 1 }] },
      ]);
    });

    it('an empty window has no edges', async () => {
      const { body } = await get(`/metrics/connections?from=${NOW + MIN}&to=${NOW + 2 * MIN}`);
      expect(body.edges).toEqual([]);
    });
  });

  it.each([
    '/metrics/routes?service=nope',
    '/metrics/timeseries?service=nope',
    '/metrics/connections?service=nope',
  ])('GET %s → 404 unknown service', async (path) => {
    const { status, body } = await get(path);
    expect(status).toBe(404);
    expect(body.code).toBe('LAT_ERR_API_UNKNOWN_SERVICE');
    expect(body.message).toContain("'nope'");
  });

  it.each([
    ['/metrics/services?from=yesterday', 'from'],
    ['/metrics/services?to=noon', 'to'],
    [`/metrics/services?from=${NOW}&to=${NOW - 1}`, 'from'],
    ['/metrics/routes', 'service'],
    ['/metrics/routes?service=', 'service'],
    [`/metrics/routes?service=${'x'.repeat(257)}`, 'service'],
    ['/metrics/routes?service=spans&from=x', 'from'],
    ['/metrics/timeseries', 'service'],
    ['/metrics/timeseries?service=spans&step=59', 'step'],
    ['/metrics/timeseries?service=spans&step=90', 'step'],
    ['/metrics/timeseries?service=spans&step=1m', 'step'],
    [`/metrics/timeseries?service=spans&from=${NOW - 2 * 86_400_000}&to=${NOW}&step=60`, 'step'],
    ['/metrics/timeseries?service=spans&method=G%20T', 'method'],
    [`/metrics/timeseries?service=spans&route=${'r'.repeat(1025)}`, 'route'],
    ['/metrics/timeseries?service=spans&to=1e3', 'to'],
    ['/metrics/connections?from=soon', 'from'],
    ['/metrics/connections?service=', 'service'],
  ])('GET %s → 400 naming %s', async (path, param) => {
    const { status, body } = await get(path);
    expect(status).toBe(400);
    expect(body.code).toBe('LAT_ERR_API_INVALID_PARAM');
    expect(String(body.message)).toMatch(new RegExp(`^query parameter ${param} should be`));
  });
});

if (!TEST_DATABASE_URL) describe.skip(`real-server tests: ${skipReason}`, () => { it('skipped', () => {}); });
