import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerApiRoutes } from '../../src/api/routes.js';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { createTestDb, testBackends, TEST_DATABASE_URL, skipReason, type TestDb } from '../helpers/test-db.js';
import { requestRow } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-11-27T12:00:00Z');

describe.each(testBackends())('API routes on %s', (backend) => {
  let t: TestDb;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    t = await createTestDb(backend);
    const writer = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000 });
    await writer.write({
      requests: [10, 20, 30, 40].map((ms, i) => requestRow({ responseTimeMs: ms, startUnixMs: NOW - 10 * 60_000 + i, statusCode: i ? 200 : 500 })),
      durationPoints: [],
    });
    await writer.close();
    app = Fastify();
    registerApiRoutes(app, { db: t.db, now: () => NOW });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  const get = async (path: string) => {
    const res = await fetch(base + path);
    return { status: res.status, body: await res.json() as Record<string, unknown> };
  };

  it('GET /metrics/stats answers the last hour by default', async () => {
    const { status, body } = await get('/metrics/stats?service=checkout');
    expect(status).toBe(200);
    expect(body).toEqual({
      service: 'checkout', from: '2026-11-27T11:00:00.000Z', to: '2026-11-27T12:00:00.000Z',
      requestCount: 4, errorRate: 0.25, avgMs: 25, p50Ms: 25, p95Ms: expect.any(Number), p99Ms: expect.any(Number),
    });
  });

  it('accepts ISO 8601 and epoch ms, echoing ISO', async () => {
    const { status, body } = await get(`/metrics/stats?service=checkout&from=2026-11-27T13:00:00Z&to=${NOW + 7_200_000}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ from: '2026-11-27T13:00:00.000Z', to: '2026-11-27T14:00:00.000Z',
      requestCount: 0, errorRate: null, avgMs: null, p50Ms: null, p95Ms: null, p99Ms: null });
  });

  it.each([
    ['/metrics/stats?service=checkout&from=yesterday', 'from'],
    ['/metrics/stats?service=checkout&to=12:00', 'to'],
    [`/metrics/stats?service=checkout&from=${NOW}&to=${NOW - 1}`, 'from'],
    ['/metrics/stats', 'service'],
    ['/metrics/recent/checkout?limit=0', 'limit'],
    ['/metrics/recent/checkout?limit=1001', 'limit'],
    ['/metrics/recent/checkout?limit=ten', 'limit'],
  ])('GET %s → 400 naming %s', async (path, param) => {
    const { status, body } = await get(path);
    expect(status).toBe(400);
    expect(body.code).toBe('LAT_ERR_API_INVALID_PARAM');
    expect(String(body.message)).toMatch(new RegExp(`^query parameter ${param} should be`));
  });

  it.each(['/metrics/stats?service=nope', '/metrics/recent/nope'])('GET %s → 404 unknown service', async (path) => {
    const { status, body } = await get(path);
    expect(status).toBe(404);
    expect(body.code).toBe('LAT_ERR_API_UNKNOWN_SERVICE');
  });

  it('GET /metrics/recent/:serviceName lists newest first', async () => {
    const { status, body } = await get('/metrics/recent/checkout?limit=3');
    expect(status).toBe(200);
    const requests = body.requests as Array<Record<string, unknown>>;
    expect(requests.map((r) => r.responseTimeMs)).toEqual([40, 30, 20]);
    expect(Object.keys(requests[0]!).sort()).toEqual(
      ['callerServiceName', 'method', 'path', 'responseTimeMs', 'spanId', 'statusCode', 'timestamp', 'traceId']);
  });
});

if (!TEST_DATABASE_URL) describe.skip(`real-server tests: ${skipReason}`, () => { it('skipped', () => {}); });
