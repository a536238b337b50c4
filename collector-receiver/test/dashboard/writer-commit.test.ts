import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { durationPoint, requestRow } from '../helpers/fixtures.js';
import type { SpanRow } from '../../src/translate/rows.js';

describe.each(testBackends())('batching writer onCommit on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(async () => { await t.drop(); });

  it('names the services of each committed flush, after the rows are readable', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000 });
    const calls: { services: string[]; rows: number }[] = [];
    const pending: Promise<void>[] = [];
    writer.onCommit((services) => {
      pending.push(t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM service_metrics').then((r) => {
        calls.push({ services: [...services].sort(), rows: Number(r.rows[0]!.n) });
      }));
    });
    await writer.write({ requests: [requestRow({ serviceName: 'orders' })], durationPoints: [durationPoint([5], { serviceName: 'billing' })] });
    await Promise.all(pending);
    expect(calls).toEqual([{ services: ['billing', 'orders'], rows: 1 }]);
    await writer.close();
  });

  it('names the service of a flush that carried only spans (a client span reaching the journey view)', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000 });
    const seen: string[][] = [];
    writer.onCommit((services) => { seen.push([...services]); });
    const span: SpanRow = {
      serviceName: 'gateway', traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: 'c'.repeat(16), name: 'GET',
      kind: 'client', startUnixMs: Date.now() - 1000, durationMs: 3.5, statusCode: 0, error: false,
      httpMethod: 'GET', httpRoute: null, httpStatusCode: 200,
    };
    await writer.write({ requests: [], durationPoints: [], spans: [span] });
    expect(seen).toEqual([['gateway']]);
    await writer.close();
  });

  it('does not call listeners for a failed flush, survives a throwing listener, and stops after unsubscribe', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000 });
    const seen: string[][] = [];
    writer.onCommit(() => { throw new Error('listener bug'); });
    const unsubscribe = writer.onCommit((services) => { seen.push([...services]); });
    await writer.write({ requests: [requestRow({ serviceName: 'a' })], durationPoints: [] });
    await t.db.query('DROP TABLE service_metrics CASCADE');
    await expect(writer.write({ requests: [requestRow({ serviceName: 'b' })], durationPoints: [] })).rejects.toThrow();
    unsubscribe();
    expect(seen).toEqual([['a']]);
    await writer.close();
  });
});
