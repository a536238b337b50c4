/**
 * The SDK never harms the host app: default protobuf export, OTEL_SDK_DISABLED, bad settings,
 * an unreachable collector, unsampled traffic, and exit on SIGTERM / when the loop runs dry.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hit, killApps, spawnApp } from '../helpers/app';
import { TestCollector, waitFor } from '../helpers/collector';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Long enough that nothing is exported on a timer during the test: only a flush sends data. */
const NO_TIMER_EXPORTS = { OTEL_BSP_SCHEDULE_DELAY: '60000', OTEL_METRIC_EXPORT_INTERVAL: '60000' };

describe('preload lifecycle', () => {
  let collector: TestCollector;

  beforeEach(async () => {
    collector = await new TestCollector().start();
  });
  afterEach(async () => {
    await killApps();
    await collector.stop();
  });

  it('exports http/protobuf by default, with OTEL_EXPORTER_OTLP_HEADERS', async () => {
    const app = await spawnApp({
      script: 'plain-app/app.js',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=k%201' },
    });
    expect(await hit(app.url)).toBe(200);
    const paths = await waitFor(() => {
      const p = new Set(collector.requests.map((r) => r.path));
      return p.has('/v1/traces') && p.has('/v1/metrics') ? p : undefined;
    });
    expect(paths).toBeDefined();
    for (const r of collector.requests) {
      expect(r.contentType).toBe('application/x-protobuf');
      expect(r.headers['x-api-key']).toBe('k 1');
    }
  });

  it('sends no logs: NodeSDK starts no log exporter, even when the app emits log records', async () => {
    const app = await spawnApp({
      script: 'plain-app/app.js',
      collectorUrl: collector.url,
      env: { ...NO_TIMER_EXPORTS, EMIT_LOG: '1', OTEL_SERVICE_NAME: 'svc' },
    });
    for (let i = 0; i < 3; i++) expect(await hit(app.url)).toBe(200);
    app.proc.kill('SIGTERM');
    await app.exited;
    // The flush on SIGTERM sent spans and metrics, so a log processor would have flushed too.
    expect(collector.serverSpans('svc')).toHaveLength(3);
    expect(collector.requests.map((r) => r.path).filter((p) => p.includes('logs'))).toEqual([]);
    expect(app.stderr()).toBe('');
  });

  it('starts nothing when OTEL_SDK_DISABLED=true', async () => {
    const app = await spawnApp({ script: 'plain-app/app.js', collectorUrl: collector.url, env: { OTEL_SDK_DISABLED: 'true' } });
    expect(await hit(app.url)).toBe(200);
    await sleep(2500);
    expect(collector.requests).toEqual([]);
    app.proc.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(app.stderr()).toBe('');
  });

  it('warns once about a bad OTEL_METRIC_EXPORT_INTERVAL and still exports metrics', async () => {
    const app = await spawnApp({
      script: 'plain-app/app.js',
      collectorUrl: collector.url,
      env: { OTEL_METRIC_EXPORT_INTERVAL: 'soon', OTEL_SERVICE_NAME: 'svc', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=ci,service.name=ignored' },
    });
    expect(await hit(app.url)).toBe(200);
    const counts = await waitFor(() => {
      const c = collector.countsByRoute('svc');
      return c['(unmatched)'] === 1 ? c : undefined;
    });
    expect(counts).toEqual({ '(unmatched)': 1 });
    for (const resource of collector.resources()) {
      expect(resource).toMatchObject({ 'service.name': 'svc', 'deployment.environment': 'ci', 'telemetry.sdk.language': 'nodejs' });
    }
    const warnings = app.stderr().split('\n').filter((l) => l.startsWith('[lattice]'));
    expect(warnings).toEqual([
      "[lattice] LAT_ERR_SDK_CONFIG: OTEL_METRIC_EXPORT_INTERVAL should be a positive integer (milliseconds), instead got 'soon'; using 1000",
    ]);
  });

  it('counts every request in the metric when traces are not sampled', async () => {
    const app = await spawnApp({
      script: 'plain-app/app.js',
      collectorUrl: collector.url,
      env: { OTEL_TRACES_SAMPLER: 'always_off', OTEL_SERVICE_NAME: 'svc' },
    });
    for (let i = 0; i < 20; i++) expect(await hit(`${app.url}/x/${i}`)).toBe(200);
    const counts = await waitFor(() => {
      const c = collector.countsByRoute('svc');
      return c['(unmatched)'] === 20 ? c : undefined;
    });
    expect(counts).toEqual({ '(unmatched)': 20 });
    expect(collector.spans()).toEqual([]);
  });

  it('keeps serving and warns once per failure kind when the collector is unreachable', async () => {
    const app = await spawnApp({
      script: 'plain-app/app.js',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_METRIC_EXPORT_INTERVAL: '300', OTEL_BSP_SCHEDULE_DELAY: '100' },
    });
    for (let i = 0; i < 10; i++) {
      expect(await hit(app.url)).toBe(200);
      await sleep(200);
    }
    const exportWarnings = app.stderr().split('\n').filter((l) => l.includes('LAT_ERR_SDK_EXPORT'));
    // ~15 failed exports of spans and metrics. Both fail with ECONNREFUSED: one line for it.
    // (Under heavy load an export may also time out: a second kind, printed once too.)
    expect(exportWarnings.filter((l) => l.includes('(ECONNREFUSED:'))).toHaveLength(1);
    expect(new Set(exportWarnings).size).toBe(exportWarnings.length);
    expect(exportWarnings.length).toBeLessThanOrEqual(2);
    const started = Date.now();
    app.proc.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('flushes on SIGTERM and dies from the signal, as the app would without the SDK', async () => {
    const bare = await spawnApp({ script: 'plain-app/app.js', nodeArgs: [] });
    bare.proc.kill('SIGTERM');
    const bareExit = await bare.exited;

    const app = await spawnApp({ script: 'plain-app/app.js', collectorUrl: collector.url, env: { ...NO_TIMER_EXPORTS, OTEL_SERVICE_NAME: 'svc' } });
    expect(await hit(app.url)).toBe(200);
    await sleep(200);
    expect(collector.requests).toEqual([]);
    const started = Date.now();
    app.proc.kill('SIGTERM');
    expect(await app.exited).toEqual(bareExit);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(collector.serverSpans('svc')).toHaveLength(1);
    expect(collector.countsByRoute('svc')).toEqual({ '(unmatched)': 1 });
  });

  it("lets the app's own SIGTERM handler decide, and still flushes", async () => {
    const bare = await spawnApp({ script: 'plain-app/app.js', nodeArgs: [], env: { HANDLE_SIGTERM: '1' } });
    bare.proc.kill('SIGTERM');
    const bareExit = await bare.exited;
    expect(bareExit).toEqual({ code: 0, signal: null });

    const app = await spawnApp({
      script: 'plain-app/app.js',
      collectorUrl: collector.url,
      env: { ...NO_TIMER_EXPORTS, HANDLE_SIGTERM: '1', OTEL_SERVICE_NAME: 'svc' },
    });
    expect(await hit(app.url)).toBe(200);
    app.proc.kill('SIGTERM');
    expect(await app.exited).toEqual(bareExit);
    expect(app.stdout()).toContain('APP SIGTERM');
    expect(collector.serverSpans('svc')).toHaveLength(1);
    expect(collector.countsByRoute('svc')).toEqual({ '(unmatched)': 1 });
  });

  it('flushes when the loop runs dry (beforeExit) and exits with code 0', async () => {
    const app = await spawnApp({
      script: 'plain-app/app.js',
      collectorUrl: collector.url,
      env: { ...NO_TIMER_EXPORTS, EXIT_AFTER_ONE: '1', OTEL_SERVICE_NAME: 'svc' },
    });
    const started = Date.now();
    expect(await hit(app.url)).toBe(200);
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(collector.serverSpans('svc')).toHaveLength(1);
    expect(collector.countsByRoute('svc')).toEqual({ '(unmatched)': 1 });
  });
});
