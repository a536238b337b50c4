/**
 * Caller attribution: app A calls app B (fetch and http.get); B's SERVER span and B's duration
 * points carry A's service name, on the same trace. A plain client gives no caller.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hit, killApps, spawnApp } from '../helpers/app';
import type { RunningApp } from '../helpers/app';
import { SPAN_KIND_CLIENT, TestCollector, waitFor } from '../helpers/collector';

const CALLER = 'lattice.caller.service.name';

describe('caller attribution', () => {
  let collector: TestCollector;
  let a: RunningApp;
  let b: RunningApp;

  beforeAll(async () => {
    collector = await new TestCollector().start();
    b = await spawnApp({ script: 'express5-app/app.js', collectorUrl: collector.url, env: { OTEL_SERVICE_NAME: 'app-b' } });
    a = await spawnApp({
      script: 'express4-app/app.js',
      collectorUrl: collector.url,
      env: { OTEL_SERVICE_NAME: 'app-a', DOWNSTREAM_URL: b.url },
    });
  });
  afterAll(async () => {
    await killApps();
    await collector.stop();
  });

  it.each([
    { via: 'fetch', path: '/call/fetch', bRoute: '/api/users/:userId' },
    { via: 'http.get', path: '/call/http', bRoute: '/items/:itemId' },
  ])('puts the caller on the callee span and metric when A calls B via $via', async ({ path, bRoute }) => {
    expect(await hit(`${a.url}${path}`)).toBe(200);
    const pair = await waitFor(() => {
      const aSpan = collector.serverSpans('app-a').find((s) => s.attributes['http.route'] === path);
      const bSpan = collector.serverSpans('app-b').find((s) => aSpan && s.traceId === aSpan.traceId);
      return aSpan && bSpan ? { aSpan, bSpan } : undefined;
    });
    expect(pair).toBeDefined();
    expect(pair!.bSpan.attributes['http.route']).toBe(bRoute);
    expect(pair!.bSpan.attributes[CALLER]).toBe('app-a');
    expect(pair!.aSpan.attributes[CALLER]).toBeUndefined(); // the test's fetch is not instrumented
    // A's CLIENT span is on the same trace.
    const client = collector.spans().find((s) => s.kind === SPAN_KIND_CLIENT && s.traceId === pair!.aSpan.traceId);
    expect(client?.service).toBe('app-a');

    const point = await waitFor(() =>
      collector
        .points('http.server.request.duration')
        .find((p) => p.service === 'app-b' && p.attributes['http.route'] === bRoute && p.count > 0),
    );
    expect(point?.attributes[CALLER]).toBe('app-a');
    const aPoint = await waitFor(() =>
      collector.points('http.server.request.duration').find((p) => p.service === 'app-a' && p.attributes['http.route'] === path),
    );
    expect(aPoint).toBeDefined();
    expect(aPoint!.attributes[CALLER]).toBeUndefined();
  });

  it("keeps the request context in the request's 'end' listener (the handler reads the body, then calls B)", async () => {
    // The body arrives 200 ms after the headers, so the app reads it from a later packet (a body
    // in the headers' packet is read on a tick that inherits the request's context anyway).
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(`${a.url}/call/after-body`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.flushHeaders();
      setTimeout(() => req.end(JSON.stringify({ id: 11 })), 200);
    });
    expect(status).toBe(200);
    const pair = await waitFor(() => {
      const aSpan = collector.serverSpans('app-a').find((s) => s.attributes['http.route'] === '/call/after-body');
      const bSpan = collector.serverSpans('app-b').find((s) => aSpan && s.traceId === aSpan.traceId);
      return aSpan && bSpan ? { aSpan, bSpan } : undefined;
    });
    expect(pair).toBeDefined();
    expect(pair!.bSpan.attributes['http.route']).toBe('/api/users/:userId');
    expect(pair!.bSpan.attributes[CALLER]).toBe('app-a');
  });

  it('records no caller when called by an uninstrumented client', async () => {
    expect(await hit(`${b.url}/health`)).toBe(200);
    const span = await waitFor(() => collector.serverSpans('app-b').find((s) => s.attributes['http.route'] === '/health'));
    expect(span).toBeDefined();
    expect(span!.attributes[CALLER]).toBeUndefined();
    const point = await waitFor(() =>
      collector.points('http.server.request.duration').find((p) => p.service === 'app-b' && p.attributes['http.route'] === '/health'),
    );
    expect(point).toBeDefined();
    expect(point!.attributes[CALLER]).toBeUndefined();
  });
});
