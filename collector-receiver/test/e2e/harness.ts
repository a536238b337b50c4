/**
 * End-to-end harness: a real receiver (listening, real store on PGlite or the PostgreSQL server)
 * and real apps started with `node --require @lattice/otel-register`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig, type ReceiverConfig } from '../../src/config.js';
import { openDb } from '../../src/store/open-db.js';
import { migrate } from '../../src/store/migrate.js';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { buildServer } from '../../src/server.js';
import type { Db } from '../../src/store/db.js';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');
export const registerPath = join(repoRoot, 'sdk/dist/register.js');
export const receiverMain = join(repoRoot, 'collector-receiver/dist/main.js');
export const appsDir = join(here, 'apps');

export type Backend = 'pglite' | 'postgres';

/** The backends this machine can run: PGlite always, PostgreSQL when LATTICE_TEST_DATABASE_URL is set. */
export function e2eBackends(): Backend[] {
  return process.env.LATTICE_TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

/** A place for one receiver's data: a temp dir for PGlite, a fresh schema on the server. */
export interface Storage {
  backend: Backend;
  env: Record<string, string>;
  config: Pick<ReceiverConfig, 'databaseUrl' | 'dataDir'>;
  drop(): Promise<void>;
}

export async function createStorage(backend: Backend): Promise<Storage> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lattice-e2e-'));
  if (backend === 'pglite') {
    return {
      backend,
      env: { LATTICE_DATA_DIR: dataDir, DATABASE_URL: '' },
      config: { databaseUrl: undefined, dataDir },
      async drop() { rmSync(dataDir, { recursive: true, force: true }); },
    };
  }
  const base = process.env.LATTICE_TEST_DATABASE_URL!;
  const schema = `lattice_e2e_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    backend,
    env: { DATABASE_URL: url.toString(), LATTICE_DATA_DIR: dataDir },
    config: { databaseUrl: url.toString(), dataDir },
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface InProcessReceiver {
  url: string;
  db: Db;
  close(): Promise<void>;
}

/** The receiver as main.ts wires it, in this process, listening on a free port. */
export async function startReceiver(storage: Storage, overrides: Partial<ReceiverConfig> = {}): Promise<InProcessReceiver> {
  const config: ReceiverConfig = { ...loadConfig({}), ...storage.config, port: 0, logLevel: 'silent', ...overrides };
  const db = await openDb(config);
  await migrate(db);
  const writer = createBatchingWriter(db, { batchRows: config.writeBatchRows, maxQueuedRows: config.maxQueuedRows });
  const app = await buildServer(config, { db, writer });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    db,
    async close() {
      await app.close();
      await writer.close();
      await db.close();
    },
  };
}

export interface RunningProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT parsed from the process's first "listening PORT" / receiver line. */
  url: string;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function waitForUrl(child: ChildProcess, pattern: RegExp, toUrl: (m: RegExpMatchArray) => string, what: string): Promise<{ url: string; output: () => string }> {
  let output = '';
  return new Promise((resolvePromise, reject) => {
    // Generous: a first start of embedded PGlite runs initdb in WebAssembly, slow on a loaded 2-core box.
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 90 s; output:\n${output}`)), 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ url: toUrl(match), output: () => output });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before listening; output:\n${output}`));
    });
  });
}

function stopper(child: ChildProcess) {
  return (signal: NodeJS.Signals = 'SIGTERM') => new Promise<number | null>((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolvePromise(child.exitCode);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (code) => { clearTimeout(timer); resolvePromise(code); });
    child.kill(signal);
  });
}

/** Starts `node --require @lattice/otel-register <app>` with the SDK pointed at receiverUrl. */
export async function spawnApp(script: string, serviceName: string, receiverUrl: string, env: Record<string, string> = {}): Promise<RunningProcess> {
  const child = spawn(process.execPath, ['--require', registerPath, join(appsDir, script)], {
    cwd: repoRoot,
    env: {
      ...process.env,
      OTEL_SERVICE_NAME: serviceName,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = await waitForUrl(child, /listening (\d+)/, (m) => `http://127.0.0.1:${m[1]}`, `app ${script}`);
  return { child, ...started, stop: stopper(child) };
}

/** Starts the receiver the way users do: `node collector-receiver/dist/main.js`. */
export async function spawnReceiver(storage: Storage, env: Record<string, string> = {}): Promise<RunningProcess> {
  const child = spawn(process.execPath, [receiverMain], {
    cwd: repoRoot,
    env: { ...process.env, ...storage.env, PORT: '0', LATTICE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = await waitForUrl(child, /Lattice receiver on (http:\/\/[^\s]+)/, (m) => m[1]!, 'receiver');
  return { child, ...started, stop: stopper(child) };
}

/** Polls fn until it returns a value that passes check, or fails after timeoutMs with the last value. */
export async function eventually<T>(fn: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
    last = await fn();
  }
  return last;
}

/** Runs `count` requests through `concurrency` workers; returns the status codes seen. */
export async function load(count: number, concurrency: number, makeUrl: (i: number) => string): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      const res = await fetch(makeUrl(i));
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  }));
  return statuses;
}
