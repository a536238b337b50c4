/**
 * Overload (issues #5 and #6): past its capacity the receiver sheds with 429/503 + Retry-After
 * instead of queueing without limit — request bodies in flight (LATTICE_MAX_INFLIGHT_BYTES) and
 * the write queue (rows, bytes) are bounded — loses and duplicates nothing it acknowledged, stays
 * healthy, and recovers by itself. The real receiver process, with small limits so that a test's
 * load is "past capacity"; bench/faults measures RSS under 2× overload at the default limits.
 */
import { describe, expect, it } from 'vitest';
import { createPgDb } from '../../src/store/pg-db.js';
import { spawnReceiver } from '../e2e/harness.js';
import { ownPostgresSkipReason } from '../helpers/own-postgres.js';
import { useOwnPostgres } from './own-postgres-suite.js';
import { expectAcknowledgedPresentOnce, Ledger, runWorkers, sleep } from './ledger.js';

describe.skipIf(ownPostgresSkipReason !== undefined)('overload (own PostgreSQL)', () => {
  const own = useOwnPostgres();

  it('sheds with 429/503 + Retry-After at bounded queues, keeps what it acknowledged, recovers by itself', async () => {
    const receiver = await spawnReceiver(own.storage(), {
      // ~20 kB per 50-span export, held in flight until committed: 48 senders are past 64 kB;
      // 100 rows per export: the queue holds 20.
      LATTICE_MAX_INFLIGHT_BYTES: String(64 * 1024), LATTICE_MAX_QUEUED_ROWS: '2000',
    });
    const ledger = new Ledger('faults-overload', 50);
    let stop = false;
    let n = 0;
    const workers = runWorkers(48, () => stop, () => ledger.send(receiver.url, n++ % 4 === 3 ? 'metrics' : 'traces'));
    try {
      await sleep(4000);
      // Still answering its health check while shedding.
      const health = await fetch(`${receiver.url}/healthz`);
      expect(health.status).toBe(200);
      const body = await health.json() as { writer: { queuedRows: number } };
      expect(body.writer.queuedRows).toBeLessThanOrEqual(2000 + 100); // the limit, plus one export let in alone
    } finally {
      stop = true;
      await workers;
    }
    const shedding = ledger.summary();
    console.log(`[overload] under load: ${shedding}`);
    expect(ledger.refused).toBeGreaterThan(0);
    expect(ledger.refusedWithRetryAfter).toBe(ledger.refused);
    expect([...ledger.statuses.keys()].every((s) => s === 200 || s === 429 || s === 503)).toBe(true);
    expect(ledger.refusalCodes.get('LAT_ERR_OTLP_OVERLOADED') ?? 0).toBeGreaterThan(0);
    expect(ledger.networkErrors).toBe(0);

    // Recovers by itself: once the load is gone, every export is taken.
    const before = ledger.statuses.get(200) ?? 0;
    for (let i = 0; i < 10; i++) expect(await ledger.send(receiver.url, i % 2 === 0 ? 'traces' : 'metrics')).toBe(200);
    expect((ledger.statuses.get(200) ?? 0) - before).toBe(10);
    expect(await receiver.stop()).toBe(0);

    const db = createPgDb({ connectionString: own.pg.url, max: 1 });
    try {
      await expectAcknowledgedPresentOnce(db, ledger, 'overload', `under load: ${shedding}`);
    } finally {
      await db.close();
    }
  }, 120_000);
});

if (ownPostgresSkipReason !== undefined) describe.skip(`overload: ${ownPostgresSkipReason}`, () => { it('skipped', () => {}); });
