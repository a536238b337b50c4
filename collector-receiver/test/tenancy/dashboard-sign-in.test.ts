/**
 * The dashboard on a receiver that requires keys, in real Chromium: the API answers 401, the page
 * shows the token form (text nodes only, no CSP violation); a wrong token is refused in place; the
 * right read token signs in (HttpOnly cookie from POST /auth/session) and the page then shows only
 * that project's services, live stream included; "Sign out" (shown only when signed in by the
 * cookie) clears it and the token form comes back. One backend (PGlite): the page is what is
 * tested. GET /auth/session, which tells the page whether to offer "Sign out", is checked over HTTP
 * on both backends.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createKeyFor, hex, sendRequest, startTenancyReceiver, type TenancyReceiver } from './harness.js';
import { testBackends } from '../helpers/test-db.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('dashboard sign-in (pglite, Chromium)', () => {
  let r: TenancyReceiver;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  let readToken = '';
  let aIngest = '';

  beforeAll(async () => {
    r = await startTenancyReceiver('pglite');
    aIngest = await createKeyFor(r.t.db, 'alpha', 'ingest');
    readToken = await createKeyFor(r.t.db, 'alpha', 'read');
    const bIngest = await createKeyFor(r.t.db, 'beta', 'ingest');
    await sendRequest(r.url, aIngest, { traceId: hex(16), service: 'alpha-web', route: '/a', caller: 'x' });
    await sendRequest(r.url, bIngest, { traceId: hex(16), service: 'beta-web', route: '/b', caller: 'y' });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage();
    page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text()); });
    page.on('pageerror', (err) => { problems.push(err.message); });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await r?.close();
  });

  it('asks for a read token, refuses a wrong one, signs in with the right one and shows that project only', async () => {
    await page.goto(`${r.url}/`);
    await page.waitForSelector('#sign-in input[name="token"]');
    expect(await page.isHidden('#app')).toBe(true);
    expect(await page.textContent('#sign-in')).toContain('lattice-receiver keys create --project NAME --kind read');
    // Not signed in: nothing to sign out of.
    await page.waitForLoadState('networkidle');
    expect(await page.$('#sign-out')).toBeNull();

    await page.fill('#sign-in input[name="token"]', aIngest);
    await page.click('#sign-in button[type="submit"]');
    await page.waitForFunction(() => /LAT_ERR_AUTH_WRONG_KIND/.test(document.getElementById('sign-in-status')?.textContent ?? ''));

    await page.fill('#sign-in input[name="token"]', readToken);
    await Promise.all([page.waitForNavigation(), page.click('#sign-in button[type="submit"]')]);
    await page.waitForSelector('body[data-ready="true"] #service-cards .card');
    const cards = await page.$$eval('#service-cards .card', (els) => els.map((e) => (e as HTMLElement).dataset.service));
    expect(cards).toEqual(['alpha-web']);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'lattice_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });

    // The live stream works with the cookie: a new commit of project alpha reaches the page.
    await page.waitForSelector('#live-state[data-state="live"]');
    await sendRequest(r.url, aIngest, { traceId: hex(16), service: 'alpha-api', route: '/n', caller: 'x' });
    await page.waitForSelector('#service-cards .card[data-service="alpha-api"]', { timeout: 30_000 });
    expect(await page.$('#service-cards .card[data-service="beta-web"]')).toBeNull();
    expect(problems).toEqual([]);
  });

  it('signs out from the header: the cookie is cleared and the token form comes back', async () => {
    // Continues from the signed-in page above.
    await page.waitForSelector('header #sign-out');
    expect(await page.textContent('#sign-out')).toBe('Sign out');
    await Promise.all([page.waitForNavigation(), page.click('#sign-out')]);
    await page.waitForSelector('#sign-in input[name="token"]');
    expect(await page.isHidden('#app')).toBe(true);
    expect(await page.$('#sign-out')).toBeNull();
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'lattice_session')).toBeUndefined();
    expect(problems).toEqual([]);
  });
});

describe.each(testBackends())('GET /auth/session on %s', (backend) => {
  let r: TenancyReceiver;
  beforeAll(async () => { r = await startTenancyReceiver(backend); }, 180_000);
  afterAll(async () => { await r?.close(); });

  const session = async (cookie?: string) => {
    const res = await fetch(`${r.url}/auth/session`, cookie === undefined ? {} : { headers: { cookie: `lattice_session=${cookie}` } });
    return { status: res.status, body: await res.json() as unknown };
  };

  it('says open with no key, then required, and signedIn only for an active read token in the cookie', async () => {
    expect(await session()).toEqual({ status: 200, body: { auth: 'open', signedIn: false } });
    const ingest = await createKeyFor(r.t.db, 'gamma', 'ingest');
    const read = await createKeyFor(r.t.db, 'gamma', 'read');
    expect(await session()).toEqual({ status: 200, body: { auth: 'required', signedIn: false } });
    expect(await session(read)).toEqual({ status: 200, body: { auth: 'required', signedIn: true } });
    expect(await session(ingest)).toEqual({ status: 200, body: { auth: 'required', signedIn: false } });
    expect(await session('lat_read_unknown')).toEqual({ status: 200, body: { auth: 'required', signedIn: false } });
  });
});
