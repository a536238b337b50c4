/**
 * Route templates under the preload, for the Express shapes real apps use, on Express 4 and 5:
 * exactly one SERVER span per request with the right `http.route`, and the duration metric
 * carrying the same route; requests that match nothing share the route `(unmatched)`.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killApps, hit, spawnApp } from '../helpers/app';
import type { RunningApp } from '../helpers/app';
import { TEMPORALITY_DELTA, TestCollector, waitFor } from '../helpers/collector';

const CASES: { path: string; method?: string; status: number; route: string }[] = [
  { path: '/health?token=s3cret', status: 200, route: '/health' },
  { path: '/api/users/42', status: 200, route: '/api/users/:userId' },
  { path: '/api/users', status: 200, route: '/api/users' },
  { path: '/items/abc', status: 200, route: '/items/:itemId' },
  { path: '/items/abc', method: 'PUT', status: 204, route: '/items/:itemId' },
  { path: '/slow/30', status: 200, route: '/slow/:ms' },
  { path: '/data/orders/7', status: 200, route: '/data/orders/:orderId' },
  { path: '/orgs/acme/members/3', status: 200, route: '/orgs/:orgId/members/:memberId' },
  { path: '/admin/stats/cpu', status: 200, route: '/admin/stats/:kind' },
  { path: '/boom/1', status: 500, route: '/boom/:id' },
];

describe.each([
  { version: '4', script: 'express4-app/app.js', service: 'lattice-fixture-express4' },
  { version: '5', script: 'express5-app/app.js', service: 'lattice-fixture-express5' },
])('express $version routes', ({ version, script, service }) => {
  let collector: TestCollector;
  let app: RunningApp;

  beforeAll(async () => {
    collector = await new TestCollector().start();
    // No OTEL_SERVICE_NAME: the name comes from the fixture's package.json.
    app = await spawnApp({ script, collectorUrl: collector.url });
    expect(app.stdout()).toContain(`express=${version}.`);
  });
  afterAll(async () => {
    await killApps();
    await collector.stop();
  });
  afterEach(() => {
    collector.requests.length = 0;
  });

  it('records one SERVER span and one duration point per request, with the matched route template', async () => {
    for (const c of CASES) {
      expect(await hit(`${app.url}${c.path}`, c.method)).toBe(c.status);
    }
    const spans = await waitFor(() => {
      const s = collector.serverSpans(service);
      return s.length >= CASES.length ? s : undefined;
    });
    expect(spans).toBeDefined();
    // Wait for the metrics too (delta: each request is in exactly one export), so that nothing
    // from this test arrives during the next one.
    const counts = await waitFor(() => {
      const byRoute = collector.countsByRoute(service);
      const total = Object.values(byRoute).reduce((a, b) => a + b, 0);
      return total >= CASES.length ? byRoute : undefined;
    });
    await new Promise((r) => setTimeout(r, 700)); // any duplicate would arrive in the next batch

    const all = collector.serverSpans(service);
    expect(all).toHaveLength(CASES.length);
    const got = all.map((s) => `${String(s.attributes['http.request.method'])} ${String(s.attributes['http.route'])}`).sort();
    const want = CASES.map((c) => `${c.method ?? 'GET'} ${c.route}`).sort();
    expect(got).toEqual(want);
    for (const s of all) expect(s.name).toBe(`${String(s.attributes['http.request.method'])} ${String(s.attributes['http.route'])}`);
    // The query string (tokens, signed URLs) is not sent; the path is.
    const health = all.find((s) => s.attributes['http.route'] === '/health');
    expect(health?.attributes['url.path']).toBe('/health');
    expect(health?.attributes['http.response.status_code']).toBe(200);
    expect(JSON.stringify(all)).not.toContain('s3cret');

    expect(counts).toEqual({
      '/health': 1,
      '/api/users/:userId': 1,
      '/api/users': 1,
      '/items/:itemId': 2,
      '/slow/:ms': 1,
      '/data/orders/:orderId': 1,
      '/orgs/:orgId/members/:memberId': 1,
      '/admin/stats/:kind': 1,
      '/boom/:id': 1,
    });
    expect(collector.countsByRoute(service)).toEqual(counts);
    const points = collector.points('http.server.request.duration').filter((p) => p.count > 0);
    for (const p of points) {
      expect(p.type).toBe('exponentialHistogram');
      expect(p.temporality).toBe(TEMPORALITY_DELTA);
      expect(p.unit).toBe('s');
      expect(p.attributes['http.response.status_code']).toBeTypeOf('number');
      expect(p.attributes['http.request.method']).toMatch(/^(GET|PUT)$/);
      expect(p.attributes['lattice.caller.service.name']).toBeUndefined();
    }
  });

  it('gives 200 distinct unmatched URLs the single route (unmatched)', async () => {
    for (let i = 0; i < 200; i++) {
      expect(await hit(`${app.url}/scan/${randomBytes(6).toString('hex')}/${i}.php`)).toBe(404);
    }
    const counts = await waitFor(() => {
      const byRoute = collector.countsByRoute(service);
      return byRoute['(unmatched)'] === 200 ? byRoute : undefined;
    });
    expect(counts).toEqual({ '(unmatched)': 200 });
    const spans = await waitFor(() => {
      const s = collector.serverSpans(service);
      return s.length >= 200 ? s : undefined;
    });
    expect(new Set(spans?.map((s) => s.attributes['http.route']))).toEqual(new Set(['(unmatched)']));
  });

  it('does not report its own OTLP exports as traffic', () => {
    const clientSpansToCollector = collector
      .spans()
      .filter((s) => String(s.attributes['url.full'] ?? s.attributes['http.url'] ?? '').includes('/v1/'));
    expect(clientSpansToCollector).toEqual([]);
    expect(collector.spans().filter((s) => s.kind !== 2)).toEqual([]);
  });
});
