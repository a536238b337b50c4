/**
 * The dashboard in real Chromium (Debian's /usr/bin/chromium driven by playwright-core): a receiver
 * in this process with the demo services sending traffic; the page's numbers must equal the API's
 * (formatted by the page's own web/js/format.js), a request to a newly started instrumented app must
 * appear without a reload, a trace id must open the journey, and the strict CSP must hold (no
 * violation reported). Screenshots go to test-results/dashboard/ (gitignored);
 * UPDATE_DOCS_SCREENSHOT=1 also rewrites docs/dashboard.png for the README.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createStorage, eventually, repoRoot, spawnApp, type InProcessReceiver, type RunningProcess, type Storage } from '../e2e/harness.js';
import { startDemo, type DemoHandle } from '../../src/demo.js';
import { loadConfig, type ReceiverConfig } from '../../src/config.js';
import { openDb } from '../../src/store/open-db.js';
import { migrate } from '../../src/store/migrate.js';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { buildServer } from '../../src/server.js';
// The page's own formatting, so "equal" means the same digits the user reads.
import { formatApdex, formatCount, formatMs, formatPercent, formatRpm } from '../../web/js/format.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const skipNote = `skipped: ${CHROMIUM} is missing (install it: apt-get install -y chromium; npx playwright install does not work here)`;
if (!hasChromium) console.warn(`dashboard browser tests ${skipNote}`);

const shotsDir = join(repoRoot, 'test-results', 'dashboard');
const UPDATE_DOCS = process.env.UPDATE_DOCS_SCREENSHOT === '1';
/** A service name with markup: it must stay text on the page. */
const HOSTILE_NAME = '<img src=x onerror="window.__xss=1">live-<b>app</b>';

interface ServiceAnswer {
  name: string; requestCount: number; rpm: number | null; errorRate: number | null; p95Ms: number | null;
  apdex: number | null; health: string;
}

