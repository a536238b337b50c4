import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { ensureDayPartitions, utcDay } from '../../src/store/queries/partitions.js';
import { insertRequests } from '../../src/store/queries/requests.js';
import { upsertServices } from '../../src/store/queries/services.js';
import { insertSpans } from '../../src/store/queries/traces.js';
import type { IngestBatch, RequestRow, SpanRow } from '../../src/translate/rows.js';
import { requestRow } from '../helpers/fixtures.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';

/** A traces export of `n` SERVER spans: each span is a spans row and a request row. */
function traceExport(n: number, startUnixMs: number): IngestBatch {
  const requests: RequestRow[] = [];
  const spans: SpanRow[] = [];
  for (let i = 0; i < n; i++) {
    const r = requestRow({ startUnixMs: startUnixMs + i, responseTimeMs: 10 + i });
    requests.push(r);
    spans.push({
      serviceName: r.serviceName, traceId: r.traceId, spanId: r.spanId, parentSpanId: null, name: `GET ${r.route}`,
      kind: 'server', startUnixMs: r.startUnixMs, durationMs: r.responseTimeMs, statusCode: 0, error: false,
      httpMethod: r.method, httpRoute: r.route, httpStatusCode: r.statusCode,
    });
  }
  return { requests, durationPoints: [], spans };
}

/** One write is flushed whole in one transaction: `a` and `b` land in the same INSERT statements. */
function together(a: IngestBatch, b: IngestBatch): IngestBatch {
  return { requests: [...a.requests, ...b.requests], durationPoints: [], spans: [...a.spans, ...b.spans] };
}

async function storedKeys(t: TestDb, table: 'spans' | 'service_metrics'): Promise<string[]> {
  const result = await t.db.query<{ key: string }>(`SELECT trace_id || ':' || span_id AS key FROM ${table} ORDER BY 1`);
  return result.rows.map((r) => r.key);
}

const keysOf = (...batches: IngestBatch[]) => batches.flatMap((b) => b.spans.map((s) => `${s.traceId}:${s.spanId}`)).sort();

describe.each(testBackends())('insertRequests and insertSpans with stored rows among new ones on %s', (backend) => {
  let t: TestDb;
  beforeAll(async () => { await (await createTestDb(backend)).drop(); }, 180_000);
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(() => t.drop());

  it('stores the new rows of a flush once and its already-stored rows not again, and counts only the new', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000 });
    const start = Date.now() - 60_000;
    const stored = traceExport(5, start);
    const fresh = traceExport(7, start + 100);
    await writer.write(stored);
    // The retried export and a new one in one flush: the plain insert meets a stored row.
    await writer.write(together(stored, fresh));
    // Rows written after the fallback, in the same flush's transaction, are committed too.
    const later = traceExport(3, start + 200);
    await writer.write(together(later, stored));
    await writer.close();
    expect(await storedKeys(t, 'spans')).toEqual(keysOf(stored, fresh, later));
    expect(await storedKeys(t, 'service_metrics')).toEqual(keysOf(stored, fresh, later));
    const times = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM service_metrics sm JOIN spans sp USING (trace_id, span_id) WHERE sm.response_time_ms = sp.duration_ms');
    expect(times.rows[0]!.n).toBe(15);
    expect(writer.stats()).toMatchObject({ flushes: 3, committedRequests: 5 + 12 + 8, duplicateRequests: 10, failedBatches: 0 });
  });

  it('stores a span delivered twice within one flush once', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000 });
    const twice = traceExport(4, Date.now() - 60_000);
    await writer.write(together(twice, twice));
    await writer.close();
    expect(await storedKeys(t, 'spans')).toEqual(keysOf(twice));
    expect(await storedKeys(t, 'service_metrics')).toEqual(keysOf(twice));
    expect(writer.stats()).toMatchObject({ flushes: 1, committedRequests: 8, duplicateRequests: 4 });
  });

  it('returns how many rows were new when some of a statement\'s rows are stored and keeps the transaction usable', async () => {
    const start = Date.parse('2026-11-27T12:00:00Z');
    const ids = await t.db.transaction(async (tx) => {
      await ensureDayPartitions(tx, [utcDay(start)]);
      return upsertServices(tx, ['checkout']);
    });
    const stored = traceExport(2, start);
    const fresh = traceExport(3, start + 10);
    const first = await t.db.transaction(async (tx) => [await insertRequests(tx, stored.requests, ids), await insertSpans(tx, stored.spans, ids)]);
    const mixed = await t.db.transaction(async (tx) => {
      const requests = await insertRequests(tx, [...fresh.requests, ...stored.requests], ids);
      const spans = await insertSpans(tx, [...stored.spans, ...fresh.spans], ids);
      const seen = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM spans');
      return [requests, spans, seen.rows[0]!.n];
    });
    expect(first).toEqual([2, 2]);
    expect(mixed).toEqual([3, 3, 5]);
    expect(await storedKeys(t, 'service_metrics')).toEqual(keysOf(stored, fresh));
  });
});
