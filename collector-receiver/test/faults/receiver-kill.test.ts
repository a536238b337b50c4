/**
 * `kill -9` of the receiver during load (issue #6 "Faults"): every acknowledged span and point is
 * in the database after the restart, none twice — on a PostgreSQL of the test's own, also when the
 * receiver dies while it holds exports for an unreachable database (those were never
 * acknowledged, so their senders still have them).
 */
import { describe, expect, it } from 'vitest';
import { createPgDb } from '../../src/store/pg-db.js';
import { spawnReceiver, type RunningProcess } from '../e2e/harness.js';
import { ownPostgresSkipReason } from '../helpers/own-postgres.js';
import { useOwnPostgres } from './own-postgres-suite.js';
import { expectAcknowledgedPresentOnce, Ledger, runWorkers, sleep } from './ledger.js';

async function killHard(receiver: RunningProcess): Promise<void> {
  const exited = new Promise((r) => receiver.child.once('exit', r));
  receiver.child.kill('SIGKILL');
  await exited;
}

describe.skipIf(ownPostgresSkipReason !== undefined)('kill -9 of the receiver (own PostgreSQL)', () => {
  const own = useOwnPostgres();  const storage = own.storage;

  async function check(ledger: Ledger, label: string): Promise<void> {
    // The receiver comes back on the same database, healthy …
    const restarted = await spawnReceiver(storage());
    expect((await fetch(`${restarted.url}/healthz`)).status).toBe(200);
    expect(await restarted.stop()).toBe(0);
    // … and every acknowledged span and point is there, once.
    const db = createPgDb({ connectionString: own.pg.url, max: 1 });
    try {
      await expectAcknowledgedPresentOnce(db, ledger, label, ledger.summary());
    } finally {
      await db.close();
    }
  }

  it('keeps every acknowledged span and point when killed mid-load', async () => {
    const receiver = await spawnReceiver(storage());
    const ledger = new Ledger('faults-kill', 25);
    let stop = false;
    let n = 0;
    const workers = runWorkers(8, () => stop, () => ledger.send(receiver.url, n++ % 2 === 0 ? 'traces' : 'metrics'));
    while (ledger.acked.size < 40) await sleep(20);
    await killHard(receiver);
    stop = true;
    await workers;
    expect(ledger.networkErrors).toBeGreaterThan(0); // exports in flight at the kill: not acknowledged
    await check(ledger, 'kill -9 under load');
  }, 120_000);

  it('keeps every acknowledged export when killed while holding exports for an unreachable database', async () => {
    const receiver = await spawnReceiver(storage(), { LATTICE_OUTAGE_HOLD_MS: '30000' });
    const ledger = new Ledger('faults-kill-outage', 25);
    let stop = false;
    let n = 0;
    const workers = runWorkers(8, () => stop, () => ledger.send(receiver.url, n++ % 2 === 0 ? 'traces' : 'metrics'));
    try {
      while (ledger.acked.size < 20) await sleep(20);
      await own.pg.stop('fast');
      await sleep(1000);
      const health = await (await fetch(`${receiver.url}/healthz`)).json() as { writer: { queuedRows: number } };
      expect(health.writer.queuedRows).toBeGreaterThan(0);
      await killHard(receiver);
    } finally {
      stop = true;
      await workers;
      if (!own.pg.running) await own.pg.start();
    }
    await check(ledger, 'kill -9 during an outage');
  }, 120_000);
});

if (ownPostgresSkipReason !== undefined) describe.skip(`kill -9: ${ownPostgresSkipReason}`, () => { it('skipped', () => {}); });
