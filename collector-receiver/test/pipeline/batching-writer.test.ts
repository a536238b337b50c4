import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { createPgliteDb } from '../../src/store/pglite-db.js';
import type { Db, Queryable } from '../../src/store/db.js';
import { LatticeError } from '../../src/errors.js';
import { createTestDb, createUnreachableDb, testBackends, TEST_DATABASE_URL, skipReason, type TestDb } from '../helpers/test-db.js';
import { durationPoint, nanos, requestRow } from '../helpers/fixtures.js';

async function count(db: Queryable, sql: string, values: unknown[] = []): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT (${sql})::float8 AS n`, values);
  return Number(r.rows[0]!.n);
}

/** Total rollup count of the service's histograms. */
function rollupCount(db: Queryable): Promise<number> {
  return count(db, 'SELECT coalesce(sum(count), 0) FROM service_metrics_1m');
}

/** An error as pg raises it when the server refuses connections. */
function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
}

/**
 * A Db that can be switched "down": every query and transaction then fails like a refused
 * connection. `loseCommitAnswer` makes the next transaction commit for real and then fail like a
 * connection reset (the COMMIT's answer was lost). `slowMs` delays each transaction's start.
 */
function switchableDb(db: Db): Db & { down: boolean; loseCommitAnswer: boolean; slowMs: number; transactions: number } {
  const wrapped = Object.create(db) as Db & { down: boolean; loseCommitAnswer: boolean; slowMs: number; transactions: number };
  Object.assign(wrapped, { down: false, loseCommitAnswer: false, slowMs: 0, transactions: 0 });
  wrapped.query = (text, values) => (wrapped.down ? Promise.reject(refused()) : db.query(text, values));
  wrapped.transaction = async (fn) => {
    wrapped.transactions++;
    if (wrapped.down) throw refused();
    if (wrapped.slowMs > 0) await new Promise((r) => setTimeout(r, wrapped.slowMs));
    const result = await db.transaction(fn);
    if (wrapped.loseCommitAnswer) {
      wrapped.loseCommitAnswer = false;
      throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
    }
    return result;
  };
  return wrapped;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts transactions by wrapping db.transaction. */
function countingDb(db: Db): Db & { transactions: number } {
  const wrapped = Object.create(db) as Db & { transactions: number };
  wrapped.transactions = 0;
  wrapped.transaction = (fn) => { wrapped.transactions++; return db.transaction(fn); };
  return wrapped;
}

describe.each(testBackends())('createBatchingWriter on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(async () => { await t.drop(); });

  it('commits request rows before write() resolves, with services created', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
    const row = requestRow({ responseTimeMs: 12.375, startUnixMs: 1_764_000_000_123.456, callerServiceName: 'web' });
    await writer.write({ requests: [row, requestRow({ serviceName: 'billing' })], durationPoints: [] });
    const rows = await t.db.query<Record<string, unknown>>(
      `SELECT s.name, m.method, m.path, m.status_code, m.response_time_ms, m.caller_service_name, m.trace_id, m.span_id,
              (extract(epoch FROM m."timestamp") * 1000)::float8 AS ts
       FROM service_metrics m JOIN services s ON s.id = m.service_id WHERE s.name = 'checkout'`);
    expect(rows.rows).toHaveLength(1);
    const r = rows.rows[0]!;
    expect(r).toMatchObject({ name: 'checkout', method: 'GET', path: '/orders/:id', caller_service_name: 'web', trace_id: row.traceId, span_id: row.spanId });
    expect(Number(r.status_code)).toBe(200);
    expect(Number(r.response_time_ms)).toBe(12.375);
    expect(Number(r.ts)).toBeCloseTo(1_764_000_000_123.456, 2);
    expect(await count(t.db, 'SELECT count(*) FROM services')).toBe(2);
    expect(writer.stats()).toMatchObject({ committedRequests: 2, queuedRows: 0 });
    await writer.close();
  });

  it('group-commits concurrent writes in fewer transactions than writes', async () => {
    const db = countingDb(t.db);
    const writer = createBatchingWriter(db, { batchRows: 1000, maxQueuedRows: 10_000 });
    await Promise.all(Array.from({ length: 20 }, () => writer.write({ requests: [requestRow(), requestRow()], durationPoints: [] })));
    expect(await count(t.db, 'SELECT count(*) FROM service_metrics')).toBe(40);
    expect(db.transactions).toBeLessThan(20);
    expect(db.transactions).toBeGreaterThanOrEqual(1);
    await writer.close();
  });

  it('close() commits what is queued, then refuses new writes', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
    const pending = [writer.write({ requests: [requestRow()], durationPoints: [] }), writer.write({ requests: [requestRow()], durationPoints: [] })];
    await writer.close();
    await Promise.all(pending);
    expect(await count(t.db, 'SELECT count(*) FROM service_metrics')).toBe(2);
    await expect(writer.write({ requests: [requestRow()], durationPoints: [] }))
      .rejects.toMatchObject({ code: 'LAT_ERR_PIPELINE_CLOSED', statusCode: 503 });
  });

  it('splits a flush at batchRows', async () => {
    const db = countingDb(t.db);
    const writer = createBatchingWriter(db, { batchRows: 4, maxQueuedRows: 10_000, maxConcurrentFlushes: 1 });
    await Promise.all(Array.from({ length: 6 }, () => writer.write({ requests: [requestRow(), requestRow()], durationPoints: [] })));
    expect(db.transactions).toBe(3);
    await writer.close();
  });

  it('caps a flush\'s metric points at batchPoints, apart from its rows', async () => {
    const db = countingDb(t.db);
    const writer = createBatchingWriter(db, { batchRows: 4, batchPoints: 6, maxQueuedRows: 10_000, maxConcurrentFlushes: 1 });
    let stream = 0;
    const points = (n: number) => Array.from({ length: n }, () => durationPoint([5], { streamKey: `cap-${stream++}` }));
    // 2 + 3 + 3 points with one request row each: rows (2, 4) would allow two per flush, points
    // (5 ≤ 6, then 3 more > 6) end the first flush after the first two writes.
    await Promise.all([2, 3, 3].map((n) => writer.write({ requests: [requestRow()], durationPoints: points(n) })));
    expect(db.transactions).toBe(2);
    expect(writer.stats().committedPoints).toBe(8);
    await writer.close();
    // Points never count against batchRows: four writes of 4 points at batchRows 4 would be four
    // flushes if they did; at batchPoints 12 they are two (12, then 4).
    const pointsOnly = countingDb(t.db);
    const wide = createBatchingWriter(pointsOnly, { batchRows: 4, batchPoints: 12, maxQueuedRows: 10_000, maxConcurrentFlushes: 1 });
    await Promise.all([4, 4, 4, 4].map((n) => wide.write({ requests: [], durationPoints: points(n) })));
    expect(pointsOnly.transactions).toBe(2);
    expect(wide.stats().committedPoints).toBe(16);
    await wide.close();
  });

  it('stores a retried export of the same spans once', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
    const batch = { requests: [requestRow(), requestRow()], durationPoints: [] };
    await writer.write(batch);
    await writer.write(batch);
    await Promise.all([writer.write(batch), writer.write(batch)]);
    expect(await count(t.db, 'SELECT count(*) FROM service_metrics')).toBe(2);
    expect(writer.stats().duplicateRequests).toBe(6);
    await writer.close();
  });

  it('creates daily partitions for the days in a batch', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
    const day = Date.parse('2026-03-01T23:59:59.999Z');
    await writer.write({ requests: [requestRow({ startUnixMs: day }), requestRow({ startUnixMs: day + 2 })], durationPoints: [] });
    const parts = await t.db.query<{ name: string }>(
      `SELECT to_regclass('service_metrics_p20260301')::text AS a, to_regclass('service_metrics_p20260302')::text AS b`);
    expect(parts.rows[0]).toEqual({ a: 'service_metrics_p20260301', b: 'service_metrics_p20260302' });
    await writer.close();
  });

  it('adds delta points into minute rollups and skips a retried delta point', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
    const p = durationPoint([10, 20, 30]);
    await writer.write({ requests: [], durationPoints: [p] });
    await writer.write({ requests: [], durationPoints: [p] });
    const later = durationPoint([40], { startTimeUnixNano: p.timeUnixNano, timeUnixNano: (BigInt(p.timeUnixNano) + 1n).toString() });
    await writer.write({ requests: [], durationPoints: [later, p] });
    expect(await rollupCount(t.db)).toBe(4);
    const row = await t.db.query<{ sum: number; min: number; max: number }>('SELECT sum, min, max FROM service_metrics_1m');
    expect(row.rows).toHaveLength(1);
    expect(Number(row.rows[0]!.sum)).toBe(100);
    expect(Number(row.rows[0]!.min)).toBe(10);
    expect(Number(row.rows[0]!.max)).toBe(40);
    await writer.close();
  });

  it('turns cumulative points into deltas, across restarts and resets, without double counting retries', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
    const t0 = Date.now() - 120_000;
    const cumulative = (values: number[], startMs: number, timeMs: number) =>
      durationPoint(values, { temporality: 'cumulative', startTimeUnixNano: nanos(startMs), timeUnixNano: nanos(timeMs) });
    await writer.write({ requests: [], durationPoints: [cumulative([5, 6], t0, t0 + 10_000)] });
    expect(await rollupCount(t.db)).toBe(2);
    await writer.write({ requests: [], durationPoints: [cumulative([5, 6, 7], t0, t0 + 20_000)] });
    expect(await rollupCount(t.db)).toBe(3);
    // retried export of the same cumulative point: nothing new
    await writer.write({ requests: [], durationPoints: [cumulative([5, 6, 7], t0, t0 + 20_000)] });
    expect(await rollupCount(t.db)).toBe(3);
    // process restart: new start time; the point itself is the delta
    await writer.write({ requests: [], durationPoints: [cumulative([9], t0 + 30_000, t0 + 40_000)] });
    expect(await rollupCount(t.db)).toBe(4);
    // a stale point from before the restart: skipped
    await writer.write({ requests: [], durationPoints: [cumulative([5, 6, 7, 8], t0, t0 + 35_000)] });
    expect(await rollupCount(t.db)).toBe(4);
    // counter reset under the same start time: count went down, the point is the delta
    await writer.write({ requests: [], durationPoints: [cumulative([3], t0 + 30_000, t0 + 50_000)] });
    expect(await rollupCount(t.db)).toBe(5);
    const sums = await t.db.query<{ s: number }>('SELECT sum(sum)::float8 AS s FROM service_metrics_1m');
    expect(Number(sums.rows[0]!.s)).toBe(5 + 6 + 7 + 9 + 3);
    await writer.close();
  });

  it('shares cumulative state between two writers (two replicas) on one database', async () => {
    const other = await t.openAnother();
    const a = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
    const b = createBatchingWriter(other, { batchRows: 100, maxQueuedRows: 1000 });
    const t0 = Date.now() - 120_000;
    const values: number[] = [];
    const writes: Promise<void>[] = [];
    // The same stream's successive cumulative points land on alternating replicas, concurrently,
    // and every point is delivered twice (once to each replica).
    const points = [];
    for (let i = 1; i <= 10; i++) {
      values.push(i);
      points.push(durationPoint(values.slice(), { temporality: 'cumulative', startTimeUnixNano: nanos(t0), timeUnixNano: nanos(t0 + i * 1000) }));
    }
    for (const p of points) {
      writes.push(a.write({ requests: [], durationPoints: [p] }), b.write({ requests: [], durationPoints: [p] }));
    }
    await Promise.all(writes);
    // Whatever order they committed in, the total equals the last cumulative count: out-of-order
    // points are skipped as stale, duplicates as duplicates; never double counted.
    const total = await rollupCount(t.db);
    const lastApplied = await t.db.query<{ last: string }>('SELECT last_time_unix_nano::text AS last FROM metric_streams');
    // deltas telescope: the sum of applied deltas is the count of the last applied point
    expect(total).toBe(points.findIndex((p) => p.timeUnixNano === lastApplied.rows[0]!.last) + 1);
    const last = points[points.length - 1]!;
    await a.write({ requests: [], durationPoints: [last] });
    expect(await rollupCount(t.db)).toBe(total);
    const state = await t.db.query<{ last: string }>('SELECT last_time_unix_nano::text AS last FROM metric_streams');
    expect(state.rows).toHaveLength(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('holds writes while the database is unreachable and commits them once when it returns', async () => {
    const db = switchableDb(t.db);
    const writer = createBatchingWriter(db, { batchRows: 100, maxQueuedRows: 1000, holdMs: 60_000, retryMinMs: 20, retryMaxMs: 50 });
    db.down = true;
    let settled = 0;
    const writes = Array.from({ length: 5 }, () => writer.write({ requests: [requestRow(), requestRow()], durationPoints: [durationPoint([5], { streamKey: `s-${Math.random()}` })] })
      .then(() => { settled++; }));
    await sleep(300);
    expect(settled).toBe(0);
    expect(writer.stats()).toMatchObject({ queuedRows: 15, databaseReachable: false });
    expect(writer.stats().unreachableSince).not.toBeNull();
    expect(writer.stats().unavailableFlushes).toBeGreaterThan(1); // it retried on its own
    db.down = false;
    await Promise.all(writes);
    expect(await count(t.db, 'SELECT count(*) FROM service_metrics')).toBe(10);
    expect(await rollupCount(t.db)).toBe(5);
    expect(writer.stats()).toMatchObject({ queuedRows: 0, queuedBytes: 0, databaseReachable: true, unreachableSince: null, failedBatches: 0 });
    await writer.close();
  });

  it('answers LAT_ERR_PIPELINE_HOLD_EXPIRED (503) past holdMs and never writes that batch afterwards', async () => {
    const db = switchableDb(t.db);
    const writer = createBatchingWriter(db, { batchRows: 100, maxQueuedRows: 1000, holdMs: 200, retryMinMs: 20, retryMaxMs: 50 });
    db.down = true;
    const err = await writer.write({ requests: [requestRow()], durationPoints: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LatticeError);
    expect(err).toMatchObject({ code: 'LAT_ERR_PIPELINE_HOLD_EXPIRED', statusCode: 503, retryAfterSeconds: 5 });
    expect((err as Error).message).toContain('ECONNREFUSED');
    expect(writer.stats()).toMatchObject({ queuedRows: 0, expiredWrites: 1 });
    db.down = false;
    await writer.write({ requests: [requestRow()], durationPoints: [] });
    expect(await count(t.db, 'SELECT count(*) FROM service_metrics')).toBe(1);
    await writer.close();
  });

  it('refuses with LAT_ERR_PIPELINE_OUTAGE_BUFFER_FULL (503, not 429) while the database is down and the buffer is full', async () => {
    const db = switchableDb(t.db);
    const writer = createBatchingWriter(db, { batchRows: 100, maxQueuedRows: 4, holdMs: 60_000, retryMinMs: 20, retryMaxMs: 50 });
    db.down = true;
    const held = writer.write({ requests: [requestRow(), requestRow(), requestRow()], durationPoints: [] });
    await sleep(50); // the first flush has found the database down
    await expect(writer.write({ requests: [requestRow(), requestRow()], durationPoints: [] }))
      .rejects.toMatchObject({ code: 'LAT_ERR_PIPELINE_OUTAGE_BUFFER_FULL', statusCode: 503, retryAfterSeconds: 2 });
    expect(writer.refusal()).toBeUndefined(); // 3 of 4 rows: a 1-row export still fits
    const fits = writer.write({ requests: [requestRow()], durationPoints: [] });
    expect(writer.refusal()).toMatchObject({ code: 'LAT_ERR_PIPELINE_OUTAGE_BUFFER_FULL', statusCode: 503 });
    db.down = false;
    await fits;
    await held;
    expect(await count(t.db, 'SELECT count(*) FROM service_metrics')).toBe(4);
    await writer.close();
  });

  it('writes a retried flush once when the COMMIT went through but its answer was lost', async () => {
    const db = switchableDb(t.db);
    const writer = createBatchingWriter(db, { batchRows: 100, maxQueuedRows: 1000, retryMinMs: 20 });
    db.loseCommitAnswer = true;
    const p = durationPoint([7, 8]);
    await writer.write({ requests: [requestRow(), requestRow()], durationPoints: [p], spans: [] });
    expect(db.transactions).toBe(2);
    expect(await count(t.db, 'SELECT count(*) FROM service_metrics')).toBe(2);
    expect(await rollupCount(t.db)).toBe(2);
    expect(writer.stats()).toMatchObject({ unavailableFlushes: 1, duplicateRequests: 2, skippedPoints: 1 });
    await writer.close();
  });

  it('keeps the outage on when a flush begun before it commits (bench/faults saw 429 instead of 503 mid-outage)', async () => {
    const db = switchableDb(t.db);
    const writer = createBatchingWriter(db, { batchRows: 1, maxQueuedRows: 1000, maxConcurrentFlushes: 2, retryMinMs: 20, retryMaxMs: 50 });
    db.slowMs = 300;
    const early = writer.write({ requests: [requestRow()], durationPoints: [] }); // its flush is under way
    await sleep(50);
    db.down = true;
    const held = writer.write({ requests: [requestRow()], durationPoints: [] }); // its flush fails: outage
    await early;
    expect(writer.stats().databaseReachable).toBe(false);
    db.down = false;
    await held;
    expect(writer.stats().databaseReachable).toBe(true);
    expect(await count(t.db, 'SELECT count(*) FROM service_metrics')).toBe(2);
    await writer.close();
  });

  it('never answers a write inside a running flush before the flush ends, even past holdMs', async () => {
    const db = switchableDb(t.db);
    const writer = createBatchingWriter(db, { batchRows: 100, maxQueuedRows: 1000, holdMs: 50 });
    db.slowMs = 300;
    await writer.write({ requests: [requestRow()], durationPoints: [] });
    expect(await count(t.db, 'SELECT count(*) FROM service_metrics')).toBe(1);
    await writer.close();
  });

  it('refuses a write beyond maxQueuedBytes with LAT_ERR_PIPELINE_SATURATED (429)', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 10, maxQueuedRows: 1000, maxQueuedBytes: 10_000 });
    // 10 rows = 6,000 estimated bytes (ROW_HEAP_BYTES each): the second write would make 12,000.
    const tenRows = () => ({ requests: Array.from({ length: 10 }, () => requestRow()), durationPoints: [] });
    const first = writer.write(tenRows());
    const second = writer.write(tenRows());
    await expect(second).rejects.toMatchObject({ code: 'LAT_ERR_PIPELINE_SATURATED', statusCode: 429, retryAfterSeconds: 1 });
    await expect(second).rejects.toThrow(/LATTICE_MAX_QUEUED_BYTES/);
    await first;
    expect(writer.stats().queuedBytes).toBe(0);
    await writer.close();
  });

  it('refuses a write beyond maxQueuedRows with LAT_ERR_PIPELINE_SATURATED (429)', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 10, maxQueuedRows: 5 });
    const first = writer.write({ requests: [requestRow(), requestRow(), requestRow()], durationPoints: [] });
    const second = writer.write({ requests: [requestRow(), requestRow(), requestRow()], durationPoints: [] });
    await expect(second).rejects.toMatchObject({ code: 'LAT_ERR_PIPELINE_SATURATED', statusCode: 429, retryAfterSeconds: 1 });
    expect(writer.refusal()).toBeUndefined(); // 3 of 5 rows
    const third = writer.write({ requests: [requestRow(), requestRow()], durationPoints: [] });
    expect(writer.refusal()).toMatchObject({ code: 'LAT_ERR_PIPELINE_SATURATED', statusCode: 429 });
    await Promise.all([first, third]);
    expect(writer.refusal()).toBeUndefined();
    await writer.write({ requests: [requestRow()], durationPoints: [] });
    await writer.close();
  });

  it('accepts one batch larger than maxQueuedRows when nothing else waits (else it could never be sent)', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 10, maxQueuedRows: 2 });
    await writer.write({ requests: [requestRow(), requestRow(), requestRow()], durationPoints: [] });
    expect(await count(t.db, 'SELECT count(*) FROM service_metrics')).toBe(3);
    await writer.close();
  });

  it('recreates a cached daily partition that was dropped (retention) instead of failing', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
    const day = Date.parse('2026-03-05T12:00:00Z');
    await writer.write({ requests: [requestRow({ startUnixMs: day })], durationPoints: [] });
    await t.db.query('DROP TABLE service_metrics_p20260305');
    await writer.write({ requests: [requestRow({ startUnixMs: day })], durationPoints: [] });
    expect(await count(t.db, 'SELECT count(*) FROM service_metrics')).toBe(1);
    await writer.close();
  });

  it('rejects with LAT_ERR_STORE_WRITE_FAILED and writes nothing when one statement of the flush fails', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
    // An explicit point whose counts do not fit a bigint makes the rollup upsert fail after the
    // request rows were inserted in the same transaction.
    const bad = durationPoint([1], { buckets: { kind: 'explicit', bounds: [1], counts: [1e30, 0] }, count: 1 });
    await expect(writer.write({ requests: [requestRow()], durationPoints: [bad] }))
      .rejects.toMatchObject({ code: 'LAT_ERR_STORE_WRITE_FAILED', statusCode: 500 });
    expect(await count(t.db, 'SELECT count(*) FROM service_metrics')).toBe(0);
    expect(await count(t.db, 'SELECT count(*) FROM metric_streams WHERE state IS NOT NULL')).toBe(0);
    expect(await count(t.db, 'SELECT count(*) FROM delta_streams')).toBe(0);
    await writer.close();
  });
});

describe('createBatchingWriter when the database stays down', () => {
  it('holds, retries, then answers LAT_ERR_PIPELINE_HOLD_EXPIRED (503) on a closed PGlite', async () => {
    const db = await createPgliteDb();
    await db.close();
    const errorsSeen: string[] = [];
    const writer = createBatchingWriter(db, { batchRows: 100, maxQueuedRows: 1000, holdMs: 400, retryMinMs: 20, onFlushError: (e) => errorsSeen.push(e.code) });
    const err = await writer.write({ requests: [requestRow()], durationPoints: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LatticeError);
    expect(err).toMatchObject({ code: 'LAT_ERR_PIPELINE_HOLD_EXPIRED', statusCode: 503, retryAfterSeconds: 5 });
    expect(errorsSeen.length).toBeGreaterThan(1);
    expect(new Set(errorsSeen)).toEqual(new Set(['LAT_ERR_STORE_UNAVAILABLE']));
    expect(writer.stats()).toMatchObject({ failedBatches: 0, expiredWrites: 1, queuedRows: 0, databaseReachable: false });
    await writer.close();
  });

  it('holds, then answers 503 when the server port is closed', async () => {
    const db = createUnreachableDb();
    const writer = createBatchingWriter(db, { batchRows: 100, maxQueuedRows: 1000, holdMs: 300, retryMinMs: 20 });
    await expect(writer.write({ requests: [requestRow()], durationPoints: [] }))
      .rejects.toMatchObject({ code: 'LAT_ERR_PIPELINE_HOLD_EXPIRED', statusCode: 503 });
    await writer.close();
    await db.close();
  });
});

describe.skipIf(!TEST_DATABASE_URL)('createBatchingWriter when the server goes away mid-flight', () => {
  it('rolls back: nothing half-written, retried on a fresh connection', async () => {
    const t = await createTestDb('postgres');
    try {
      const writer = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
      await writer.write({ requests: [requestRow()], durationPoints: [] });
      // Kill this test's own pool connections (application_name = its schema), nobody else's.
      const killer = await t.openAnother();
      await killer.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                          WHERE pid <> pg_backend_pid() AND application_name = $1`, [t.schema]);
      // The pool notices the dead connections on the next write; a flush that fails on one is
      // retried on a fresh connection: every write commits, none half-written or twice.
      const results = await Promise.allSettled([1, 2, 3].map(() => writer.write({ requests: [requestRow(), requestRow()], durationPoints: [] })));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      expect(await count(killer, 'SELECT count(*) FROM service_metrics')).toBe(1 + 2 * 3);
    } finally {
      await t.drop();
    }
  });
});

describe.skipIf(!TEST_DATABASE_URL)('two replicas on a real server', () => {
  it('create the same new daily partitions at once without failing', async () => {
    const t = await createTestDb('postgres');
    try {
      const other = await t.openAnother();
      const a = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
      const b = createBatchingWriter(other, { batchRows: 100, maxQueuedRows: 1000 });
      const days = [0, 1, 2, 3].map((d) => Date.parse('2026-06-01T12:00:00Z') + d * 86_400_000);
      const batch = () => ({ requests: days.map((ms) => requestRow({ startUnixMs: ms })), durationPoints: [] });
      await Promise.all([a.write(batch()), b.write(batch()), a.write(batch()), b.write(batch())]);
      expect(await count(t.db, 'SELECT count(*) FROM service_metrics')).toBe(16);
      expect(await count(t.db, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'service_metrics'::regclass")).toBe(4);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await t.drop();
    }
  });
});

if (!TEST_DATABASE_URL) describe.skip(`real-server tests: ${skipReason}`, () => { it('skipped', () => {}); });
