import { vi, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAINTENANCE_LOCK_ARGS, runMaintenance, startMaintenance, type MaintenanceSettings } from '../../src/store/maintenance/maintenance.js';
import { TEST_DATABASE_URL, createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { comparable, createServices, insertMinuteRows, mergeMinuteRows, randomMinuteRows, readMerged } from './rollup-helpers.js';

// Storage-heavy on a shared 2-core machine: generous limits (a slow box is not a failure).
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const T = Date.parse('2026-11-20T09:00:00Z');
const HOUR = 3_600_000;
const FIVE = 300_000;
const SETTINGS: MaintenanceSettings = { retentionRawDays: 7, retention1mDays: 30, retention5mDays: 90, retention1hDays: 400 };

describe.each(testBackends())('rollups 1m → 5m → 1h on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(async () => { await t.drop(); });

  async function seed(minutes = 3 * 60, seedNo = 1) {
    const ids = await createServices(t.db, ['checkout', 'payments']);
    const rows = randomMinuteRows(ids, T, minutes, seedNo);
    await insertMinuteRows(t.db, rows);
    return { ids, rows };
  }
  const rollup = (nowMs: number) => runMaintenance(t.db, SETTINGS, { nowMs, rollupsOnly: true });

  it('5m and 1h rows are the exact merge of the 1m rows (counts, sums, min/max, buckets at aligned offsets)', async () => {
    const { rows } = await seed();
    const result = await rollup(T + 4 * HOUR);
    expect(result).toMatchObject({ ran: true, rollups: { rolledTo5m: new Date(T + 4 * HOUR - FIVE).toISOString() } });
    expect(comparable(await readMerged(t.db, 'service_metrics_5m', FIVE))).toEqual(comparable(mergeMinuteRows(rows, FIVE)));
    expect(comparable(await readMerged(t.db, 'service_metrics_1h', HOUR))).toEqual(comparable(mergeMinuteRows(rows, HOUR)));
    // 1h rows are one per key and hour (not several partial ones).
    const n = await t.db.query<{ n: number; hours: number }>('SELECT count(*)::int AS n, count(DISTINCT minute)::int AS hours FROM service_metrics_1h');
    expect(n.rows[0]).toEqual({ n: mergeMinuteRows(rows, HOUR).size, hours: 3 });
  });

  it('rolls only closed periods and moves the watermarks with them', async () => {
    const { rows } = await seed(90);
    // now = 10:12:30 → with 60 s grace the last closed 5-minute period ends 10:10; no hour after 10:00.
    const result = await rollup(T + HOUR + 12 * 60_000 + 30_000);
    expect(result).toMatchObject({ ran: true, rollups: {
      rolledTo5m: new Date(T + HOUR + 10 * 60_000).toISOString(), rolledTo1h: new Date(T + HOUR).toISOString() } });
    const max5 = await t.db.query<{ t: Date }>('SELECT max(minute) AS t FROM service_metrics_5m');
    expect(new Date(max5.rows[0]!.t).getTime()).toBe(T + HOUR + 5 * 60_000);
    expect(comparable(await readMerged(t.db, 'service_metrics_1h', HOUR)))
      .toEqual(comparable(mergeMinuteRows(rows.filter((r) => r.minuteMs < T + HOUR), HOUR)));
  });

  it('is idempotent: a second run (and a late re-run) changes nothing', async () => {
    await seed(120);
    await rollup(T + 3 * HOUR);
    const snapshot = async () => ({
      five: await t.db.query('SELECT * FROM service_metrics_5m ORDER BY service_id, minute, method, route, status_code, caller, layout'),
      hour: await t.db.query('SELECT * FROM service_metrics_1h ORDER BY service_id, minute, method, route, status_code, caller, layout'),
    });
    const before = await snapshot();
    const again = await rollup(T + 3 * HOUR);
    expect(again).toMatchObject({ ran: true, rollups: { rows5m: 0, rows1h: 0 } });
    const later = await rollup(T + 3 * HOUR + 7 * 60_000);
    expect(later).toMatchObject({ ran: true, rollups: { rows5m: 0, rows1h: 0 } });
    expect((await snapshot()).five.rows).toEqual(before.five.rows);
    expect((await snapshot()).hour.rows).toEqual(before.hour.rows);
  });

  it('a 1m row that arrives late (within the lookback) reaches the 5m and 1h rows on the next run', async () => {
    const { ids, rows } = await seed(120);
    await rollup(T + 2 * HOUR + 2 * 60_000); // 5m watermark 11:00, 1h watermark 11:00
    const late = randomMinuteRows(ids, T + 2 * HOUR - 3 * 60_000, 1, 99); // minute 10:57, already rolled up
    await insertMinuteRows(t.db, late);
    const result = await rollup(T + 2 * HOUR + 3 * 60_000);
    expect(result.ran && result.rollups.rows5m).toBeGreaterThan(0);
    const all = [...rows, ...late];
    expect(comparable(await readMerged(t.db, 'service_metrics_5m', FIVE))).toEqual(comparable(mergeMinuteRows(all, FIVE)));
    expect(comparable(await readMerged(t.db, 'service_metrics_1h', HOUR))).toEqual(comparable(mergeMinuteRows(all, HOUR)));
  });

  it('does nothing and keeps no watermark on an empty database', async () => {
    const result = await rollup(T);
    expect(result).toEqual({ ran: true, rollups: { rows5m: 0, rows1h: 0, routeRows: 0, latePeriods: 0, rolledTo5m: null, rolledTo1h: null }, retention: null });
  });
});

