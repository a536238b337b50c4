import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config.js';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { buildServer } from '../../src/server.js';
import { createTestDb, type TestDb } from '../helpers/test-db.js';

/** The query API of docs/api.md, as OpenAPI paths. */
const DOCUMENTED_ROUTES = [
  '/metrics/stats', '/metrics/services', '/metrics/routes', '/metrics/timeseries', '/metrics/connections',
  '/metrics/recent/{serviceName}', '/traces/{traceId}',
];

interface OpenApiOperation {
  parameters?: Array<{ name: string; in: string }>;
  responses: Record<string, { content?: Record<string, { schema?: { type?: string; properties?: Record<string, unknown> } }> }>;
}

describe('OpenAPI at /docs', () => {
  let t: TestDb;
  let app: FastifyInstance;
  let base: string;
  let closeWriter: () => Promise<void>;

  beforeAll(async () => {
    // No storage under test here: the PGlite template is the cheapest database buildServer accepts.
    t = await createTestDb('pglite');
    const writer = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
    closeWriter = () => writer.close();
    app = await buildServer({ ...loadConfig({}), logLevel: 'silent' }, { db: t.db, writer });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  }, 180_000);
  afterAll(async () => {
    await app?.close();
    await closeWriter?.();
    await t?.drop();
  });

  it('serves the Swagger UI page and its assets from the package, not a CDN', async () => {
    const page = await fetch(`${base}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('swagger-ui');
    // Every script and stylesheet is a relative URL served by the receiver itself.
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) expect(asset).not.toMatch(/^(https?:)?\/\//);
    const bundle = await fetch(`${base}/docs/static/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });

  it('lists every /metrics/* and /traces route with its parameters and response schema', async () => {
    const res = await fetch(`${base}/docs/json`);
    expect(res.status).toBe(200);
    const doc = await res.json() as { openapi: string; paths: Record<string, Record<string, OpenApiOperation>> };
    expect(doc.openapi).toMatch(/^3\./);
    const apiPaths = Object.keys(doc.paths).filter((p) => p.startsWith('/metrics') || p.startsWith('/traces'));
    expect(apiPaths.sort()).toEqual([...DOCUMENTED_ROUTES].sort());
    for (const path of DOCUMENTED_ROUTES) {
      const get = doc.paths[path]?.get;
      expect(get, path).toBeDefined();
      const ok = get!.responses['200']?.content?.['application/json']?.schema;
      expect(ok?.type, `${path} 200 schema`).toBe('object');
      expect(Object.keys(ok?.properties ?? {}).length, `${path} 200 properties`).toBeGreaterThan(1);
      expect(get!.responses['400'] ?? get!.responses['4XX'], `${path} error response`).toBeDefined();
    }
    const trace = doc.paths['/traces/{traceId}']!.get!;
    expect(trace.parameters).toEqual([expect.objectContaining({ name: 'traceId', in: 'path' })]);
    const traceSpan = (trace.responses['200']!.content!['application/json']!.schema!.properties!.spans as { items: { properties: Record<string, unknown> } }).items;
    expect(Object.keys(traceSpan.properties)).toEqual(expect.arrayContaining(['spanId', 'parentSpanId', 'service', 'kind', 'depth', 'offsetMs', 'error']));
    const stats = doc.paths['/metrics/stats']!.get!;
    expect(stats.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(expect.arrayContaining(['query:service', 'query:from', 'query:to']));
  });

  it('leaves the schema-less OTLP endpoints out of the query API document', async () => {
    const doc = await (await fetch(`${base}/docs/json`)).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).not.toContain('/v1/traces');
    expect(Object.keys(doc.paths)).not.toContain('/v1/metrics');
  });
});
