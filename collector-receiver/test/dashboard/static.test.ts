import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { DASHBOARD_CSP, WEB_ROOT, registerDashboard } from '../../src/dashboard/routes.js';

describe('dashboard static files', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify();
    app.get('/metrics/stats', async () => ({ ok: true }));
    await registerDashboard(app);
    await app.ready();
  });
  afterAll(async () => { await app.close(); });

  it('serves the page at / with the CSP, nosniff and no-referrer headers', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toContain('<script type="module" src="/js/main.js">');
  });

  it('serves the modules as JavaScript and uPlot from node_modules, and nothing else from there', async () => {
    const main = await app.inject({ method: 'GET', url: '/js/main.js' });
    expect(main.statusCode).toBe(200);
    expect(main.headers['content-type']).toMatch(/javascript/);
    const uplot = await app.inject({ method: 'GET', url: '/vendor/uplot/uPlot.esm.js' });
    expect(uplot.statusCode).toBe(200);
    expect(uplot.headers['content-type']).toMatch(/javascript/);
    expect(uplot.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect((await app.inject({ method: 'GET', url: '/vendor/uplot/uPlot.min.css' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/vendor/uplot/uPlot.cjs.js' })).statusCode).not.toBe(200);
    expect((await app.inject({ method: 'GET', url: '/vendor/uplot/../package.json' })).statusCode).not.toBe(200);
  });

  it('leaves other paths to the receiver: API routes answer, unknown paths get the ordinary 404', async () => {
    expect((await app.inject({ method: 'GET', url: '/metrics/stats' })).json()).toEqual({ ok: true });
    const missing = await app.inject({ method: 'GET', url: '/no-such-page' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-security-policy']).toBeUndefined();
  });

  it('has no inline script, inline handler or style attribute in the HTML', () => {
    const html = readFileSync(join(WEB_ROOT, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/\sstyle\s*=/i);
  });

  it('never writes markup from strings in the page scripts (telemetry stays text)', () => {
    const dir = join(WEB_ROOT, 'js');
    const files = readdirSync(dir).filter((f) => f.endsWith('.js'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const source = readFileSync(join(dir, file), 'utf8');
      expect(source, file).not.toMatch(/\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|createContextualFragment|\beval\(|new Function\(/);
    }
  });
});