describe.each(testBackends())('rollups by two replicas at once on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(async () => { await t.drop(); });

  it('one pass does the work, the other skips; the result is the exact merge', async () => {
    const ids = await createServices(t.db, ['checkout']);
    const rows = randomMinuteRows(ids, T, 6 * 60, 7);
    await insertMinuteRows(t.db, rows);
    const other = await t.openAnother();
    const [a, b] = await Promise.all([
      runMaintenance(t.db, SETTINGS, { nowMs: T + 7 * HOUR, rollupsOnly: true }),
      runMaintenance(other, SETTINGS, { nowMs: T + 7 * HOUR, rollupsOnly: true }),
    ]);
    const ran = [a, b].filter((r) => r.ran);
    // Either the passes overlapped and one found the lock taken, or the second ran after the
    // first and found nothing left to change: never both writing.
    const written = ran.map((r) => (r.ran ? r.rollups.rows5m : 0));
    expect(written.filter((n) => n > 0)).toHaveLength(1);
    expect(comparable(await readMerged(t.db, 'service_metrics_5m', FIVE))).toEqual(comparable(mergeMinuteRows(rows, FIVE)));
    expect(comparable(await readMerged(t.db, 'service_metrics_1h', HOUR))).toEqual(comparable(mergeMinuteRows(rows, HOUR)));
  });
});

describe.skipIf(!TEST_DATABASE_URL)('rollups while another replica holds the maintenance lock (real server)', () => {
  it('skips at once without writing, then runs once the lock is free', async () => {
    const t = await createTestDb('postgres');
    try {
      const ids = await createServices(t.db, ['checkout']);
      await insertMinuteRows(t.db, randomMinuteRows(ids, T, 30, 3));
      const other = await t.openAnother();
      const whileHeld = await other.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(${MAINTENANCE_LOCK_ARGS})`);
        return runMaintenance(t.db, SETTINGS, { nowMs: T + HOUR });
      });
      expect(whileHeld).toEqual({ ran: false });
      const rows = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM service_metrics_5m');
      expect(rows.rows[0]!.n).toBe(0);
      const after = await runMaintenance(t.db, SETTINGS, { nowMs: T + HOUR });
      expect(after.ran && after.rollups.rows5m).toBeGreaterThan(0);
    } finally {
      await t.drop();
    }
  });
});

describe.each(testBackends())('startMaintenance on %s', (backend) => {
  it('runs a pass at once and every interval, and stop() waits for the running pass', async () => {
    const t = await createTestDb(backend);
    try {
      const ids = await createServices(t.db, ['checkout']);
      // Minutes well in the past: the real clock's pass rolls them up.
      await insertMinuteRows(t.db, randomMinuteRows(ids, Date.now() - 3 * HOUR - (Date.now() % HOUR), 30, 5));
      const passes: unknown[] = [];
      const errors: unknown[] = [];
      let second!: () => void;
      const twice = new Promise<void>((resolve) => { second = resolve; });
      const handle = startMaintenance(t.db, SETTINGS, {
        intervalMs: 10,
        onPass: (r) => { passes.push(r); if (passes.length === 2) second(); },
        onError: (e) => errors.push(e),
      });
      await twice;
      await handle.stop();
      const after = passes.length;
      await new Promise((r) => setTimeout(r, 50));
      expect(passes.length).toBe(after); // stopped: no pass after stop()
      expect(errors).toEqual([]);
      expect(passes[0]).toMatchObject({ ran: true });
      const n = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM service_metrics_5m');
      expect(n.rows[0]!.n).toBeGreaterThan(0);
    } finally {
      await t.drop();
    }
  });
});
