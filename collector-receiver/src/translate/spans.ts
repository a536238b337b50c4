/**
 * Traces → rows, in ONE pass over the spans and one over each span's attributes:
 * - every span (server, client, internal, producer, consumer) becomes a SpanRow, so
 *   GET /traces/:traceId can show a request's whole journey across services;
 * - a SERVER span also becomes a RequestRow (request metrics), built from the same parsed values.
 * A malformed span is rejected and counted once with a message naming the field (ids, times,
 * service name, route; for a SERVER span also the caller); the rest of the request is kept (OTLP
 * partial success), and a rejected span is stored as neither row. The span name is display text,
 * so it is cleaned (NUL → U+FFFD, capped at MAX_SPAN_NAME_CHARS) rather than a reason to reject.
 *
 * Hot path: no closures, Buffers or BigInts per well-formed span (bench/span-rows measures it;
 * one pass instead of toRequestRows + toSpanRows each walking the export: see the commit).
 * Pure: `nowMs` is passed in.
 */
import type { IExportTraceServiceRequest, IKeyValue, ISpan } from '../otlp/internal-types.js';
import { CALLER_ATTRIBUTE, isRouteTemplate, normaliseMethod, OTHER_METHOD, scanHttpAttributes } from './http-attributes.js';
import { RejectionCollector } from './rejections.js';
import { UNMATCHED_ROUTE } from './rows.js';
import type { Rejection, RequestRow, SpanKindName, SpanRow } from './rows.js';
import { arrayField, MAX_AGE_MS, MAX_FUTURE_MS, objectField, serviceNameOf, serviceNameProblem, timeWindowProblem } from './structure.js';
import { MAX_NAME_BYTES, MAX_ROUTE_BYTES, storableTextProblem, toWellFormed } from './text.js';
import { describe, toBigInt, toHexId, toOptionalHexId } from './values.js';

/** Longest span name kept, in UTF-16 code units; longer names are cut (they are only shown). */
export const MAX_SPAN_NAME_CHARS = 512;

export interface TraceRowsResult {
  /** One per kept SERVER span. */
  requests: RequestRow[];
  /** One per kept span of any kind (SERVER spans included). */
  spans: SpanRow[];
  /** `rejected: 0` when every span was kept. */
  rejection: Rejection;
}

/** OTLP Status as decoded (protobuf message or JSON object); not in internal-types' ISpan. */
interface SpanStatus {
  code?: number | string | null;
}

