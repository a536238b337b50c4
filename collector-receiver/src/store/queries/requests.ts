import type { Queryable } from '../db.js';
import type { RequestRow } from '../../translate/rows.js';
import { toBareArrayLiteral, toQuotedArrayLiteral } from './array-literal.js';
import { insertNewRows } from './insert-new-rows.js';

/**
 * Inserts request rows in one statement (unnest over column arrays). A span already stored
 * (same trace_id, span_id, start) is skipped: a retried export inserts nothing twice
 * (insertNewRows: on PostgreSQL a plain insert, ON CONFLICT DO NOTHING only once one is stored).
 * Returns how many rows were new.
 */
export async function insertRequests(tx: Queryable, rows: readonly RequestRow[], serviceIds: ReadonlyMap<string, string>): Promise<number> {
  if (rows.length === 0) return 0;
  // Sorted by key: two concurrent flushes inserting the same retried spans wait in one order.
  // Two comparisons rather than concatenating the ids: no strings allocated per comparison.
  const ordered = rows.slice().sort((a, b) => compareStrings(a.traceId, b.traceId) || compareStrings(a.spanId, b.spanId));
  return insertNewRows(tx,
    `INSERT INTO service_metrics (service_id, method, path, status_code, response_time_ms, caller_service_name,
       "timestamp", trace_id, span_id, parent_span_id)
     SELECT s, m, p, c, d, caller, to_timestamp(t / 1000.0), tr, sp, par
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::float8[], $6::text[], $7::float8[],
                 $8::text[], $9::text[], $10::text[]) AS u(s, m, p, c, d, caller, t, tr, sp, par)`,
    [
      toBareArrayLiteral(ordered, (r) => serviceIds.get(r.serviceName)),
      toQuotedArrayLiteral(ordered, (r) => r.method),
      toQuotedArrayLiteral(ordered, (r) => r.route),
      toBareArrayLiteral(ordered, (r) => r.statusCode),
      toBareArrayLiteral(ordered, (r) => r.responseTimeMs),
      toQuotedArrayLiteral(ordered, (r) => r.callerServiceName),
      toBareArrayLiteral(ordered, (r) => r.startUnixMs),
      toBareArrayLiteral(ordered, (r) => r.traceId),
      toBareArrayLiteral(ordered, (r) => r.spanId),
      toBareArrayLiteral(ordered, (r) => r.parentSpanId),
    ]);
}

export interface RecentRequest {
  method: string;
  path: string;
  statusCode: number;
  responseTimeMs: number;
  callerServiceName: string | null;
  /** ISO 8601 */
  timestamp: string;
  traceId: string;
  spanId: string;
}

/** The newest `limit` requests of a service, newest first. */
export async function selectRecentRequests(db: Queryable, serviceId: string, limit: number): Promise<RecentRequest[]> {
  const result = await db.query<{ method: string; path: string; status_code: number; response_time_ms: number;
    caller_service_name: string | null; ts_ms: number; trace_id: string; span_id: string }>(
    `SELECT method, path, status_code, response_time_ms, caller_service_name,
            (extract(epoch FROM "timestamp") * 1000)::float8 AS ts_ms, trace_id, span_id
     FROM service_metrics WHERE service_id = $1::bigint
     ORDER BY "timestamp" DESC, id DESC LIMIT $2::int`, [serviceId, limit]);
  return result.rows.map((r) => ({
    method: r.method,
    path: r.path,
    statusCode: Number(r.status_code),
    responseTimeMs: Number(r.response_time_ms),
    callerServiceName: r.caller_service_name,
    timestamp: new Date(Number(r.ts_ms)).toISOString(),
    traceId: r.trace_id,
    spanId: r.span_id,
  }));
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
