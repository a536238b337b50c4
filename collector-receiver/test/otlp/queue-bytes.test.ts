/**
 * A request body is counted once: in LATTICE_MAX_INFLIGHT_BYTES while it is read, decoded and its
 * rows wait for their commit. The write queue's byte limit (LATTICE_MAX_QUEUED_BYTES) counts the
 * translated rows only, so OTLP/JSON exports — three times the size of the same protobuf export —
 * are not refused by a queue that has room for their rows (bench:ingest's 32-connection JSON run
 * got 429s at the defaults while both counted the body).
 */
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReceiverConfig } from '../../src/config.js';
import type { Db } from '../../src/store/db.js';
import { registerOtlpRoutes } from '../../src/otlp/routes.js';
import { createBatchingWriter, ROW_HEAP_BYTES } from '../../src/pipeline/batching-writer.js';
import { createTestDb, type TestDb } from '../helpers/test-db.js';
import { jsonServerSpan, jsonTraceRequest } from '../fixtures/otlp.js';

const EXPORTS = 8;
/** Each export: 2 SERVER spans = 4 queued rows (2 requests + 2 spans); ~40 kB of JSON. */
const ROWS_PER_EXPORT = 4;
const PADDING = 'x'.repeat(20_000);

const config: ReceiverConfig = {
  host: '127.0.0.1',
  port: 0,
  databaseUrl: undefined,
  dataDir: '.lattice-test',
  maxBodyBytes: 1024 * 1024,
  maxDecompressedBytes: 1024 * 1024,
  writeBatchRows: 1000,
  writeBatchPoints: 1000,
  maxQueuedRows: 100_000,
  maxInflightBytes: 16 * 1024 * 1024,
  logLevel: 'silent',
};

/** A database whose transactions wait for `open()`: writes pile up in the queue meanwhile. */
function gated(db: Db): { db: Db; open(): void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => { open = resolve; });
  return {
    db: Object.assign(Object.create(db) as Db, { transaction: async <T>(fn: Parameters<Db['transaction']>[0]) => { await gate; return db.transaction(fn) as Promise<T>; } }),
    open,
  };
}

function exportBody(i: number): string {
  const span = (n: number) => jsonServerSpan({
    traceId: (i * 2 + n + 1).toString(16).padStart(32, '0'),
    spanId: (i * 2 + n + 1).toString(16).padStart(16, '0'),
    // Not stored: only the body grows.
    attributes: [
      { key: 'http.request.method', value: { stringValue: 'GET' } },
      { key: 'http.route', value: { stringValue: '/padded' } },
      { key: 'http.response.status_code', value: { intValue: '200' } },
      { key: 'padding', value: { stringValue: PADDING } },
    ],
  });
  return JSON.stringify(jsonTraceRequest([span(0), span(1)], 'queue-bytes'));
}

describe('the write queue counts rows, not request bodies (pglite)', () => {
  let t: TestDb;
  let app: FastifyInstance;
  let url: string;
  let open: () => void;

  beforeEach(async () => {
    t = await createTestDb('pglite');
    const g = gated(t.db);
    open = g.open;
    // Room for every export's rows, but not for their bodies: 8 × 4 rows × 600 B = 19.2 kB < 24 kB < 8 × 40 kB.
    const writer = createBatchingWriter(g.db, { batchRows: 1000, maxQueuedRows: 100_000, maxQueuedBytes: 24_000 });
    app = Fastify();
    registerOtlpRoutes(app, { writer, config });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1/traces`;
  });
  afterEach(async () => {
    open();
    await app.close();
    await t.drop();
  });

  it(`queues ${EXPORTS} concurrent 40 kB JSON exports whose rows fit, and commits them all`, async () => {
    expect(EXPORTS * ROWS_PER_EXPORT * ROW_HEAP_BYTES).toBeLessThan(24_000);
    const bodies = Array.from({ length: EXPORTS }, (_, i) => exportBody(i));
    expect(bodies[1]!.length).toBeGreaterThan(40_000);
    const answers = bodies.map((body) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
    // Every export is queued before the first flush may start.
    await new Promise((resolve) => setTimeout(resolve, 500));
    open();
    const statuses = await Promise.all(answers.map(async (a) => (await a).status));
    expect(statuses).toEqual(Array.from({ length: EXPORTS }, () => 200));
    const { rows: [stored] } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM spans');
    expect(stored!.n).toBe(EXPORTS * 2);
  });
});
