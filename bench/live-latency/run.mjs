#!/usr/bin/env node
/**
 * bench/live-latency: how long from a request to an instrumented app until the dashboard knows.
 *
 *   npm run bench:live                 (builds first; BENCH_ROUNDS=30, BENCH_CHROMIUM=auto)
 *
 * Starts the receiver (`node collector-receiver/dist/main.js`, embedded PGlite in a temp dir, or
 * DATABASE_URL when set) and one app under the SDK's defaults (`node --require @lattice/otel-register`,
 * test/e2e/apps/callee.cjs). Each round waits a random 1.2–2.2 s (so rounds fall at random points of
 * the SSE one-second throttle), sends one request and times, from just before the request:
 *   row visible    baseline: the first /metrics/stats answer (polled every 25 ms) that counts the
 *                  request — the floor set by the SDK's export delay and the group commit
 *   SSE update     the first `update` event on GET /live naming the app's service
 *   on screen      (when /usr/bin/chromium exists) the overview card in headless Chromium showing
 *                  the new request count, checked on every animation frame (waitForFunction 'raf')
 * Then BENCH_LOADS (10) page loads: navigation → overview rendered with data, next to the time of a
 * single /metrics/services answer (the page cannot be faster than its slowest first fetch).
 * Prints p50/p95/max per measure and writes bench/results/live-latency-<time>.json.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const ROUNDS = Number(process.env.BENCH_ROUNDS || 30);
const LOADS = Number(process.env.BENCH_LOADS || 10);
const CHROMIUM = '/usr/bin/chromium';
const useChromium = process.env.BENCH_CHROMIUM === '0' ? false : existsSync(CHROMIUM);
const SERVICE = 'bench-live';

/** Every child process this run started; killed on exit if still running. */
const children = [];
process.once('exit', () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });

function startProcess(args, env, pattern, what) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start in 120 s:\n${output}`)), 120_000);
    const onData = (chunk) => {
      output += chunk;
      const m = output.match(pattern);
      if (m) { clearTimeout(timer); resolvePromise({ child, match: m }); }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', (c) => { output += c; });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited ${code}:\n${output}`)); });
  });
}

function stop(child) {
  return new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r();
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => { clearTimeout(t); r(); });
    child.kill('SIGTERM');
  });
}