/** The receiver as main.ts wires it (like the e2e harness), on a given port so it can be restarted there. */
async function startReceiverAt(storage: Storage, port: number): Promise<InProcessReceiver> {
  const config: ReceiverConfig = { ...loadConfig({}), ...storage.config, port, logLevel: 'silent' };
  const db = await openDb(config);
  await migrate(db);
  const writer = createBatchingWriter(db, { batchRows: config.writeBatchRows, maxQueuedRows: config.maxQueuedRows });
  const app = await buildServer(config, { db, writer });
  await app.listen({ host: '127.0.0.1', port });
  const address = app.server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : port}`,
    db,
    async close() { await app.close(); await writer.close(); await db.close(); },
  };
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  return await res.json() as T;
}

describe.skipIf(!hasChromium)(hasChromium ? 'dashboard in Chromium' : `dashboard in Chromium (${skipNote})`, () => {
  let storage: Storage;
  let receiver: InProcessReceiver;
  let demo: DemoHandle | undefined;
  let liveApp: RunningProcess | undefined;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const demoLog: string[] = [];

  beforeAll(async () => {
    mkdirSync(shotsDir, { recursive: true });
    storage = await createStorage('pglite');
    receiver = await startReceiverAt(storage, 0);
    demo = await startDemo(receiver.url, (line) => { demoLog.push(line); });
    // Wait for the three demo services, then stop the traffic so the numbers hold still.
    await eventually(() => getJson<{ services: ServiceAnswer[] }>(`${receiver.url}/metrics/services`),
      (a) => ['gateway', 'users', 'orders'].every((n) => a.services.some((s) => s.name === n && s.requestCount >= 20)), 120_000, 500);
    // For the README screenshot, let a few minutes of traffic fill the charts first.
    if (UPDATE_DOCS) await new Promise((r) => setTimeout(r, 4 * 60_000));
    await demo.stop();
    demo = undefined;
    let previous = '';
    await eventually(async () => {
      const a = await getJson<{ services: ServiceAnswer[] }>(`${receiver.url}/metrics/services`);
      const counts = JSON.stringify(a.services.map((s) => [s.name, s.requestCount]));
      const same = counts === previous;
      previous = counts;
      await new Promise((r) => setTimeout(r, 1500));
      return same;
    }, (same) => same, 60_000, 0);

    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (err) => { problems.push(`pageerror: ${err.message}`); });
  }, UPDATE_DOCS ? 600_000 : 240_000);

  afterAll(async () => {
    await browser?.close();
    await liveApp?.stop();
    await demo?.stop();
    await receiver?.close();
    await storage?.drop();
  }, 60_000);

  it('shows every service card with the numbers /metrics/services answers', async () => {
    const started = Date.now();
    await page.goto(`${receiver.url}/`);
    await page.waitForSelector('body[data-ready="true"] #service-cards .card');
    console.log(`dashboard: overview ready ${Date.now() - started} ms after navigation (loopback, loaded machine)`);
    const api = await getJson<{ services: ServiceAnswer[] }>(`${receiver.url}/metrics/services`);
    // The page may have fetched a moment earlier: refresh it through the same path a live update takes.
    const shown = await page.$$eval('#service-cards .card', (cards) => cards.map((card) => {
      const field = (name: string) => card.querySelector(`[data-field="${name}"]`)?.textContent ?? null;
      return {
        name: (card as HTMLElement).dataset.service, health: (card as HTMLElement).dataset.health,
        rpm: field('rpm'), errorRate: field('errorRate'), p95Ms: field('p95Ms'), apdex: field('apdex'), requestCount: field('requestCount'),
      };
    }));
    expect(shown.map((s) => s.name)).toEqual(api.services.map((s) => s.name));
    for (const s of api.services) {
      expect(shown.find((x) => x.name === s.name)).toEqual({
        name: s.name, health: ['green', 'yellow', 'red'].includes(s.health) ? s.health : 'grey',
        rpm: formatRpm(s.rpm), errorRate: formatPercent(s.errorRate), p95Ms: formatMs(s.p95Ms), apdex: formatApdex(s.apdex),
        requestCount: ` · ${formatCount(s.requestCount)} requests in the last hour`,
      });
    }
    // Connections: every edge of the API is a row.
    const edges = (await getJson<{ edges: { caller: string | null; callee: string }[] }>(`${receiver.url}/metrics/connections`)).edges;
    expect(edges.length).toBeGreaterThanOrEqual(2);
    await page.waitForSelector('[data-table="connections"] tbody tr[data-row]');
    const rows = await page.$$eval('[data-table="connections"] tbody tr[data-row]', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.row).sort());
    expect(rows).toEqual(edges.map((e) => `${e.caller ?? ''}→${e.callee}`).sort());
    await page.screenshot({ path: join(shotsDir, 'overview.png'), fullPage: true });
  });

  it('shows a new service without a reload when its first request is committed, with its name as inert text', async () => {
    await page.evaluate(() => { (window as unknown as { __sameDocument: boolean }).__sameDocument = true; });
    const updatesBefore = Number(await page.evaluate(() => document.body.dataset.liveUpdates ?? '0'));
    liveApp = await spawnApp('callee.cjs', HOSTILE_NAME, receiver.url);
    const res = await fetch(`${liveApp.url}/things/1`);
    expect(res.status).toBe(200);
    // Generous bound: this is a correctness check on a loaded machine; bench/live-latency measures speed.
    await page.waitForFunction((name) => [...document.querySelectorAll<HTMLElement>('#service-cards .card')].some((c) => c.dataset.service === name),
      HOSTILE_NAME, { timeout: 30_000 });
    // The card may be drawn a moment before the live-update counter moves (CI under load saw the
    // counter read unchanged right after the card appeared): wait for it too, with the same bound.
    await page.waitForFunction((before) => Number(document.body.dataset.liveUpdates ?? '0') > before, updatesBefore, { timeout: 30_000 })
      .catch(() => { /* the assertion below reports it */ });
    const state = await page.evaluate((name) => {
      const card = [...document.querySelectorAll<HTMLElement>('#service-cards .card')].find((c) => c.dataset.service === name)!;
      return {
        sameDocument: (window as unknown as { __sameDocument?: boolean }).__sameDocument === true,
        xss: (window as unknown as { __xss?: number }).__xss,
        nameText: card.querySelector('.service-name')?.textContent,
        injected: card.querySelectorAll('img, b').length,
        updates: Number(document.body.dataset.liveUpdates ?? '0'),
      };
    }, HOSTILE_NAME);
    expect(state).toMatchObject({ sameDocument: true, xss: undefined, nameText: HOSTILE_NAME, injected: 0 });
    expect(state.updates).toBeGreaterThan(updatesBefore);
    await page.screenshot({ path: join(shotsDir, 'live-update.png'), fullPage: true });
  });

  it('shows the routes table of a service with the numbers /metrics/routes answers, sortable and filterable', async () => {
    await page.click('#service-cards .card[data-service="gateway"] a.service-name');
    await page.waitForSelector('body[data-view="service"][data-ready="true"] [data-table="routes"] tbody tr[data-row]');
    const api = await getJson<{ routes: { method: string; route: string; requestCount: number; avgMs: number | null; p95Ms: number | null; errorRate: number | null }[] }>(
      `${receiver.url}/metrics/routes?service=gateway`);
    expect(api.routes.length).toBeGreaterThanOrEqual(2);
    const cells = await page.$$eval('[data-table="routes"] tbody tr[data-row]', (trs) => trs.map((tr) => {
      const cell = (col: string) => tr.querySelector(`[data-col="${col}"]`)?.textContent;
      return { key: (tr as HTMLElement).dataset.row, requestCount: cell('requestCount'), avgMs: cell('avgMs'), p95Ms: cell('p95Ms'), errorRate: cell('errorRate') };
    }));
    expect(cells.map((c) => c.key).sort()).toEqual(api.routes.map((r) => `${r.method} ${r.route}`).sort());
    for (const r of api.routes) {
      expect(cells.find((c) => c.key === `${r.method} ${r.route}`)).toEqual({
        key: `${r.method} ${r.route}`, requestCount: formatCount(r.requestCount), avgMs: formatMs(r.avgMs), p95Ms: formatMs(r.p95Ms), errorRate: formatPercent(r.errorRate),
      });
    }
    // Sorted by requests, most first; a click on "Route" sorts by route name ascending.
    const counts = cells.map((c) => Number(c.requestCount!.replace(/,/g, '')));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    await page.click('[data-table="routes"] th[data-key="route"] button');
    const byRoute = await page.$$eval('[data-table="routes"] tbody tr[data-row] [data-col="route"]', (tds) => tds.map((td) => td.textContent ?? ''));
    expect(byRoute).toEqual([...byRoute].sort((a, b) => a.localeCompare(b)));
    await page.fill('input[aria-label="Filter routes"]', 'orders');
    const filtered = await page.$$eval('[data-table="routes"] tbody tr[data-row]', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.row ?? ''));
    expect(filtered.length).toBeGreaterThan(0);
    expect(filtered.every((k) => k.includes('orders'))).toBe(true);
    await page.fill('input[aria-label="Filter routes"]', '');
    // uPlot drew the charts from /metrics/timeseries.
    await page.waitForSelector('[data-chart="requests"][data-points] canvas');
    expect(Number(await page.getAttribute('[data-chart="latency"]', 'data-points'))).toBeGreaterThan(0);
    await page.screenshot({ path: join(shotsDir, 'service.png'), fullPage: true });
  });

  it('opens the journey of a request across services from its trace id', async () => {
    // Recent requests show the raw path (/api/users/42/orders); only that route crosses all three services.
    await page.fill('input[aria-label="Filter requests"]', '/orders');
    await page.waitForSelector('[data-table="service-recent"] tbody tr[data-row] a.trace-link');
    const href = await page.getAttribute('[data-table="service-recent"] tbody tr[data-row] a.trace-link', 'href');
    const traceId = decodeURIComponent(href!.replace('#/trace/', ''));
    await page.click('[data-table="service-recent"] tbody tr[data-row] a.trace-link');
    try {
      await page.waitForSelector('#journey .wf-row[data-span-id]', { timeout: 15_000 });
    } finally {
      await page.screenshot({ path: join(shotsDir, 'journey.png'), fullPage: true });
    }
    const api = await getJson<{ spans: { spanId: string; service: string }[] }>(`${receiver.url}/traces/${traceId}`);
    const shown = await page.$$eval('#journey .wf-row[data-span-id]', (rows) => rows.map((r) => ({ spanId: (r as HTMLElement).dataset.spanId, service: (r as HTMLElement).dataset.service })));
    expect(shown).toEqual(api.spans.map((s) => ({ spanId: s.spanId, service: s.service })));
    // gateway → users → orders: the journey crosses all three services.
    expect(new Set(shown.map((s) => s.service))).toEqual(new Set(['gateway', 'users', 'orders']));
    await page.screenshot({ path: join(shotsDir, 'journey.png'), fullPage: true });
  });

  it('says "not available" in place of a section whose API route this receiver lacks', async () => {
    const missing = JSON.stringify({ message: 'Route GET:/metrics/connections not found', error: 'Not Found', statusCode: 404 });
    await page.route('**/metrics/connections*', (route) => route.fulfill({ status: 404, contentType: 'application/json', body: missing }));
    try {
      await page.goto(`${receiver.url}/`);
      await page.waitForSelector('body[data-ready="true"] #service-cards .card');
      expect(await page.textContent('#connections .notice')).toBe(
        'Connections: not available — this receiver does not serve /metrics/connections yet.');
      // The rest of the page still works.
      expect(await page.$$eval('#service-cards .card', (cards) => cards.length)).toBeGreaterThanOrEqual(3);
    } finally {
      await page.unroute('**/metrics/connections*');
    }
  });

  it('reconnects after the receiver restarts and refetches without a reload', async () => {
    await page.goto(`${receiver.url}/`);
    await page.waitForSelector('body[data-ready="true"] #live-state[data-state="live"]');
    await page.evaluate(() => { (window as unknown as { __sameDocument: boolean }).__sameDocument = true; });
    const port = Number(new URL(receiver.url).port);
    await receiver.close();
    await page.waitForSelector('#live-state[data-state="reconnecting"]');
    receiver = await startReceiverAt(storage, port);
    // EventSource retries after the announced 2 s; the page then refetches what it shows.
    await page.waitForSelector('body[data-reconnects="1"] #live-state[data-state="live"]', { timeout: 30_000 });
    // New data after the restart reaches the page through the new stream.
    const before = await getJson<{ services: ServiceAnswer[] }>(`${receiver.url}/metrics/services`);
    const count = before.services.find((s) => s.name === HOSTILE_NAME)?.requestCount ?? 0;
    expect((await fetch(`${liveApp!.url}/things/2`)).status).toBe(200);
    await page.waitForFunction(([name, n]) => {
      const card = [...document.querySelectorAll<HTMLElement>('#service-cards .card')].find((c) => c.dataset.service === name);
      const m = /([\d,]+) requests/.exec(card?.querySelector('[data-field="requestCount"]')?.textContent ?? '');
      return m !== null && Number(m[1]!.replace(/,/g, '')) > n;
    }, [HOSTILE_NAME, count] as const, { timeout: 30_000 });
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  });

  it('reported no CSP violation or page error on any view', async () => {
    if (UPDATE_DOCS) {
      await page.goto(`${receiver.url}/#/service/gateway`);
      await page.waitForSelector('body[data-ready="true"] [data-chart="requests"][data-points] canvas');
      // The demo ran for about five minutes: the 15-minute window shows it at a readable scale.
      await page.click('button[data-window="15m"]');
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-chart="requests"]')?.dataset.points) <= 16);
      await page.waitForTimeout(500);
      await page.screenshot({ path: join(repoRoot, 'docs', 'dashboard.png') });
    }
    expect(problems).toEqual([]);
  });
});
