/**
 * The end-to-end slice: an unmodified Express app started with only
 * `--require @lattice/otel-register` → OTLP → the receiver → committed rows, on PGlite and on the
 * PostgreSQL server (when LATTICE_TEST_DATABASE_URL is set).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createStorage, e2eBackends, eventually, load, spawnApp,
  type InProcessReceiver, type RunningProcess, type Storage, startReceiver,
} from './harness.js';

if (!process.env.LATTICE_TEST_DATABASE_URL) {
  describe.skip('preload → rows on the PostgreSQL server: skipped because LATTICE_TEST_DATABASE_URL is not set', () => {
    it('needs LATTICE_TEST_DATABASE_URL', () => {});
  });
}

describe.each(e2eBackends())('preload → receiver → rows (%s)', (backend) => {
  let storage: Storage;
  let receiver: InProcessReceiver;
  const apps: RunningProcess[] = [];

  beforeAll(async () => {
    storage = await createStorage(backend);
    receiver = await startReceiver(storage);
  });

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await receiver?.close();
    await storage?.drop();
  });

  const rowsOf = async (service: string) => (await receiver.db.query<{
    method: string; path: string; status_code: number; response_time_ms: number;
    caller_service_name: string | null; trace_id: string; span_id: string; parent_span_id: string | null;
  }>(
    `SELECT m.method, m.path, m.status_code, m.response_time_ms, m.caller_service_name,
            m.trace_id, m.span_id, m.parent_span_id
       FROM service_metrics m JOIN services s ON s.id = m.service_id
      WHERE s.name = $1`, [service])).rows;

  const countOf = async (service: string) => (await rowsOf(service)).length;

  it('stores exactly one row per request, with route templates, within 5 s', async () => {
    const app = await spawnApp('shop.cjs', `shop-${backend}`, receiver.url);
    apps.push(app);
    const plan: Array<[string, string, number]> = [];
    for (let i = 0; i < 10; i++) plan.push(['GET', `/api/carts/c${i}/items/i${i}`, 200]);
    for (let i = 0; i < 5; i++) plan.push(['DELETE', `/api/carts/c${i}/items/i${i}`, 204]);
    for (let i = 0; i < 10; i++) plan.push(['GET', `/api/products/sku-${i}`, 200]);
    for (let i = 0; i < 3; i++) plan.push(['GET', '/api/boom', 500]);
    for (let i = 0; i < 5; i++) plan.push(['GET', '/health', 200]);
    for (let i = 0; i < 7; i++) plan.push(['GET', `/no/such/page-${i}`, 404]);

    for (const [method, path, status] of plan) {
      const res = await fetch(app.url + path, { method });
      await res.arrayBuffer();
      expect(res.status, `${method} ${path}`).toBe(status);
    }
    const sentAt = Date.now();
    await eventually(() => countOf(`shop-${backend}`), (n) => n >= plan.length, 5_000);
    const latencyMs = Date.now() - sentAt;
    console.log(`[e2e ${backend}] last request → all ${plan.length} rows committed in ${latencyMs} ms`);

    // Exactly one: nothing more arrives after another export cycle.
    await new Promise((r) => setTimeout(r, 2_500));
    const rows = await rowsOf(`shop-${backend}`);
    expect(rows).toHaveLength(plan.length);

    const tally = new Map<string, number>();
    for (const row of rows) {
      const key = `${row.method} ${row.path} ${row.status_code}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    expect(Object.fromEntries(tally)).toEqual({
      'GET /api/carts/:cartId/items/:itemId 200': 10,
      'DELETE /api/carts/:cartId/items/:itemId 204': 5,
      'GET /api/products/:sku 200': 10,
      'GET /api/boom 500': 3,
      'GET /health 200': 5,
      'GET (unmatched) 404': 7,
    });
    for (const row of rows) {
      expect(row.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(row.span_id).toMatch(/^[0-9a-f]{16}$/);
      expect(row.response_time_ms).toBeGreaterThan(0);
      expect(row.caller_service_name).toBeNull();
    }

    // The API agrees with the rows (the app sends spans and metrics: never double counted).
    const stats = await eventually(
      async () => (await (await fetch(`${receiver.url}/metrics/stats?service=shop-${backend}`)).json()) as { requestCount: number; errorRate: number },
      (s) => s.requestCount === plan.length, 5_000);
    expect(stats.errorRate).toBeCloseTo(3 / plan.length, 6);
  });

  it('gives 10,000 distinct unmatched URLs one route value', async () => {
    const service = `scanner-target-${backend}`;
    const app = await spawnApp('shop.cjs', service, receiver.url);
    apps.push(app);
    const statuses = await load(10_000, 32, (i) => `${app.url}/scan/${i}/${Math.random().toString(36).slice(2)}.php`);
    expect(Object.fromEntries(statuses)).toEqual({ 404: 10_000 });
    await eventually(() => countOf(service), (n) => n >= 10_000, 90_000, 250);
    const paths = await receiver.db.query<{ path: string; n: string }>(
      `SELECT m.path, count(*) AS n FROM service_metrics m JOIN services s ON s.id = m.service_id
        WHERE s.name = $1 GROUP BY m.path`, [service]);
    expect(paths.rows.map((r) => [r.path, Number(r.n)])).toEqual([['(unmatched)', 10_000]]);
  }, 300_000);

  it('puts the caller\'s name in the callee\'s rows and shares one trace id (fetch and http.request)', async () => {
    const callee = await spawnApp('callee.cjs', `callee-${backend}`, receiver.url);
    apps.push(callee);
    const caller = await spawnApp('caller.cjs', `caller-${backend}`, receiver.url, { CALLEE_URL: callee.url });
    apps.push(caller);
    for (let i = 0; i < 5; i++) {
      expect((await fetch(`${caller.url}/via-fetch/${i}`)).status).toBe(200);
      expect((await fetch(`${caller.url}/via-http/${i}`)).status).toBe(200);
    }
    await eventually(async () => [await countOf(`caller-${backend}`), await countOf(`callee-${backend}`)],
      ([a, b]) => a === 10 && b === 10, 10_000);
    const callerRows = await rowsOf(`caller-${backend}`);
    const calleeRows = await rowsOf(`callee-${backend}`);

    // Called from the test's plain fetch: no caller.
    expect(callerRows.every((r) => r.caller_service_name === null)).toBe(true);
    expect(new Set(callerRows.map((r) => r.path))).toEqual(new Set(['/via-fetch/:id', '/via-http/:id']));
    expect(calleeRows.every((r) => r.caller_service_name === `caller-${backend}`)).toBe(true);
    expect(calleeRows.every((r) => r.path === '/things/:id')).toBe(true);

    const callerTraces = new Set(callerRows.map((r) => r.trace_id));
    for (const row of calleeRows) {
      expect(callerTraces.has(row.trace_id), `callee trace ${row.trace_id} also in the caller`).toBe(true);
      expect(row.parent_span_id).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(new Set(calleeRows.map((r) => r.trace_id)).size).toBe(10);
  }, 60_000);
});
