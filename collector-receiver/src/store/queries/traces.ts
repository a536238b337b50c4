import type { Queryable } from '../db.js';
import type { SpanKindName, SpanRow } from '../../translate/rows.js';
import { toBareArrayLiteral, toQuotedArrayLiteral } from './array-literal.js';
import { insertNewRows } from './insert-new-rows.js';

/**
 * Inserts span rows in one statement (unnest over column arrays). A span already stored (same
 * trace_id, span_id, start_time) is skipped: a retried export inserts nothing twice
 * (insertNewRows: on PostgreSQL a plain insert, ON CONFLICT DO NOTHING only once one is stored).
 * Returns how many rows were new.
 */
export async function insertSpans(tx: Queryable, rows: readonly SpanRow[], serviceIds: ReadonlyMap<string, string>): Promise<number> {
  if (rows.length === 0) return 0;
  // Sorted by key: two concurrent flushes inserting the same retried spans wait in one order.
  const ordered = rows.slice().sort((a, b) => compareStrings(a.traceId, b.traceId) || compareStrings(a.spanId, b.spanId));
  return insertNewRows(tx,
    `INSERT INTO spans (trace_id, span_id, parent_span_id, service_id, name, kind, start_time, duration_ms,
       status_code, error, http_method, http_route, http_status_code)
     SELECT tr, sp, par, s, n, k, to_timestamp(t / 1000.0), d, sc, e, m, ro, hs
     FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::float8[], $8::float8[],
                 $9::smallint[], $10::bool[], $11::text[], $12::text[], $13::int[])
          AS u(tr, sp, par, s, n, k, t, d, sc, e, m, ro, hs)`,
    [
      toBareArrayLiteral(ordered, (r) => r.traceId),
      toBareArrayLiteral(ordered, (r) => r.spanId),
      toBareArrayLiteral(ordered, (r) => r.parentSpanId),
      toBareArrayLiteral(ordered, (r) => serviceIds.get(r.serviceName)),
      toQuotedArrayLiteral(ordered, (r) => r.name),
      toBareArrayLiteral(ordered, (r) => r.kind),
      toBareArrayLiteral(ordered, (r) => r.startUnixMs),
      toBareArrayLiteral(ordered, (r) => r.durationMs),
      toBareArrayLiteral(ordered, (r) => r.statusCode),
      toBareArrayLiteral(ordered, (r) => r.error),
      toQuotedArrayLiteral(ordered, (r) => r.httpMethod),
      toQuotedArrayLiteral(ordered, (r) => r.httpRoute),
      toBareArrayLiteral(ordered, (r) => r.httpStatusCode),
    ]);
}

/** One span of a trace as GET /traces/:traceId answers it (docs/api.md). */
export interface JourneySpan {
  spanId: string;
  /** As sent: may name a span that was never stored (an uninstrumented or unsampled hop). */
  parentSpanId: string | null;
  service: string;
  name: string;
  kind: SpanKindName;
  method: string | null;
  route: string | null;
  /** HTTP status, or null for spans without one. */
  statusCode: number | null;
  /** ISO 8601 */
  startTime: string;
  /** start − the trace's first start, ms */
  offsetMs: number;
  durationMs: number;
  /** 0 for a root (or a span whose parent is not stored), parent's depth + 1 otherwise. */
  depth: number;
  error: boolean;
}

export interface Journey {
  traceId: string;
  /** ISO 8601: the earliest span start. */
  startTime: string;
  /** latest span end − earliest span start, ms */
  durationMs: number;
  /** true when the trace has more than MAX_TRACE_SPANS stored spans: only the earliest are shown. */
  truncated: boolean;
  spans: JourneySpan[];
}

/** Most spans one answer carries (a runaway trace must not become a 100 MB response). */
export const MAX_TRACE_SPANS = 10_000;

/** A stored span before ordering, as read from the database: a JourneySpan before its place in the trace is known. */
export interface StoredSpan extends Omit<JourneySpan, 'startTime' | 'offsetMs' | 'depth'> {
  /** epoch ms */
  startMs: number;
}

/**
 * The journey of a trace (lower-case hex id), or null when no span of it is stored.
 * One query: the unique index (trace_id, span_id, start_time) is probed in each day partition.
 */