/** Reads GET /live and calls onUpdate(services, arrivalMs) for every `update` event. */
async function openLive(url, onUpdate) {
  const controller = new AbortController();
  const res = await fetch(`${url}/live`, { signal: controller.signal });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const at = performance.now();
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^event: update\ndata: (.*)$/m.exec(block);
          if (data) onUpdate(JSON.parse(data[1]).services, at);
        }
      }
    } catch { /* aborted */ }
  })();
  return () => controller.abort();
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'lattice-bench-live-'));
  const receiver = await startProcess(['collector-receiver/dist/main.js'],
    { PORT: '0', LATTICE_DATA_DIR: dataDir, LATTICE_LOG_LEVEL: 'warn', ...(process.env.DATABASE_URL ? {} : { DATABASE_URL: '' }) },
    /Lattice receiver on (http:\/\/\S+)/, 'receiver');
  const url = receiver.match[1];
  const app = await startProcess(['--require', join(root, 'sdk/dist/register.js'), 'collector-receiver/test/e2e/apps/callee.cjs'],
    { OTEL_SERVICE_NAME: SERVICE, OTEL_EXPORTER_OTLP_ENDPOINT: url }, /listening (\d+)/, 'app');
  const appUrl = `http://127.0.0.1:${app.match[1]}`;

  /** @type {{ resolve: (at: number) => void, after: number } | null} */
  let waitingUpdate = null;
  const closeLive = await openLive(url, (services, at) => {
    if (waitingUpdate && services.includes(SERVICE) && at >= waitingUpdate.after) {
      waitingUpdate.resolve(at);
      waitingUpdate = null;
    }
  });

  let browser; let page;
  if (useChromium) {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    page = await browser.newPage();
    await page.goto(`${url}/`);
    await page.waitForSelector('body[data-ready="true"]');
  }

  // Warm-up: the first request creates the service (and its card).
  await (await fetch(`${appUrl}/things/0`)).arrayBuffer();
  for (;;) {
    const s = await fetch(`${url}/metrics/stats?service=${SERVICE}`);
    if (s.ok && (await s.json()).requestCount >= 1) break;
    await sleep(100);
  }
  let expected = 1;

  const results = { rowVisible: [], sse: [], screen: [] };
  console.error(`bench/live-latency: ${ROUNDS} rounds against ${url}${useChromium ? ' (with Chromium)' : ' (no Chromium: on-screen skipped)'}`);
  for (let i = 1; i <= ROUNDS; i++) {
    await sleep(1200 + Math.random() * 1000);
    expected++;
    const t0 = performance.now();
    const sse = new Promise((r) => { waitingUpdate = { resolve: r, after: t0 }; });
    const screen = page
      ? page.waitForFunction(([name, n]) => {
        const card = [...document.querySelectorAll('#service-cards .card')].find((c) => c.dataset.service === name);
        const text = card?.querySelector('[data-field="requestCount"]')?.textContent ?? '';
        const m = /([\d,]+) requests/.exec(text);
        return m !== null && Number(m[1].replace(/,/g, '')) >= n;
      }, [SERVICE, expected], { polling: 'raf', timeout: 30_000 }).then(() => performance.now())
      : null;
    const row = (async () => {
      for (;;) {
        const s = await fetch(`${url}/metrics/stats?service=${SERVICE}`);
        if ((await s.json()).requestCount >= expected) return performance.now();
        await sleep(25);
      }
    })();
    await (await fetch(`${appUrl}/things/${i}`)).arrayBuffer();
    const [rowAt, sseAt, screenAt] = await Promise.all([row, sse, screen]);
    results.rowVisible.push(rowAt - t0);
    results.sse.push(sseAt - t0);
    if (screenAt !== null) results.screen.push(screenAt - t0);
    process.stderr.write('.');
  }
  process.stderr.write('\n');

  // Page load: navigation → the overview rendered with data (body[data-ready]), against the floor of
  // one /metrics/services answer fetched from Node at the same moment.
  const loads = { page: [], servicesAnswer: [] };
  if (page) {
    for (let i = 0; i < LOADS; i++) {
      const t1 = performance.now();
      await (await fetch(`${url}/metrics/services`)).arrayBuffer();
      loads.servicesAnswer.push(performance.now() - t1);
      const t2 = performance.now();
      await page.goto(`${url}/?load=${i}`);
      await page.waitForSelector('body[data-ready="true"] #service-cards .card');
      loads.page.push(performance.now() - t2);
    }
  }

  closeLive();
  await browser?.close();
  await stop(app.child);
  await stop(receiver.child);
  rmSync(dataDir, { recursive: true, force: true });

  const rows = [
    ['request → row visible (baseline, 25 ms polling)', results.rowVisible],
    ['request → SSE update event', results.sse],
    ['request → on screen (Chromium)', results.screen],
    ['GET /metrics/services alone (page-load floor)', loads.servicesAnswer],
    ['page load → overview rendered (Chromium)', loads.page],
  ].filter(([, v]) => v.length > 0).map(([name, v]) => {
    const s = [...v].sort((a, b) => a - b);
    return { measure: name, n: s.length, p50: quantile(s, 0.5), p95: quantile(s, 0.95), max: s[s.length - 1] };
  });
  console.log(`\nlive latency and page load, SDK defaults (span batch delay 500 ms), ${ROUNDS} rounds, receiver on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}`);
  console.log(`${'measure'.padEnd(50)} ${'n'.padStart(4)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'max ms'.padStart(8)}`);
  for (const r of rows) {
    console.log(`${r.measure.padEnd(50)} ${String(r.n).padStart(4)} ${r.p50.toFixed(0).padStart(8)} ${r.p95.toFixed(0).padStart(8)} ${r.max.toFixed(0).padStart(8)}`);
  }
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = join(root, 'bench/results', `live-latency-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ rounds: ROUNDS, chromium: useChromium, results, loads, summary: rows }, null, 2));
  console.log(`raw numbers: ${file}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
