/**
 * Traces → span rows: EVERY span (server, client, internal, producer, consumer) becomes one
 * SpanRow, so GET /traces/:traceId can show a request's whole journey across services.
 * A span is checked like toRequestRows checks a SERVER span (ids, times, service name, route), with
 * the same messages; the span name is display text, so it is cleaned (NUL → U+FFFD, capped at
 * MAX_SPAN_NAME_CHARS) rather than a reason to reject.
 *
 * Rejections: toRequestRows already reports malformed SERVER spans; this function reports only
 * the others (a SERVER span failing here is skipped silently: the same checks make it fail
 * there too), so the export's partial success counts each bad span once.
 *
 * Hot path: one pass over the spans and one over each span's attributes, no closures per span
 * (bench/span-rows measures it). Pure: `nowMs` is passed in.
 */
import type { IExportTraceServiceRequest, IKeyValue, ISpan } from '../otlp/internal-types.js';
import { isRouteTemplate, normaliseMethod, toHttpStatus } from './http-attributes.js';
import { RejectionCollector } from './rejections.js';
import { UNMATCHED_ROUTE } from './rows.js';
import type { Rejection, SpanKindName, SpanRow } from './rows.js';
import { arrayField, MAX_AGE_MS, MAX_FUTURE_MS, objectField, serviceNameOf, serviceNameProblem, timeWindowProblem } from './structure.js';
import { MAX_ROUTE_BYTES, storableTextProblem, toWellFormed } from './text.js';
import { describe, toBigInt, toHexId, toOptionalHexId } from './values.js';

/** Longest span name kept, in UTF-16 code units; longer names are cut (they are only shown). */
export const MAX_SPAN_NAME_CHARS = 512;

export interface SpanRowsResult {
  rows: SpanRow[];
  /** Malformed non-SERVER spans; `rejected: 0` when every one was kept. */
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
 * Translates one ExportTraceServiceRequest (decoded protobuf or parsed OTLP/JSON) into span rows.
 * Throws LAT_ERR_TRANSLATE_MALFORMED only when a container has the wrong type (as toRequestRows).
 */
export function toSpanRows(request: IExportTraceServiceRequest, nowMs: number): SpanRowsResult {
  const rows: SpanRow[] = [];
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
      const spans = arrayField(scopeSpans.spans, () => `resourceSpans[${r}].scopeSpans[${s}].spans`);
      for (let i = 0; i < spans.length; i++) {
        const span = objectField(spans[i], () => `resourceSpans[${r}].scopeSpans[${s}].spans[${i}]`);
        if (!span) continue;
        const kind = toSpanKind(span.kind);
        const result = serviceProblem === undefined ? toSpanRow(span, kind, serviceName, nowMs) : undefined;
        if (typeof result === 'object') {
          rows.push(result);
        } else if (kind !== 'server') {
          if (result === undefined) rejections.add(1, () => `resourceSpans[${r}].resource.${serviceProblem}`);
          else rejections.add(1, () => `resourceSpans[${r}].scopeSpans[${s}].spans[${i}].${result}`);
        }
      }
    }
  }
  return { rows, rejection: rejections.toRejection() };
}

/** One span → a row, or "<field> should be …, instead got …" naming what was wrong. */
function toSpanRow(span: ISpan, kind: SpanKindName, serviceName: string, nowMs: number): SpanRow | string {
  // Fast paths first (well-formed ids and times, the case of nearly every span): they allocate no
  // Buffer or BigInt. On any doubt the shared validators of values.ts/structure.ts decide and word
  // the problem, so the messages are those of toRequestRows. bench/span-rows measures the gain.
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
    kind,
    startUnixMs,
    durationMs,
    statusCode: toStatusCode((span as { status?: SpanStatus | null }).status),
    error: false,
    httpMethod: null,
    httpRoute: null,
    httpStatusCode: null,
  };
  const problem = readHttpAttributes(span.attributes, row);
  if (problem !== undefined) return problem;
  row.error = row.statusCode === 2 || (row.httpStatusCode !== null && row.httpStatusCode >= 500);
  return row;
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
 * Fills the row's http* fields from the attributes (stable semconv names win over the older
 * ones; status, method and route shape by the same helpers as http-attributes.ts) in one pass; returns a problem when the route cannot be stored.
 */
function readHttpAttributes(attributes: IKeyValue[] | null | undefined, row: SpanRow): string | undefined {
  if (!Array.isArray(attributes)) return undefined;
  let stableMethod: string | undefined;
  let oldMethod: string | undefined;
  let stableStatus: number | undefined;
  let oldStatus: number | undefined;
  let route: string | undefined;
  for (const kv of attributes) {
    const key = kv?.key;
    // Cheap reject first: most attributes of most spans are not http.*.
    if (typeof key !== 'string' || key.charCodeAt(0) !== 104 /* h */ || !key.startsWith('http.')) continue;
    const value = kv.value;
    switch (key) {
      case 'http.request.method':
        if (typeof value?.stringValue === 'string') stableMethod = value.stringValue;
        break;
      case 'http.method':
        if (typeof value?.stringValue === 'string') oldMethod = value.stringValue;
        break;
      case 'http.response.status_code':
        stableStatus = toHttpStatus(value);
        break;
      case 'http.status_code':
        oldStatus = toHttpStatus(value);
        break;
      case 'http.route':
        if (typeof value?.stringValue === 'string' && value.stringValue !== '') route = value.stringValue;
        break;
      default:
        break;
    }
  }
  const method = stableMethod ?? oldMethod;
  if (method !== undefined) row.httpMethod = normaliseMethod(method);
  row.httpStatusCode = stableStatus ?? oldStatus ?? null;
  // As for request rows: a value that is plainly a URL, not a template, is no route; a SERVER span
  // without one shows UNMATCHED_ROUTE, the route its request is counted under.
  if (route !== undefined && !isRouteTemplate(route)) route = undefined;
  if (route === undefined && row.kind === 'server') route = UNMATCHED_ROUTE;
  if (route !== undefined) {
    const routeText = toWellFormed(route);
    const problem = storableTextProblem(routeText, MAX_ROUTE_BYTES);
    if (problem !== undefined) return `attributes[http.route] ${problem}`;
    row.httpRoute = routeText;
  }
  return undefined;
}


/**
 * The partial success of a traces export: the SERVER-span rejections of toRequestRows followed by
 * the other spans' rejections of toSpanRows (each bad span is counted once).
 */
export function combineRejections(requests: Rejection, spans: Rejection): Rejection {
  if (spans.rejected === 0) return requests;
  if (requests.rejected === 0) return spans;
  return { rejected: requests.rejected + spans.rejected, message: `${requests.message}; ${spans.message}` };
}
