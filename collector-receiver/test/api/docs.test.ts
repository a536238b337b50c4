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

  it('declares how to authenticate: read routes take a read token or the session cookie', async () => {
    const doc = await (await fetch(`${base}/docs/json`)).json() as {
      components: { securitySchemes: Record<string, Record<string, string>> };
      paths: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>>;
    };
    const schemes = doc.components.securitySchemes;
    expect(schemes.readToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.sessionCookie).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'lattice_session' });
    expect(schemes.ingestKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.ingestKeyHeader).toMatchObject({ type: 'apiKey', in: 'header', name: 'x-lattice-key' });
    expect(schemes.readToken!.description).toContain('lattice-receiver keys create --project NAME --kind read');
    expect(schemes.ingestKey!.description).toContain('lattice-receiver keys create --project NAME --kind ingest');
    for (const path of DOCUMENTED_ROUTES) {
      expect(doc.paths[path]!.get!.security, path).toEqual([{ readToken: [] }, { sessionCookie: [] }]);
    }
  });

  it('documents POST /v1/traces and /v1/metrics with an ingest key, their encodings and auth answers', async () => {
    const doc = await (await fetch(`${base}/docs/json`)).json() as {
      paths: Record<string, Record<string, {
        security?: Array<Record<string, string[]>>;
        requestBody?: { content: Record<string, unknown> };
        responses: Record<string, { description?: string }>;
      }>>;
    };
    for (const path of ['/v1/traces', '/v1/metrics']) {
      // Only POST: the 405 answers to other methods are not operations.
      expect(Object.keys(doc.paths[path] ?? {}), path).toEqual(['post']);
      const post = doc.paths[path]!.post!;
      expect(post.security, path).toEqual([{ ingestKey: [] }, { ingestKeyHeader: [] }]);
      expect(Object.keys(post.requestBody!.content).sort()).toEqual(['application/json', 'application/x-protobuf']);
      expect(Object.keys(post.responses).sort()).toEqual(['200', '400', '401', '403', '429', '503']);
      expect(post.responses['401']!.description).toContain('LAT_ERR_AUTH_MISSING_INGEST_KEY');
    }
    expect(Object.keys(doc.paths)).not.toContain('/healthz');
  });
});
