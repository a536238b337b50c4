import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import type { RequestRow, SpanRow } from '../../src/translate/rows.js';
import { requestRow } from '../helpers/fixtures.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';

// Storage-heavy on a shared 2-core machine: generous limits (a slow box is not a failure).
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

/** The span row of a request row (the SERVER span both come from). */
function spanOf(r: RequestRow): SpanRow {
  return {
    serviceName: r.serviceName, traceId: r.traceId, spanId: r.spanId, parentSpanId: r.parentSpanId, name: `${r.method} ${r.route}`,
    kind: 'server', startUnixMs: r.startUnixMs, durationMs: r.responseTimeMs, statusCode: 0, error: false,
    httpMethod: r.method, httpRoute: r.route, httpStatusCode: r.statusCode,
  };
}
const batchOf = (requests: RequestRow[]) => ({ requests, durationPoints: [], spans: requests.map(spanOf) });

describe.each(testBackends())('writer: request and span rows of retried exports on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(async () => { await t.drop(); });

  const counts = async () => (await t.db.query<{ requests: number; spans: number }>(
    'SELECT (SELECT count(*) FROM service_metrics)::int AS requests, (SELECT count(*) FROM spans)::int AS spans')).rows[0];

  it('stores an export written twice in one flush, and a span twice in one export, once', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 10_000, maxQueuedRows: 100_000 });
    const rows = [requestRow(), requestRow(), requestRow()];
    const batch = batchOf([...rows, rows[0]!]);
    await Promise.all([writer.write(batch), writer.write(batch)]);
    expect(writer.stats().flushes).toBe(1);
    expect(await counts()).toEqual({ requests: 3, spans: 3 });
    await writer.write(batch);
    expect(await counts()).toEqual({ requests: 3, spans: 3 });
    // 8 rows sent, 3 new; then 4 sent, none new.
    expect(writer.stats().duplicateRequests).toBe(9);
    await writer.close();
  });

  it('stores the exports two replicas write at the same time once each, answering both', async () => {
    const other = await t.openAnother();
    const a = createBatchingWriter(t.db, { batchRows: 10_000, maxQueuedRows: 100_000 });
    const b = createBatchingWriter(other, { batchRows: 10_000, maxQueuedRows: 100_000 });
    const batches = Array.from({ length: 6 }, () => batchOf(Array.from({ length: 20 }, () => requestRow())));
    await Promise.all(batches.flatMap((batch) => [a.write(batch), b.write(batch)]));
    expect(await counts()).toEqual({ requests: 120, spans: 120 });
    await Promise.all([a.close(), b.close()]);
  });
});
