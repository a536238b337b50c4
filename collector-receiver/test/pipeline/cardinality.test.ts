import { vi, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { OVERFLOW_ROUTE } from '../../src/store/queries/service-routes.js';
import type { Db } from '../../src/store/db.js';
import { createTestDb, testBackends, TEST_DATABASE_URL, type TestDb } from '../helpers/test-db.js';
import { durationPoint, nanos, requestRow } from '../helpers/fixtures.js';

// Storage-heavy on a shared 2-core machine: generous limits (a slow box is not a failure).
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const T = Date.parse('2026-11-27T10:00:00Z');
const route = (i: number) => `/r/${String(i).padStart(4, '0')}`;

/** Counts the guard's statements (those touching service_routes or locking services) in transactions. */
function countingDb(db: Db): Db & { statements: () => number } {
  let n = 0;
  const wrapped = Object.create(db) as Db & { statements: () => number };
  wrapped.transaction = (fn) => db.transaction((tx) => fn({
    query: (text, values) => {
      if (/service_routes|FOR NO KEY UPDATE/.test(text)) n++;
      return tx.query(text, values);
    },
  }));
  wrapped.statements = () => n;
  return wrapped;
}

describe.each(testBackends())('route cardinality guard on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(async () => { await t.drop(); });

  const routesOf = async (service = 'checkout') => (await t.db.query<{ path: string; n: number }>(
    `SELECT m.path, count(*)::int AS n FROM service_metrics m JOIN services s ON s.id = m.service_id
     WHERE s.name = $1 GROUP BY 1 ORDER BY 1`, [service])).rows;
  const overflowAt = async (service = 'checkout') => (await t.db.query<{ at: Date | null }>(
    'SELECT route_overflow_at AS at FROM services WHERE name = $1', [service])).rows[0]?.at ?? null;

  it('stores route 1001 of a service (default limit 1000) as (overflow) in spans and rollups, and flags the service', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 10_000, maxQueuedRows: 100_000 });
    const requests = Array.from({ length: 1001 }, (_, i) => requestRow({ route: route(i), startUnixMs: T + i }));
    const points = [durationPoint([5, 6], { route: route(1000), streamKey: 's-1000', timeUnixNano: nanos(T + 30_000) }),
      durationPoint([7], { route: route(3), streamKey: 's-3', timeUnixNano: nanos(T + 30_000) })];
    await writer.write({ requests, durationPoints: points, spans: [] });
    await writer.close();
    const stored = await routesOf();
    expect(stored).toHaveLength(1001);
    expect(stored.find((r) => r.path === route(1000))).toBeUndefined();
    expect(stored.find((r) => r.path === OVERFLOW_ROUTE)).toEqual({ path: OVERFLOW_ROUTE, n: 1 });
    const rollups = await t.db.query<{ route: string; count: string }>('SELECT route, count FROM service_metrics_1m ORDER BY route');
    expect(rollups.rows.map((r) => [r.route, Number(r.count)])).toEqual([[OVERFLOW_ROUTE, 2], [route(3), 1]]);
    expect(await overflowAt()).not.toBeNull();
    // Other services are not affected.
    const other = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
    await other.write({ requests: [requestRow({ serviceName: 'billing', route: '/pay' })], durationPoints: [], spans: [] });
    await other.close();
    expect(await routesOf('billing')).toEqual([{ path: '/pay', n: 1 }]);
    expect(await overflowAt('billing')).toBeNull();
  });

  it('keeps known routes, overflows new ones, also for a second replica that never saw the service', async () => {
    const first = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000, maxRoutesPerService: 3 });
    await first.write({ requests: [0, 1, 2].map((i) => requestRow({ route: route(i), startUnixMs: T })), durationPoints: [], spans: [] });
    await first.close();
    expect(await overflowAt()).toBeNull();
    const second = createBatchingWriter(await t.openAnother(), { batchRows: 100, maxQueuedRows: 1000, maxRoutesPerService: 3 });
    await second.write({ requests: [route(1), route(7)].map((r) => requestRow({ route: r, startUnixMs: T })), durationPoints: [], spans: [] });
    await second.write({ requests: [route(2), route(8)].map((r) => requestRow({ route: r, startUnixMs: T })), durationPoints: [], spans: [] });
    await second.close();
    expect(await routesOf()).toEqual([
      { path: OVERFLOW_ROUTE, n: 2 }, { path: route(0), n: 1 }, { path: route(1), n: 2 }, { path: route(2), n: 2 }]);
    expect(await overflowAt()).not.toBeNull();
  });

  it('asks the database only for routes it has not seen: a flush of known routes runs no guard statement', async () => {
    const db = countingDb(t.db);
    const writer = createBatchingWriter(db, { batchRows: 1000, maxQueuedRows: 10_000, maxRoutesPerService: 50 });
    const batch = () => ({ requests: Array.from({ length: 200 }, (_, i) => requestRow({ route: route(i % 20), startUnixMs: T })), durationPoints: [], spans: [] });
    await writer.write(batch());
    expect(db.statements()).toBe(2); // lock the service row + admit the 20 routes
    await writer.write(batch());
    await writer.write(batch());
    expect(db.statements()).toBe(2); // known routes: no guard statement
    await writer.write({ requests: [requestRow({ route: route(99), startUnixMs: T })], durationPoints: [], spans: [] });
    expect(db.statements()).toBe(4); // one new route: one more lock + admit
    await writer.close();
    expect((await routesOf()).reduce((a, r) => a + r.n, 0)).toBe(601);
  });
});

describe.skipIf(!TEST_DATABASE_URL)('route cardinality guard across replicas (real server)', () => {
  it('two replicas admitting different new routes at once never exceed the limit together', async () => {
    const t = await createTestDb('postgres');
    try {
      const limit = 10;
      const a = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000, maxRoutesPerService: limit });
      const b = createBatchingWriter(await t.openAnother(), { batchRows: 1000, maxQueuedRows: 10_000, maxRoutesPerService: limit });
      const batch = (from: number) => ({ requests: Array.from({ length: 8 }, (_, i) => requestRow({ route: route(from + i), startUnixMs: T })), durationPoints: [], spans: [] });
      await Promise.all([a.write(batch(0)), b.write(batch(100)), a.write(batch(200)), b.write(batch(300))]);
      await Promise.all([a.close(), b.close()]);
      const routes = await t.db.query<{ path: string }>('SELECT DISTINCT path FROM service_metrics');
      const named = routes.rows.filter((r) => r.path !== OVERFLOW_ROUTE);
      expect(named).toHaveLength(limit);
      const listed = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM service_routes');
      expect(listed.rows[0]!.n).toBe(limit);
      const total = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM service_metrics');
      expect(total.rows[0]!.n).toBe(32);
    } finally {
      await t.drop();
    }
  });
});
