import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { durationPoint, requestRow } from '../helpers/fixtures.js';

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
