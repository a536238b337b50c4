import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { ensureDayPartitions, utcDay } from '../../src/store/queries/partitions.js';
import { upsertServices } from '../../src/store/queries/services.js';
import { insertSpans, selectTrace, toJourney, type StoredSpan } from '../../src/store/queries/traces.js';
import type { SpanRow } from '../../src/translate/rows.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';

const TRACE = 'a1'.repeat(16);

function spanRow(spanId: string, parentSpanId: string | null, startUnixMs: number, overrides: Partial<SpanRow> = {}): SpanRow {
  return {
    serviceName: 'checkout', traceId: TRACE, spanId: spanId.padStart(16, '0'), parentSpanId: parentSpanId?.padStart(16, '0') ?? null,
    name: `span ${spanId}`, kind: 'internal', startUnixMs, durationMs: 10, statusCode: 0, error: false,
    httpMethod: null, httpRoute: null, httpStatusCode: null, ...overrides,
  };
}

describe.each(testBackends())('spans storage on %s', (backend) => {
  let t: TestDb;
  // The first createTestDb of a process migrates the PGlite template (tens of seconds on a loaded
  // machine): do it once here, with room, rather than inside the first test's budget.
  beforeAll(async () => { await (await createTestDb(backend)).drop(); }, 180_000);
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(() => t.drop());

  it('creates the day partitions of spans with those of service_metrics and stores each span once', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
    // A trace that crosses midnight UTC: two partitions of each table.
    const base = Math.floor(Date.now() / 86_400_000) * 86_400_000; // 00:00 UTC today
    const rows = [spanRow('1', null, base - 50, { kind: 'server', httpMethod: 'GET', httpRoute: '/a', httpStatusCode: 200 }), spanRow('2', '1', base + 5.125)];
    await writer.write({ requests: [], durationPoints: [], spans: rows });
    await writer.write({ requests: [], durationPoints: [], spans: rows }); // a retried export
    await writer.close();
    const stored = await t.db.query<{ n: number; partitions: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT tableoid)::int AS partitions FROM spans WHERE trace_id = $1`, [TRACE]);
    expect(stored.rows[0]).toEqual({ n: 2, partitions: 2 });
    const day = new Date(base).toISOString().slice(0, 10).replaceAll('-', '');
    const tables = await t.db.query<{ name: string | null }>('SELECT to_regclass($1)::text AS name', [`spans_p${day}`]);
    expect(tables.rows[0]!.name).toBe(`spans_p${day}`);
    // Microseconds survive the round trip.
    const trace = await selectTrace(t.db, TRACE);
    expect(trace!.spans.map((s) => [s.depth, s.offsetMs])).toEqual([[0, 0], [1, 55.125]]);
  });

  it('insertSpans skips spans already stored and says how many were new', async () => {
    const now = Date.parse('2026-11-27T12:00:00Z');
    const ids = await t.db.transaction(async (tx) => {
      await ensureDayPartitions(tx, [utcDay(now)]);
      return upsertServices(tx, ['checkout']);
    });
    const first = await t.db.transaction((tx) => insertSpans(tx, [spanRow('1', null, now), spanRow('2', '1', now + 1)], ids));
    const again = await t.db.transaction((tx) => insertSpans(tx, [spanRow('2', '1', now + 1), spanRow('3', '1', now + 2)], ids));
    expect([first, again]).toEqual([2, 1]);
  });

  it('answers null for a trace with no stored span, and caps a runaway trace', async () => {
    const writer = createBatchingWriter(t.db, { batchRows: 100, maxQueuedRows: 1000 });
    const now = Date.now() - 10_000;
    await writer.write({ requests: [], durationPoints: [], spans: [spanRow('1', null, now), spanRow('2', '1', now + 1), spanRow('3', '1', now + 2)] });
    await writer.close();
    expect(await selectTrace(t.db, 'b2'.repeat(16))).toBeNull();
    const capped = await selectTrace(t.db, TRACE, 2);
    expect(capped!.truncated).toBe(true);
    expect(capped!.spans.map((s) => s.spanId)).toEqual(['0000000000000001', '0000000000000002']);
  });
});

function stored(spanId: string, parentSpanId: string | null, startMs: number, durationMs = 1): StoredSpan {
  return { spanId, parentSpanId, service: 's', name: spanId, kind: 'internal', method: null, route: null, statusCode: null, startMs, durationMs, error: false };
}

describe('toJourney', () => {
  it('lists each parent before its children, siblings by start, depth-first', () => {
    const journey = toJourney([
      stored('c2', 'root', 30), stored('root', null, 0, 100), stored('c1', 'root', 10), stored('g1', 'c1', 12), stored('g2', 'c2', 31),
    ]);
    expect(journey.spans.map((s) => [s.spanId, s.depth, s.offsetMs])).toEqual([
      ['root', 0, 0], ['c1', 1, 10], ['g1', 2, 12], ['c2', 1, 30], ['g2', 2, 31],
    ]);
    expect(journey.durationMs).toBe(100);
  });

  it('shows a span whose parent is not stored as a root (an unsampled or uninstrumented hop)', () => {
    const journey = toJourney([stored('a', null, 0), stored('b', 'missing', 5), stored('c', 'b', 6)]);
    expect(journey.spans.map((s) => [s.spanId, s.parentSpanId, s.depth])).toEqual([['a', null, 0], ['b', 'missing', 0], ['c', 'b', 1]]);
  });

  it('still lists every span of a parent cycle (malformed input), once', () => {
    const journey = toJourney([stored('x', 'y', 1), stored('y', 'x', 2), stored('z', 'z', 3)]);
    expect(journey.spans.map((s) => [s.spanId, s.depth])).toEqual([['z', 0], ['x', 0], ['y', 1]]);
  });

  it('walks a chain of 10 000 spans without exhausting the stack', () => {
    const chain = Array.from({ length: 10_000 }, (_, i) => stored(`s${i}`, i === 0 ? null : `s${i - 1}`, i));
    const journey = toJourney(chain.reverse());
    expect(journey.spans).toHaveLength(10_000);
    expect(journey.spans[9_999]).toMatchObject({ spanId: 's9999', depth: 9_999 });
  });
});
