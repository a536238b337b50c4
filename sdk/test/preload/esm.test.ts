/**
 * ESM apps: `--import` and `--require` both instrument node:http and Express imported from ESM
 * (Express routes and the outgoing http.get with caller baggage).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hit, killApps, REGISTER, spawnApp } from '../helpers/app';
import { TestCollector, waitFor } from '../helpers/collector';

describe('ESM app', () => {
  let collector: TestCollector;

  beforeEach(async () => {
    collector = await new TestCollector().start();
  });
  afterEach(async () => {
    await killApps();
    await collector.stop();
  });

  it.each([
    { flag: '--import', version: '4', script: 'esm-app/app.mjs', nodeArgs: ['--import', REGISTER] },
    { flag: '--require', version: '4', script: 'esm-app/app.mjs', nodeArgs: ['--require', REGISTER] },
    { flag: '--import', version: '5', script: 'esm-app/app-express5.mjs', nodeArgs: ['--import', REGISTER] },
    { flag: '--require', version: '5', script: 'esm-app/app-express5.mjs', nodeArgs: ['--require', REGISTER] },
    // A CommonJS entry: no loader hook; the ESM app arrives through import().
    { flag: '--require from a CommonJS entry', version: '5', script: 'express5-app/esm-via-import.cjs', nodeArgs: ['--require', REGISTER] },
  ])('is instrumented with $flag (Express $version)', async ({ version, script, nodeArgs }) => {
    const downstream = await spawnApp({ script: 'express5-app/app.js', collectorUrl: collector.url, env: { OTEL_SERVICE_NAME: 'down' } });
    const app = await spawnApp({
      script,
      nodeArgs,
      collectorUrl: collector.url,
      env: { DOWNSTREAM_URL: downstream.url, OTEL_SERVICE_NAME: 'lattice-fixture-esm' },
    });
    expect(app.stdout()).toContain(`express=${version}.`);
    expect(await hit(`${app.url}/api/users/1`)).toBe(200);
    expect(await hit(`${app.url}/nope/${Date.now()}`)).toBe(404);
    expect(await hit(`${app.url}/call/http`)).toBe(200);

    const spans = await waitFor(() => {
      const s = collector.serverSpans('lattice-fixture-esm');
      return s.length >= 3 ? s : undefined;
    });
    expect(spans?.map((s) => s.attributes['http.route']).sort()).toEqual(['(unmatched)', '/api/users/:userId', '/call/http']);
    const down = await waitFor(() => collector.serverSpans('down')[0]);
    expect(down?.attributes['lattice.caller.service.name']).toBe('lattice-fixture-esm');
    expect(down?.attributes['http.route']).toBe('/api/users/:userId');
    const counts = await waitFor(() => {
      const c = collector.countsByRoute('lattice-fixture-esm');
      return Object.keys(c).length >= 3 ? c : undefined;
    });
    expect(counts).toEqual({ '/api/users/:userId': 1, '(unmatched)': 1, '/call/http': 1 });
    expect(app.stderr()).not.toContain('[lattice]');
  });
});
