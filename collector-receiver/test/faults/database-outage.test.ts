/**
 * The database goes away under load and comes back (issue #6 "Faults"): the receiver holds what it
 * accepted in its outage buffer and writes it when the database returns; once the buffer is full,
 * exports get 503 + Retry-After; nothing acknowledged is lost, nothing is written twice; the writer
 * recovers by itself. A PostgreSQL of the test's own (own-postgres.ts) is stopped with
 * `pg_ctl stop -m fast` and started again; the receiver is the real process (dist/main.js).
 */
import { describe, expect, it } from 'vitest';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { createPgDb } from '../../src/store/pg-db.js';
import { spawnReceiver, type RunningProcess } from '../e2e/harness.js';
import { ownPostgresSkipReason } from '../helpers/own-postgres.js';
import { useOwnPostgres } from './own-postgres-suite.js';
import { expectAcknowledgedPresentOnce, Ledger, runWorkers, sleep } from './ledger.js';

/** Spans of a real SDK, for the official exporter. */
function sdkSpans(service: string, count: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('faults');
  for (let i = 0; i < count; i++) {
    tracer.startSpan('GET /exporter/:id', {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': 'GET', 'http.route': '/exporter/:id', 'http.response.status_code': 200 },
    }).end();
  }
  return memory.getFinishedSpans();
}

describe.skipIf(ownPostgresSkipReason !== undefined)('database outage under load (own PostgreSQL)', () => {
  const own = useOwnPostgres();
  const storage = own.storage;

  it('holds accepted exports, answers 503 + Retry-After once the buffer is full, loses and duplicates nothing, recovers by itself', async () => {
    // A small buffer (a trace export is 40 rows: 20 spans + 20 request rows) so that 16 senders
    // fill it during a few seconds of outage.
    const receiver: RunningProcess = await spawnReceiver(storage(), {
      LATTICE_MAX_QUEUED_ROWS: '300', LATTICE_OUTAGE_HOLD_MS: '8000',
    });
    const ledger = new Ledger('faults-outage', 20);
    const duringOutage = new Ledger('faults-outage', 20); // answers to exports sent while the database was down
    let phase: 'before' | 'down' | 'after' = 'before';
    let stop = false;
    let n = 0;
    let heldAcrossOutage = 0; // exports sent before the restart, answered 200 after it
    const workers = runWorkers(16, () => stop, async () => {
      const sentIn = phase;
      // Trace exports only while down, so the held ones fill the buffer (a metric export is 1 row
      // and would always fit: every sender would end up waiting on a held export).
      const kind = n++ % 2 === 0 || sentIn === 'down' ? 'traces' : 'metrics';
      const status = await ledger.send(receiver.url, kind, { alsoRecordIn: sentIn === 'down' ? duringOutage : undefined });
      if (status === 200 && sentIn !== 'after' && phase === 'after') heldAcrossOutage++;
      if (status !== 200) await sleep(50); // a refused sender waits a little (exporters wait longer)
    });
    try {
      while (ledger.acked.size < 20) await sleep(20);
      phase = 'down';
      await own.pg.stop('fast');
      // The receiver tells it is holding data for the database.
      await sleep(1000);
      const health = await fetch(`${receiver.url}/healthz`);
      const healthBody = await health.json() as { databaseReachable: boolean; writer: { databaseReachable: boolean; queuedRows: number } };
      expect(health.status).toBe(503);
      expect(healthBody.databaseReachable).toBe(false);
      expect(healthBody.writer.databaseReachable).toBe(false);
      expect(healthBody.writer.queuedRows).toBeGreaterThan(0);

      // While down: an export through the official OTLP exporter (its retry on 503 is what users
      // get) must end in success once the database is back.
      const exporterSpans = sdkSpans('faults-exporter', 10);
      const exporter = new OTLPTraceExporter({ url: `${receiver.url}/v1/traces`, timeoutMillis: 10_000 });
      const exported = new Promise<ExportResult>((resolve) => exporter.export(exporterSpans, resolve));

      await sleep(2500);
      await own.pg.start();
      phase = 'after';
      expect((await exported).code).toBe(ExportResultCode.SUCCESS);
      await exporter.shutdown();
      const ackedAtRestart = ledger.acked.size;
      while (ledger.acked.size < ackedAtRestart + 40) await sleep(20);
    } finally {
      stop = true;
      await workers;
    }
    // Drained and healthy again, by itself.
    const health = await (await fetch(`${receiver.url}/healthz`)).json() as { writer: { queuedRows: number; databaseReachable: boolean } };
    expect(health.writer).toMatchObject({ queuedRows: 0, databaseReachable: true });
    expect(await receiver.stop()).toBe(0);

    const db = createPgDb({ connectionString: own.pg.url, max: 1 });
    try {
      await expectAcknowledgedPresentOnce(db, ledger, 'outage', `${ledger.summary()}; while down: ${duringOutage.summary()}`);
      // Exports accepted before the restart were held through the outage and committed after it.
      // Exports sent while the database was down: held (200) while there was room, then refused with
      // 503 + Retry-After — never a 500. A 429 (LAT_ERR_PIPELINE_SATURATED) is right only in the
      // moment between the stop and the first failed flush, when the receiver sees a full queue and
      // does not know yet that the database is gone (seen in CI under load). Whether any export
      // sent while down still found room depends on how full the queue was at the stop, so that
      // count is not asserted.
      const whileDown = `${ledger.summary()}; while down: ${duringOutage.summary()}; held across the outage: ${heldAcrossOutage}`;
      expect(heldAcrossOutage, whileDown).toBeGreaterThan(0);
      expect(duringOutage.statuses.get(503) ?? 0, whileDown).toBeGreaterThan(0);
      expect([...duringOutage.statuses.keys()].filter((s) => s !== 200 && s !== 429 && s !== 503), whileDown).toEqual([]);
      expect(duringOutage.refusalCodes.get('LAT_ERR_PIPELINE_SATURATED') ?? 0, whileDown).toBe(duringOutage.statuses.get(429) ?? 0);
      expect(duringOutage.refusedWithRetryAfter, whileDown).toBe(duringOutage.refused);
      expect(ledger.refusedWithRetryAfter).toBe(ledger.refused);
      expect(ledger.refusalCodes.get('LAT_ERR_PIPELINE_OUTAGE_BUFFER_FULL') ?? 0).toBeGreaterThan(0);
      // The official exporter's spans are there, once.
      const exporterRows = await db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM spans WHERE service_id = (SELECT id FROM services WHERE name = 'faults-exporter')`);
      expect(Number(exporterRows.rows[0]!.n)).toBe(10);
    } finally {
      await db.close();
    }
  }, 120_000);
});

if (ownPostgresSkipReason !== undefined) describe.skip(`database outage: ${ownPostgresSkipReason}`, () => { it('skipped', () => {}); });