const KIND_BY_NUMBER: readonly SpanKindName[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const KIND_BY_NAME: Readonly<Record<string, SpanKindName>> = {
  SPAN_KIND_UNSPECIFIED: 'unspecified',
  SPAN_KIND_INTERNAL: 'internal',
  SPAN_KIND_SERVER: 'server',
  SPAN_KIND_CLIENT: 'client',
  SPAN_KIND_PRODUCER: 'producer',
  SPAN_KIND_CONSUMER: 'consumer',
};

/** Span.kind (integer, or the enum name some JSON senders spell) → its lower-case name. */
export function toSpanKind(kind: ISpan['kind']): SpanKindName {
  if (typeof kind === 'number') return KIND_BY_NUMBER[kind] ?? 'unspecified';
  if (typeof kind === 'string') return KIND_BY_NAME[kind] ?? 'unspecified';
  return 'unspecified';
}

/** Status.code (integer or enum name) → 0 unset, 1 ok, 2 error. */
function toStatusCode(status: SpanStatus | null | undefined): 0 | 1 | 2 {
  const code = status?.code;
  if (code === 2 || code === 'STATUS_CODE_ERROR') return 2;
  if (code === 1 || code === 'STATUS_CODE_OK') return 1;
  return 0;
}

/**
 * Translates one ExportTraceServiceRequest (decoded protobuf or parsed OTLP/JSON).
 * Throws LAT_ERR_TRANSLATE_MALFORMED only when a container (resourceSpans, scopeSpans, spans,
 * resource, scope) has the wrong type.
 */
export function toTraceRows(request: IExportTraceServiceRequest, nowMs: number): TraceRowsResult {
  const requests: RequestRow[] = [];
  const spans: SpanRow[] = [];
  const rejections = new RejectionCollector();
  const resourceSpansList = arrayField(request.resourceSpans, () => 'resourceSpans');
  for (let r = 0; r < resourceSpansList.length; r++) {
    const resourceSpans = objectField(resourceSpansList[r], () => `resourceSpans[${r}]`);
    if (!resourceSpans) continue;
    const resource = objectField(resourceSpans.resource, () => `resourceSpans[${r}].resource`);
    const serviceName = serviceNameOf(resource);
    const serviceProblem = serviceNameProblem(serviceName);
    const scopeSpansList = arrayField(resourceSpans.scopeSpans, () => `resourceSpans[${r}].scopeSpans`);
    for (let s = 0; s < scopeSpansList.length; s++) {
      const scopeSpans = objectField(scopeSpansList[s], () => `resourceSpans[${r}].scopeSpans[${s}]`);
      if (!scopeSpans) continue;
      const spanList = arrayField(scopeSpans.spans, () => `resourceSpans[${r}].scopeSpans[${s}].spans`);
      for (let i = 0; i < spanList.length; i++) {
        const span = objectField(spanList[i], () => `resourceSpans[${r}].scopeSpans[${s}].spans[${i}]`);
        if (!span) continue;
        if (serviceProblem !== undefined) {
          rejections.add(1, () => `resourceSpans[${r}].resource.${serviceProblem}`);
          continue;
        }
        const result = toSpanRow(span, serviceName, nowMs);
        if (typeof result === 'string') {
          rejections.add(1, () => `resourceSpans[${r}].scopeSpans[${s}].spans[${i}].${result}`);
          continue;
        }
        spans.push(result.row);
        if (result.row.kind === 'server') requests.push(toRequestRow(result.row, result.caller));
      }
    }
  }
  return { requests, spans, rejection: rejections.toRejection() };
}

/**
 * The request rows of toTraceRows alone (and its rejections, which count spans of every kind).
 * For callers that only need request metrics; the receiver calls toTraceRows.
 */
export function toRequestRows(request: IExportTraceServiceRequest, nowMs: number): { rows: RequestRow[]; rejection: Rejection } {
  const { requests, rejection } = toTraceRows(request, nowMs);
  return { rows: requests, rejection };
}

/** A kept SERVER span's request row: the span's own values, with the defaults request rows use. */
function toRequestRow(span: SpanRow, callerServiceName: string | null): RequestRow {
  return {
    serviceName: span.serviceName,
    method: span.httpMethod ?? OTHER_METHOD,
    // Always set for SERVER spans (UNMATCHED_ROUTE when the span carried none).
    route: span.httpRoute ?? UNMATCHED_ROUTE,
    statusCode: span.httpStatusCode ?? 0,
    responseTimeMs: span.durationMs,
    callerServiceName,
    startUnixMs: span.startUnixMs,
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
  };
}

/**
 * One span → its row (and, for the request row of a SERVER span, the caller), or
 * "<field> should be …, instead got …" naming what was wrong.
 */
function toSpanRow(span: ISpan, serviceName: string, nowMs: number): { row: SpanRow; caller: string | null } | string {
  // Fast paths first (well-formed ids and times, the case of nearly every span): they allocate no
  // Buffer or BigInt. On any doubt the shared validators of values.ts/structure.ts decide and word
  // the problem. bench/span-rows measures the gain.
  const traceIdHex = fastHexId(span.traceId, 16) ?? toHexId(span.traceId, 16);
  if (typeof traceIdHex !== 'string' && 'problem' in traceIdHex) return `traceId ${traceIdHex.problem}`;
  const spanIdHex = fastHexId(span.spanId, 8) ?? toHexId(span.spanId, 8);
  if (typeof spanIdHex !== 'string' && 'problem' in spanIdHex) return `spanId ${spanIdHex.problem}`;
  const rawParent = span.parentSpanId;
  const parentHex = rawParent === undefined || rawParent === null || rawParent.length === 0
    ? { hex: null }
    : fastHexId(rawParent, 8) ?? toOptionalHexId(rawParent, 8);
  if (typeof parentHex !== 'string' && 'problem' in parentHex) return `parentSpanId ${parentHex.problem}`;

  const startMicros = fastMicros(span.startTimeUnixNano);
  const endMicros = fastMicros(span.endTimeUnixNano);
  let startUnixMs: number;
  let durationMs: number;
  if (startMicros !== undefined && endMicros !== undefined && endMicros >= startMicros
    && startMicros / 1000 >= nowMs - MAX_AGE_MS + 1 && endMicros / 1000 <= nowMs + MAX_FUTURE_MS - 1) {
    startUnixMs = startMicros / 1000;
    durationMs = fastDurationMs(span.startTimeUnixNano, span.endTimeUnixNano)
      ?? Number(toBigInt(span.endTimeUnixNano)! - toBigInt(span.startTimeUnixNano)!) / 1e6;
  } else {
    const start = toBigInt(span.startTimeUnixNano);
    if (start === undefined || start <= 0n) {
      return `startTimeUnixNano should be a positive integer of nanoseconds, instead got '${describe(span.startTimeUnixNano)}'`;
    }
    const end = toBigInt(span.endTimeUnixNano);
    if (end === undefined || end <= 0n) {
      return `endTimeUnixNano should be a positive integer of nanoseconds, instead got '${describe(span.endTimeUnixNano)}'`;
    }
    if (end < start) return `endTimeUnixNano should be at or after startTimeUnixNano ${start}, instead got ${end}`;
    const startProblem = timeWindowProblem(start, nowMs);
    if (startProblem !== undefined) return `startTimeUnixNano ${startProblem}`;
    const endProblem = timeWindowProblem(end, nowMs);
    if (endProblem !== undefined) return `endTimeUnixNano ${endProblem}`;
    // Microseconds are exact in a double at today's epoch; dividing by 1000 keeps them.
    startUnixMs = Number(start / 1000n) / 1000;
    durationMs = Number(end - start) / 1e6;
  }

  const row: SpanRow = {
    serviceName,
    traceId: typeof traceIdHex === 'string' ? traceIdHex : traceIdHex.hex,
    spanId: typeof spanIdHex === 'string' ? spanIdHex : spanIdHex.hex,
    parentSpanId: typeof parentHex === 'string' ? parentHex : parentHex.hex,
    name: toSpanName(span.name),
    kind: toSpanKind(span.kind),
    startUnixMs,
    durationMs,
    statusCode: toStatusCode((span as { status?: SpanStatus | null }).status),
    error: false,
    httpMethod: null,
    httpRoute: null,
    httpStatusCode: null,
  };
  const caller = readHttpAttributes(span.attributes, row);
  if (caller !== null && caller.problem !== undefined) return caller.problem;
  row.error = row.statusCode === 2 || (row.httpStatusCode !== null && row.httpStatusCode >= 500);
  return { row, caller: caller === null ? null : caller.name };
}

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const LOWER_HEX = /^[0-9a-f]+$/;

/**
 * A well-formed, non-zero id as lower-case hex without allocating a Buffer (protobuf bytes of the
 * right length, or JSON lower-case hex of the right length); undefined when toHexId must decide.
 */
function fastHexId(value: ISpan['traceId'], bytes: number): string | undefined {
  if (value instanceof Uint8Array) {
    if (value.length !== bytes) return undefined;
    let hex = '';
    let any = 0;
    for (let i = 0; i < bytes; i++) {
      const b = value[i]!;
      any |= b;
      hex += HEX_BYTE[b];
    }
    return any === 0 ? undefined : hex;
  }
  if (typeof value === 'string' && value.length === bytes * 2 && LOWER_HEX.test(value) && !/^0+$/.test(value)) return value;
  return undefined;
}

const TWO_POW_32 = 4294967296;

/**
 * Epoch nanoseconds (protobuf Long, JSON decimal string) → whole microseconds as an exact double,
 * without BigInt; undefined when the value is not a plain positive timestamp (toBigInt decides).
 * Long: ns = high·2^32 + low = high·(4294967·1000 + 296) + low, so
 * µs = high·4294967 + ⌊(high·296 + low) / 1000⌋ — every term stays below 2^53.
 */
function fastMicros(value: ISpan['startTimeUnixNano']): number | undefined {
  if (typeof value === 'object' && value !== null) {
    const high = value.high >>> 0;
    const low = value.low >>> 0;
    if (typeof value.high !== 'number' || typeof value.low !== 'number' || (value.unsigned === false && value.high < 0)) return undefined;
    const micros = high * 4294967 + Math.floor((high * 296 + low) / 1000);
    return micros > 0 ? micros : undefined;
  }
  if (typeof value === 'string') {
    // 19 digits until 2286: the µs part (16 digits) is below 2^53.
    if (value.length < 4 || value.length > 19 || !/^\d+$/.test(value)) return undefined;
    const micros = Number(value.slice(0, -3));
    return micros > 0 ? micros : undefined;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return Math.floor(value / 1000);
  return undefined;
}

/** end − start in ms from the nanosecond values, exactly, when both are Longs or decimal strings. */
function fastDurationMs(start: ISpan['startTimeUnixNano'], end: ISpan['endTimeUnixNano']): number | undefined {
  if (typeof start === 'object' && start !== null && typeof end === 'object' && end !== null) {
    const ns = ((end.high >>> 0) - (start.high >>> 0)) * TWO_POW_32 + ((end.low >>> 0) - (start.low >>> 0));
    return Number.isSafeInteger(ns) && ns >= 0 ? ns / 1e6 : undefined;
  }
  if (typeof start === 'string' && typeof end === 'string' && start.length === end.length && start.length > 9) {
    // Same length: the leading digits cancel; the last 15 digits hold any span shorter than 11 days.
    const cut = Math.max(0, start.length - 15);
    if (start.slice(0, cut) !== end.slice(0, cut)) return undefined;
    const ns = Number(end.slice(cut)) - Number(start.slice(cut));
    return ns >= 0 ? ns / 1e6 : undefined;
  }
  return undefined;
}

/** Display name: NUL (which PostgreSQL cannot store) → U+FFFD, lone surrogates → U+FFFD, capped. */
function toSpanName(name: ISpan['name']): string {
  if (typeof name !== 'string') return '';
  let text = name.length > MAX_SPAN_NAME_CHARS ? name.slice(0, MAX_SPAN_NAME_CHARS) : name;
  if (text.includes('\u0000')) text = text.replaceAll('\u0000', '\ufffd');
  return toWellFormed(text);
}

/**
 * Fills the row's http* fields from the attributes (one scanHttpAttributes pass, the same scan
 * toHttpAttributes makes of duration points; method, status and route shape by the same helpers).
 * Returns the caller (SERVER spans only: `lattice.caller.service.name`) or null,
 * or a problem when the route or the caller cannot be stored.
 */
function readHttpAttributes(attributes: IKeyValue[] | null | undefined, row: SpanRow):
  { name: string | null; problem?: undefined } | { name?: undefined; problem: string } | null {
  const server = row.kind === 'server';
  const http = scanHttpAttributes(attributes);
  if (http.method !== undefined) row.httpMethod = normaliseMethod(http.method);
  row.httpStatusCode = http.statusCode ?? null;
  // A value that is plainly a URL, not a template, is no route; a SERVER span without one shows
  // UNMATCHED_ROUTE, the route its request is counted under.
  let route = http.route;
  const caller = server ? http.caller : undefined;
  if (route !== undefined && !isRouteTemplate(route)) route = undefined;
  if (route === undefined && server) route = UNMATCHED_ROUTE;
  if (route !== undefined) {
    const routeText = toWellFormed(route);
    const problem = storableTextProblem(routeText, MAX_ROUTE_BYTES);
    if (problem !== undefined) return { problem: `attributes[http.route] ${problem}` };
    row.httpRoute = routeText;
  }
  if (caller === undefined) return null;
  const callerText = toWellFormed(caller);
  const problem = storableTextProblem(callerText, MAX_NAME_BYTES);
  return problem === undefined ? { name: callerText } : { problem: `attributes[${CALLER_ATTRIBUTE}] ${problem}` };
}
