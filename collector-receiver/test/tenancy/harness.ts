/**
 * A listening receiver on a test database (PGlite or a schema on the real server), with keys made
 * the way `lattice-receiver keys create` makes them, and OTLP/JSON exports sent with real fetch.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type ReceiverConfig } from '../../src/config.js';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { buildServer } from '../../src/server.js';
import { ensureProject, insertKey } from '../../src/tenancy/key-queries.js';
import { createKey, type KeyKind } from '../../src/tenancy/keys.js';
import type { Db } from '../../src/store/db.js';
import { createTestDb, type TestBackend, type TestDb } from '../helpers/test-db.js';
import { jsonDurationMetric, jsonHistogramPoint, jsonMetricsRequest, jsonServerSpan, jsonTraceRequest } from '../fixtures/otlp.js';

export interface TenancyReceiver {
  url: string;
  t: TestDb;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startTenancyReceiver(backend: TestBackend, overrides: Partial<ReceiverConfig> = {}, existing?: TestDb): Promise<TenancyReceiver> {
  const t = existing ?? await createTestDb(backend);
  const config: ReceiverConfig = { ...loadConfig({}), port: 0, logLevel: 'silent', keyCacheTtlMs: 0, ...overrides };
  const writer = createBatchingWriter(t.db, { batchRows: config.writeBatchRows, maxQueuedRows: config.maxQueuedRows });
  const app = await buildServer(config, { db: t.db, writer });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    t,
    app,
    async close() {
      await app.close();
      await writer.close();
      await t.drop();
    },
  };
}

/** A new key of `kind` for `project` (created if new), as the CLI makes it; returns the key text. */
export async function createKeyFor(db: Db, project: string, kind: KeyKind): Promise<string> {
  const key = createKey(kind);
  const { id } = await ensureProject(db, project);
  await insertKey(db, { projectId: id, kind, label: null, prefix: key.prefix, hash: key.hash });
  return key.key;
}

export function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export interface SentRequest {
  traceId: string;
  service: string;
  route: string;
  caller: string;
}

/** One SERVER span (traces) and one delta histogram point (metrics) of `service` on `route`, called by `caller`. */
export async function sendRequest(url: string, key: string | undefined, request: SentRequest): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  const span = jsonServerSpan({
    traceId: request.traceId,
    spanId: hex(8),
    name: `GET ${request.route}`,
    attributes: [
      { key: 'http.request.method', value: { stringValue: 'GET' } },
      { key: 'http.route', value: { stringValue: request.route } },
      { key: 'http.response.status_code', value: { intValue: '200' } },
      { key: 'lattice.caller.service.name', value: { stringValue: request.caller } },
    ],
  });
  const traces = await fetch(`${url}/v1/traces`, { method: 'POST', headers, body: JSON.stringify(jsonTraceRequest([span], request.service)) });
  if (traces.status !== 200) throw new Error(`traces export answered ${traces.status}: ${await traces.text()}`);
  const point = jsonHistogramPoint({
    attributes: [
      { key: 'http.method', value: { stringValue: 'GET' } },
      { key: 'http.route', value: { stringValue: request.route } },
      { key: 'http.status_code', value: { intValue: 200 } },
      { key: 'lattice.caller.service.name', value: { stringValue: request.caller } },
    ],
  });
  const metrics = await fetch(`${url}/v1/metrics`, {
    method: 'POST', headers, body: JSON.stringify(jsonMetricsRequest([jsonDurationMetric([point])], request.service)),
  });
  if (metrics.status !== 200) throw new Error(`metrics export answered ${metrics.status}: ${await metrics.text()}`);
}

/** GET with a read token; the status and the body as text (JSON for the caller to parse). */
export async function read(url: string, path: string, token: string | undefined): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}${path}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, text: await res.text() };
}
