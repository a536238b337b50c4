/**
 * Regression: a service sending spans and delta metrics was counted twice when its requests ran
 * just before a minute boundary and the metric export landed just after it (spans in minute M, the
 * rollup in minute M+1). Seen as requestCount 80 for 40 requests in the end-to-end suite.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { selectServiceStats } from '../../src/store/queries/stats.js';
import { findServiceId } from '../../src/store/queries/services.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { durationPoint, nanos, requestRow } from '../helpers/fixtures.js';

const T = Date.parse('2026-11-27T10:00:00Z');

describe.each(testBackends())('stats across a minute boundary on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(async () => { await t.drop(); });

  it('counts spans of minute M once when their delta point was stamped in minute M+1', async () => {
    const spans = [5, 6, 7].map((ms, i) => requestRow({ responseTimeMs: ms, startUnixMs: T + 59_000 + i * 100 }));
    const point = durationPoint([5, 6, 7], { startTimeUnixNano: nanos(T + 59_000), timeUnixNano: nanos(T + 60_400) });
    const writer = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000 });
    await writer.write({ requests: spans, durationPoints: [point] });
    await writer.close();

    const id = await findServiceId(t.db, 'checkout');
    const stats = await selectServiceStats(t.db, id!, T - 60_000, T + 5 * 60_000);
    expect(stats.requestCount).toBe(3);
  });
});