export async function selectTrace(db: Queryable, traceId: string, maxSpans: number = MAX_TRACE_SPANS): Promise<Journey | null> {
  const result = await db.query<{ span_id: string; parent_span_id: string | null; service: string; name: string; kind: SpanKindName;
    http_method: string | null; http_route: string | null; http_status_code: number | null; start_ms: number;
    duration_ms: number; error: boolean }>(
    `SELECT sp.span_id, sp.parent_span_id, sv.name AS service, sp.name, sp.kind, sp.http_method, sp.http_route,
            sp.http_status_code, (extract(epoch FROM sp.start_time) * 1000)::float8 AS start_ms, sp.duration_ms, sp.error
     FROM spans sp JOIN services sv ON sv.id = sp.service_id
     WHERE sp.trace_id = $1
     ORDER BY sp.start_time, sp.span_id
     LIMIT $2::int`, [traceId, maxSpans + 1]);
  if (result.rows.length === 0) return null;
  const truncated = result.rows.length > maxSpans;
  const spans: StoredSpan[] = result.rows.slice(0, maxSpans).map((r) => ({
    spanId: r.span_id,
    parentSpanId: r.parent_span_id,
    service: r.service,
    name: r.name,
    kind: r.kind,
    method: r.http_method,
    route: r.http_route,
    statusCode: r.http_status_code === null ? null : Number(r.http_status_code),
    startMs: Number(r.start_ms),
    durationMs: Number(r.duration_ms),
    error: r.error,
  }));
  return { traceId, truncated, ...toJourney(spans) };
}

/**
 * Orders a trace's spans parents first: depth-first from the roots, siblings by start time (then
 * span id), each span after its parent. A root is a span without a parent or whose parent is not
 * among `spans` (depth 0). Spans that only reach each other through a parent cycle (malformed
 * input) are still listed, the earliest of them taken as a root. Iterative: a chain of 10 000 spans
 * does not exhaust the stack. Pure.
 */
export function toJourney(spans: readonly StoredSpan[]): Omit<Journey, 'traceId' | 'truncated'> {
  const sorted = spans.slice().sort((a, b) => a.startMs - b.startMs || compareStrings(a.spanId, b.spanId));
  const ids = new Set(sorted.map((s) => s.spanId));
  const children = new Map<string, StoredSpan[]>();
  const roots: StoredSpan[] = [];
  for (const span of sorted) {
    if (span.parentSpanId === null || span.parentSpanId === span.spanId || !ids.has(span.parentSpanId)) {
      roots.push(span);
    } else {
      const siblings = children.get(span.parentSpanId);
      if (siblings) siblings.push(span); else children.set(span.parentSpanId, [span]);
    }
  }
  const traceStart = sorted.length > 0 ? sorted[0]!.startMs : 0;
  let traceEnd = traceStart;
  const ordered: JourneySpan[] = [];
  const visited = new Set<StoredSpan>();
  const walk = (root: StoredSpan) => {
    const stack: Array<{ span: StoredSpan; depth: number }> = [{ span: root, depth: 0 }];
    while (stack.length > 0) {
      const { span, depth } = stack.pop()!;
      if (visited.has(span)) continue;
      visited.add(span);
      traceEnd = Math.max(traceEnd, span.startMs + span.durationMs);
      ordered.push({
        spanId: span.spanId, parentSpanId: span.parentSpanId, service: span.service, name: span.name, kind: span.kind,
        method: span.method, route: span.route, statusCode: span.statusCode,
        startTime: new Date(span.startMs).toISOString(), offsetMs: roundMicros(span.startMs - traceStart),
        durationMs: span.durationMs, depth, error: span.error,
      });
      // A span id shared by two stored spans (malformed input) gives both the same children once.
      const kids = children.get(span.spanId);
      if (kids) {
        children.delete(span.spanId);
        for (let i = kids.length - 1; i >= 0; i--) stack.push({ span: kids[i]!, depth: depth + 1 });
      }
    }
  };
  for (const root of roots) walk(root);
  for (const span of sorted) if (!visited.has(span)) walk(span);
  return { startTime: new Date(traceStart).toISOString(), durationMs: roundMicros(traceEnd - traceStart), spans: ordered };
}

/** Offsets are differences of microsecond instants: round away float noise (0.30000000000000004). */
function roundMicros(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
