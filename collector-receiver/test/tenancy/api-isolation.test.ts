/**
 * Tenant A's ingest key writes land in A only, and B's read token sees none of A's data through
 * every read route — with the same service name ('web') in both projects. Each check is also
 * made with A's token, which must see A's data: an assertion that cannot fail proves nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../helpers/test-db.js';
import { jsonDurationMetric, jsonHistogramPoint, jsonMetricsRequest } from '../fixtures/otlp.js';
import { createKeyFor, hex, read, sendRequest, startTenancyReceiver, type TenancyReceiver } from './harness.js';

const A = { traceId: hex(16), service: 'web', route: '/a-secret/:id', caller: 'a-gateway' };
const A_ONLY = { traceId: hex(16), service: 'a-only', route: '/a-only', caller: 'a-gateway' };
const B = { traceId: hex(16), service: 'web', route: '/b-route', caller: 'b-gateway' };
/** Text of A's data that must never appear in an answer to B. */
const A_MARKERS = ['a-secret', 'a-gateway', 'a-only', A.traceId, A_ONLY.traceId];

const window = () => {
  const to = Date.now() + 60_000;
  return `from=${new Date(to - 3_600_000).toISOString()}&to=${new Date(to).toISOString()}`;
};

describe.each(testBackends())('API isolation between projects (%s)', (backend) => {
  let r: TenancyReceiver;
  const keys = { aIngest: '', aRead: '', bIngest: '', bRead: '' };

  beforeAll(async () => {
    r = await startTenancyReceiver(backend);
    keys.aIngest = await createKeyFor(r.t.db, 'alpha', 'ingest');
    keys.aRead = await createKeyFor(r.t.db, 'alpha', 'read');
    keys.bIngest = await createKeyFor(r.t.db, 'beta', 'ingest');
    keys.bRead = await createKeyFor(r.t.db, 'beta', 'read');
    // A's web gets two exports (6 requests), B's one (3): counts tell the projects apart too.
    await sendRequest(r.url, keys.aIngest, A);
    await sendRequest(r.url, keys.aIngest, { ...A, traceId: hex(16) });
    await sendRequest(r.url, keys.aIngest, A_ONLY);
    await sendRequest(r.url, keys.bIngest, B);
  });
  afterAll(async () => { await r?.close(); });

  it('stores each export under its key\'s project: two services named web, one per project', async () => {
    const services = await r.t.db.query<{ project: string; name: string }>(
      'SELECT p.name AS project, s.name FROM services s JOIN projects p ON p.id = s.project_id ORDER BY 1, 2');
    expect(services.rows).toEqual([
      { project: 'alpha', name: 'a-only' }, { project: 'alpha', name: 'web' }, { project: 'beta', name: 'web' },
    ]);
  });

  const routes = [
    () => `/metrics/stats?service=web&${window()}`,
    () => `/metrics/services?${window()}`,
    () => `/metrics/routes?service=web&${window()}`,
    () => `/metrics/timeseries?service=web&step=60&${window()}`,
    () => `/metrics/connections?${window()}`,
    () => `/metrics/connections?service=web&${window()}`,
    () => '/metrics/recent/web',
  ];

  it.each(routes.map((path) => [path().split('?')[0]!, path]))('%s answers B only B\'s rows and A only A\'s', async (_name, path) => {
    const asB = await read(r.url, path(), keys.bRead);
    expect(asB.status).toBe(200);
    for (const marker of A_MARKERS) expect(asB.text).not.toContain(marker);
    const asA = await read(r.url, path(), keys.aRead);
    expect(asA.status).toBe(200);
    expect(asA.text).not.toContain('b-route');
    expect(asA.text).not.toContain('b-gateway');
    expect(asA.text).not.toContain(B.traceId);
  });

  it('counts only its own project\'s requests of web in /metrics/stats and /metrics/timeseries (A 6, B 3)', async () => {
    const stats = async (token: string) => (JSON.parse((await read(r.url, `/metrics/stats?service=web&${window()}`, token)).text) as { requestCount: number }).requestCount;
    expect(await stats(keys.bRead)).toBe(3);
    expect(await stats(keys.aRead)).toBe(6);
    const series = async (token: string) => (JSON.parse((await read(r.url, `/metrics/timeseries?service=web&step=60&${window()}`, token)).text) as
      { points: Array<{ requests: number }> }).points.reduce((sum, p) => sum + p.requests, 0);
    expect(await series(keys.bRead)).toBe(3);
    expect(await series(keys.aRead)).toBe(6);
  });

  it('shows each project its own routes, services, connections and requests', async () => {
    const bRoutes = (await read(r.url, `/metrics/routes?service=web&${window()}`, keys.bRead)).text;
    expect(bRoutes).toContain('/b-route');
    const aRoutes = (await read(r.url, `/metrics/routes?service=web&${window()}`, keys.aRead)).text;
    expect(aRoutes).toContain('/a-secret/:id');
    const aServices = JSON.parse((await read(r.url, `/metrics/services?${window()}`, keys.aRead)).text) as { services: Array<{ name: string }> };
    const bServices = JSON.parse((await read(r.url, `/metrics/services?${window()}`, keys.bRead)).text) as { services: Array<{ name: string }> };
    expect(aServices.services.map((s) => s.name).sort()).toEqual(['a-only', 'web']);
    expect(bServices.services.map((s) => s.name)).toEqual(['web']);
    expect((await read(r.url, `/metrics/connections?${window()}`, keys.aRead)).text).toContain('a-gateway');
    expect((await read(r.url, `/metrics/connections?${window()}`, keys.bRead)).text).toContain('b-gateway');
    expect((await read(r.url, '/metrics/recent/web', keys.aRead)).text).toContain(A.traceId);
    expect((await read(r.url, '/metrics/recent/web', keys.bRead)).text).toContain(B.traceId);
  });

  it('answers 404 to B for A\'s trace and A\'s service, 200 to A', async () => {
    expect((await read(r.url, `/traces/${A.traceId}`, keys.bRead)).status).toBe(404);
    expect((await read(r.url, `/traces/${A.traceId}`, keys.aRead)).status).toBe(200);
    expect((await read(r.url, `/traces/${B.traceId}`, keys.bRead)).status).toBe(200);
    expect((await read(r.url, `/metrics/stats?service=a-only&${window()}`, keys.bRead)).status).toBe(404);
    expect((await read(r.url, '/metrics/recent/a-only', keys.bRead)).status).toBe(404);
    expect((await read(r.url, '/metrics/recent/a-only', keys.aRead)).status).toBe(200);
  });

  it('/live tells B about B\'s commits and never names A\'s services', async () => {
    const controller = new AbortController();
    const res = await fetch(`${r.url}/live`, { headers: { authorization: `Bearer ${keys.bRead}` }, signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let received = '';
    // One read in flight at a time: a read abandoned to a timeout would swallow its chunk.
    let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
    const readUntil = async (needle: string) => {
      const deadline = Date.now() + 20_000;
      while (!received.includes(needle) && Date.now() < deadline) {
        pending ??= reader.read();
        const chunk = await Promise.race([pending, new Promise<null>((resolve) => setTimeout(() => resolve(null), 500))]);
        if (chunk === null) continue;
        pending = undefined;
        if (chunk.done) break;
        received += new TextDecoder().decode(chunk.value);
      }
    };
    await readUntil(': connected');
    // A commits first (a service only A has), then B: B's stream must hold B's update and nothing of A's.
    await sendRequest(r.url, keys.aIngest, { ...A_ONLY, traceId: hex(16) });
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await sendRequest(r.url, keys.bIngest, { ...B, traceId: hex(16) });
    await readUntil('"web"');
    controller.abort();
    expect(received).toContain('event: update');
    expect(received).toContain('"services":["web"]');
    expect(received).not.toContain('a-only');
  });

  // Last: it adds a service to both projects, which the listings above must not see.
  it('keeps retry dedupe per project: one delta point sent under both ingest keys counts once in each', async () => {
    const body = JSON.stringify(jsonMetricsRequest([jsonDurationMetric([jsonHistogramPoint()])], 'shared-stream'));
    for (const key of [keys.aIngest, keys.bIngest, keys.aIngest, keys.bIngest]) {
      const res = await fetch(`${r.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
      expect(res.status).toBe(200);
    }
    const counts = await r.t.db.query<{ project: string; n: string }>(
      `SELECT p.name AS project, sum(m.count)::text AS n FROM service_metrics_1m m
       JOIN services s ON s.id = m.service_id JOIN projects p ON p.id = s.project_id
       WHERE s.name = 'shared-stream' GROUP BY 1 ORDER BY 1`);
    // jsonHistogramPoint records 3 values; shared dedupe state would leave beta at 0 (or skip alpha).
    expect(counts.rows).toEqual([{ project: 'alpha', n: '3' }, { project: 'beta', n: '3' }]);
  });
});
