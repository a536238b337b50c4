#!/usr/bin/env node
/**
 * lattice-receiver: config → open the database → migrate → listen → print one line → stop on signals.
 *
 *   lattice-receiver            the receiver (PGlite under ./.lattice unless DATABASE_URL is set)
 *   lattice-receiver --demo     the receiver plus three instrumented demo services under traffic
 *   lattice-receiver routes --service NAME [--window 1h] [--watch] [--url URL] [--token TOKEN]
 *                               a service's routes from a running receiver (cli/routes-command.ts)
 *   lattice-receiver keys create --project NAME --kind ingest|read [--label TEXT] | keys list | keys revoke ID
 *                               projects and their keys, in the receiver's database (cli/keys-command.ts)
 */
import { loadConfig, type ReceiverConfig } from './config.js';
import { errors, LatticeError } from './errors.js';
import { openDb } from './store/open-db.js';
import { migrate } from './store/migrate.js';
import { createBatchingWriter } from './pipeline/batching-writer.js';
import { limitHeapGrowth } from './pipeline/heap-growth.js';
import { buildServer } from './server.js';
import { runRoutesCli } from './cli/routes-command.js';
import { startDemo, type DemoHandle } from './demo.js';
import { startMaintenance } from './store/maintenance/maintenance.js';
import { runKeysCli } from './cli/keys-command.js';
import { createKeyStore } from './tenancy/key-store.js';
import { isLoopbackHost } from './tenancy/loopback.js';

const log = (line: string) => { process.stderr.write(`${line}\n`); };

async function serve(config: ReceiverConfig, withDemo: boolean): Promise<void> {
  // RSS under overload: the byte limits bound what is live, this bounds the garbage (heap-growth.ts).
  limitHeapGrowth();
  const where = config.databaseUrl === undefined ? `embedded PGlite in ${config.dataDir}` : 'PostgreSQL (DATABASE_URL)';
  log(`lattice: opening ${where} …`);
  const db = await openDb(config);
  log('lattice: applying migrations …');
  await migrate(db);
  // Open (no keys) only on loopback: anywhere else anyone who reaches the port could write.
  const keyStore = createKeyStore(db, config.keyCacheTtlMs === undefined ? {} : { ttlMs: config.keyCacheTtlMs });
  const activeKeys = await keyStore.countKeys();
  if (activeKeys.ingest === 0 && !isLoopbackHost(config.host)) {
    await keyStore.close();
    await db.close();
    throw errors.LAT_ERR_AUTH_KEYS_REQUIRED(config.host);
  }
  log(activeKeys.total === 0
    ? 'lattice: no keys: open mode (loopback only), everything goes to project \'default\''
    : `lattice: keys required (${activeKeys.ingest} ingest, ${activeKeys.read} read active); docs/tenancy.md`);
  const writer = createBatchingWriter(db, {
    batchRows: config.writeBatchRows, batchPoints: config.writeBatchPoints, maxQueuedRows: config.maxQueuedRows, maxRoutesPerService: config.maxRoutesPerService,
    maxQueuedBytes: config.maxQueuedBytes, holdMs: config.outageHoldMs,
  });
  const app = await buildServer(config, { db, writer, keyStore });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await writer.close();
    await db.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw errors.LAT_ERR_CONFIG_PORT_IN_USE(config.port, config.host);
    }
    throw err;
  }
  // Rollups 1m → 5m → 1h and retention, every 30 s, by one replica at a time.
  const maintenance = startMaintenance(db, config);
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  console.log(`Lattice receiver on ${url} · database: ${db.kind === 'pglite' ? `embedded PGlite in ${db.description}` : db.description} · point a service at it: ` +
    `OTEL_EXPORTER_OTLP_ENDPOINT=${url} node --require @lattice/otel-register app.js · dashboard: ${url}/`);

  let demo: DemoHandle | undefined;
  if (withDemo) {
    demo = await startDemo(url, log);
    log(`lattice: demo services ${demo.services.join(', ')} are sending traffic; open ${url}/ for the dashboard, or try ${url}/metrics/stats?service=gateway`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`lattice: ${signal}, shutting down …`);
    await demo?.stop();
    await app.close();
    await keyStore.close();
    await writer.close();
    await maintenance.stop();
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'keys') {
    process.exitCode = await runKeysCli(argv.slice(1), loadConfig());
    return;
  }
  if (argv[0] === 'routes') {
    process.exitCode = await runRoutesCli(argv.slice(1));
    return;
  }
  const config = loadConfig();
  await serve(config, argv.includes('--demo'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof LatticeError) {
    log(`lattice: ${err.code}: ${err.message}`);
  } else {
    log(`lattice: failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  }
  process.exit(1);
});
