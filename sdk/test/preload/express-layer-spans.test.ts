/**
 * LATTICE_EXPRESS_LAYER_SPANS=true adds the stock ExpressInstrumentation's per-layer spans, while
 * `http.route` on the SERVER span and on the duration metric still comes from our route capture.
 * The cases are the ones where the stock instrumentation's own route differs from the matched
 * route (a handler that calls next() before a generic middleware answers, a 404 under a mount).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hit, killApps, spawnApp } from '../helpers/app';
import type { RunningApp } from '../helpers/app';
import { TestCollector, waitFor } from '../helpers/collector';

const SPAN_KIND_INTERNAL = 1;

const CASES: { path: string; status: number; route: string }[] = [
  { path: '/api/users/42', status: 200, route: '/api/users/:userId' },
  { path: '/data/orders/7', status: 200, route: '/data/orders/:orderId' },
  { path: '/slow/5', status: 200, route: '/slow/:ms' },
  { path: '/api/nope', status: 404, route: '(unmatched)' },
  { path: '/orgs/acme/nothing', status: 404, route: '(unmatched)' },
];

describe.each([
  { version: '4', script: 'express4-app/app.js' },
  { version: '5', script: 'express5-app/app.js' },
])('LATTICE_EXPRESS_LAYER_SPANS=true on express $version', ({ version, script }) => {
  let collector: TestCollector;
  let app: RunningApp;

  beforeAll(async () => {
    collector = await new TestCollector().start();
    app = await spawnApp({ script, collectorUrl: collector.url, env: { OTEL_SERVICE_NAME: 'layers', LATTICE_EXPRESS_LAYER_SPANS: 'true' } });
    expect(app.stdout()).toContain(`express=${version}.`);
  });
  afterAll(async () => {
    await killApps();
    await collector.stop();
  });

  it('adds middleware and handler spans, and our route wins on the SERVER span and the metric', async () => {
    for (const c of CASES) expect(await hit(`${app.url}${c.path}`)).toBe(c.status);
    const server = await waitFor(() => {
      const s = collector.serverSpans('layers');
      return s.length >= CASES.length ? s : undefined;
    });
    const counts = await waitFor(() => {
      const byRoute = collector.countsByRoute('layers');
      return Object.values(byRoute).reduce((a, b) => a + b, 0) >= CASES.length ? byRoute : undefined;
    });

    expect(server?.map((s) => `${s.name} | ${String(s.attributes['http.route'])}`).sort()).toEqual(
      CASES.map((c) => `GET ${c.route} | ${c.route}`).sort(),
    );
    expect(counts).toEqual({
      '/api/users/:userId': 1,
      '/data/orders/:orderId': 1,
      '/slow/:ms': 1,
      '(unmatched)': 2,
    });

    // The stock instrumentation is really on: layer spans in the same traces as the SERVER spans.
    const layers = collector.spans().filter((s) => s.kind === SPAN_KIND_INTERNAL && s.attributes['express.type'] !== undefined);
    const traces = new Set(server?.map((s) => s.traceId));
    expect(new Set(layers.map((s) => s.attributes['express.type']))).toEqual(new Set(['middleware', 'router', 'request_handler']));
    for (const s of layers) expect(traces.has(s.traceId)).toBe(true);
  });
});
