/**
 * buildServer(config, deps): the Fastify instance with every route, without listen().
 * Routes do no SQL and no math (house rule 2): OTLP routes decode → validate → translate →
 * enqueue into the writer → respond; API routes call store/queries.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { ReceiverConfig } from './config.js';
import type { Db } from './store/db.js';
import type { IngestWriter } from './pipeline/ingest-writer.js';
import { registerOtlpRoutes } from './otlp/routes.js';
import { registerApiRoutes } from './api/routes.js';
import { registerDocs } from './api/docs.js';
import { registerTraceRoutes } from './api/traces.js';
import { registerLiveRoutes } from './live/routes.js';
import { registerDashboard } from './dashboard/routes.js';
import { createIngestAuth, registerAuth } from './tenancy/auth.js';
import { createKeyStore, type KeyStore } from './tenancy/key-store.js';
import { isLoopbackHost } from './tenancy/loopback.js';
import { createRateLimiter } from './tenancy/rate-limiter.js';
import { createProjectScopedDb } from './tenancy/with-project.js';

export interface ServerDeps {
  db: Db;
  writer: IngestWriter;
  /** Key lookups (tenancy/key-store.ts); default: one over db, closed with the app. */
  keyStore?: KeyStore;
}

export async function buildServer(config: ReceiverConfig, deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
    // The OTLP routes enforce their own caps (before and after gzip); this is the outer bound.
    bodyLimit: config.maxBodyBytes,
    // One log line per request would dominate the log at thousands of exports a second.
    logController: new LogController({ disableRequestLogging: true }),
  });
  // Before every route: the OpenAPI document collects routes as they are added.
  await registerDocs(app);
  // Keys and projects (docs/tenancy.md), before every route so each read route is checked.
  // Reads go through readDb: each query as lattice_reader for the request's project (RLS).
  const keyStore = deps.keyStore ?? createKeyStore(deps.db, {
    ...(config.keyCacheTtlMs === undefined ? {} : { ttlMs: config.keyCacheTtlMs }),
    openWhenUnknown: isLoopbackHost(config.host),
  });
  if (deps.keyStore === undefined) app.addHook('onClose', () => keyStore.close());
  registerAuth(app, { keyStore });
  const keyRate = config.keyRateLimitRowsPerS ?? 50_000;
  const ingestAuth = createIngestAuth(keyStore, createRateLimiter({ rowsPerSecond: keyRate }), keyRate);
  const readDb = createProjectScopedDb(deps.db);

  // 503 while the database is unreachable, with what the writer holds for it (outage buffer).
  app.get('/healthz', async (_request, reply) => {
    let error: string | undefined;
    try {
      await deps.db.query('SELECT 1');
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const writer = deps.writer.stats();
    const reachable = error === undefined && writer.databaseReachable !== false;
    if (!reachable) reply.code(503);
    return {
      status: reachable ? 'ok' : 'database unreachable', database: deps.db.kind, databaseReachable: reachable,
      ...(error === undefined ? {} : { databaseError: error }), writer,
    };
  });

  registerOtlpRoutes(app, { writer: deps.writer, config, auth: ingestAuth });
  registerApiRoutes(app, { db: readDb, config });
  registerTraceRoutes(app, { db: readDb });
  registerLiveRoutes(app, { writer: deps.writer });
  await registerDashboard(app);
  return app;
}
