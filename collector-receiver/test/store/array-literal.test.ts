import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toBareArrayLiteral, toQuotedArrayLiteral } from '../../src/store/queries/array-literal.js';
import { ensureDayPartitions, utcDay } from '../../src/store/queries/partitions.js';
import { insertRequests } from '../../src/store/queries/requests.js';
import { upsertServices } from '../../src/store/queries/services.js';
import { insertSpans } from '../../src/store/queries/traces.js';
import type { SpanRow } from '../../src/translate/rows.js';
import { requestRow } from '../helpers/fixtures.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';

/** Text a literal could get wrong: quotes, backslashes, separators, braces, the word NULL, blanks. */
const HOSTILE = ['say "hi"', 'C:\\temp\\', '\\"', 'a,b', '{x}', 'NULL', 'null', '', ' padded ', 'tab\there', 'line\nbreak', 'ünï©ødé 🚀', '\'quoted\''];

describe('array literals', () => {
  it('leaves bare elements unquoted and writes null and undefined as NULL', () => {
    expect(toBareArrayLiteral([1, 2.5, null, undefined, true], (v) => v)).toBe('{1,2.5,NULL,NULL,true}');
    expect(toBareArrayLiteral([], (v: number) => v)).toBe('{}');
  });

  it('quotes every text element and escapes only " and \\', () => {
    expect(toQuotedArrayLiteral(['a', 'say "hi"', 'C:\\t', null, 'NULL', ''], (v) => v)).toBe('{"a","say \\"hi\\"","C:\\\\t",NULL,"NULL",""}');
  });
});

describe.each(testBackends())('column arrays as literals on %s', (backend) => {
  let t: TestDb;
  beforeAll(async () => { await (await createTestDb(backend)).drop(); }, 180_000);
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(() => t.drop());

  it('stores hostile text, nulls, fractional times and extreme numbers as given', async () => {
    const start = Date.parse('2026-11-27T12:00:00Z') + 0.125; // 125 µs
    const ids = await t.db.transaction(async (tx) => {
      await ensureDayPartitions(tx, [utcDay(start)]);
      return upsertServices(tx, ['checkout']);
    });
    const requests = HOSTILE.map((text, i) => requestRow({
      route: text, method: i % 2 ? text : 'GET', callerServiceName: i % 3 ? text : null,
      startUnixMs: start + i, responseTimeMs: i === 0 ? 1e-9 : i === 1 ? 1.5e300 : i + 0.1,
    }));
    const spans: SpanRow[] = requests.map((r, i) => ({
      serviceName: 'checkout', traceId: r.traceId, spanId: r.spanId, parentSpanId: i % 2 ? null : r.spanId, name: HOSTILE[i]!,
      kind: 'internal', startUnixMs: r.startUnixMs, durationMs: r.responseTimeMs, statusCode: 2, error: i % 2 === 0,
      httpMethod: i % 2 ? null : HOSTILE[i]!, httpRoute: i % 3 ? null : HOSTILE[i]!, httpStatusCode: i % 2 ? null : 503,
    }));
    await t.db.transaction(async (tx) => {
      expect(await insertRequests(tx, requests, ids)).toBe(HOSTILE.length);
      expect(await insertSpans(tx, spans, ids)).toBe(HOSTILE.length);
    });
    const storedRequests = await t.db.query<{ method: string; path: string; caller_service_name: string | null; response_time_ms: number; us: string }>(
      `SELECT method, path, caller_service_name, response_time_ms, (extract(epoch FROM "timestamp") * 1000000)::bigint::text AS us
       FROM service_metrics ORDER BY "timestamp"`);
    expect(storedRequests.rows.map((r) => [r.method, r.path, r.caller_service_name, Number(r.response_time_ms), r.us])).toEqual(
      requests.map((r) => [r.method, r.route, r.callerServiceName, r.responseTimeMs, String(Math.round(r.startUnixMs * 1000))]));
    const storedSpans = await t.db.query<{ name: string; parent_span_id: string | null; error: boolean; status_code: number; http_method: string | null;
      http_route: string | null; http_status_code: number | null; duration_ms: number }>(
      'SELECT name, parent_span_id, error, status_code, http_method, http_route, http_status_code, duration_ms FROM spans ORDER BY start_time');
    expect(storedSpans.rows.map((r) => [r.name, r.parent_span_id, r.error, Number(r.status_code), r.http_method, r.http_route,
      r.http_status_code === null ? null : Number(r.http_status_code), Number(r.duration_ms)])).toEqual(
      spans.map((s) => [s.name, s.parentSpanId, s.error, s.statusCode, s.httpMethod, s.httpRoute, s.httpStatusCode, s.durationMs]));
  });
});
