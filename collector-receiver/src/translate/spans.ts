/**
 * Traces → request rows: every span of kind SERVER becomes one RequestRow; spans of other kinds
 * are skipped (not rejected). A malformed SERVER span is rejected and counted with a message
 * naming the field; the rest of the request is kept (OTLP partial success). Pure: `nowMs` is
 * passed in.
 */
import type { IExportTraceServiceRequest, ISpan } from '../otlp/internal-types.js';
import { SPAN_KIND_SERVER } from '../otlp/internal-types.js';
import { httpTextProblem, toHttpAttributes } from './http-attributes.js';
import { RejectionCollector } from './rejections.js';
import type { Rejection, RequestRow } from './rows.js';
import { arrayField, objectField, serviceNameOf, serviceNameProblem, timeWindowProblem } from './structure.js';
import { describe, toBigInt, toHexId, toOptionalHexId } from './values.js';

export interface RequestRowsResult {
  rows: RequestRow[];
  /** `rejected: 0` when every SERVER span was kept. */
  rejection: Rejection;
}

function isServerSpan(kind: ISpan['kind']): boolean {
  return kind === SPAN_KIND_SERVER || kind === 'SPAN_KIND_SERVER';
}

/**
 * Translates one ExportTraceServiceRequest (decoded protobuf or parsed OTLP/JSON).
 * Throws LAT_ERR_TRANSLATE_MALFORMED only when a container (resourceSpans, scopeSpans, spans,
 * resource, scope) has the wrong type.
 */
export function toRequestRows(request: IExportTraceServiceRequest, nowMs: number): RequestRowsResult {
  const rows: RequestRow[] = [];
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
        if (!span || !isServerSpan(span.kind)) continue;
        if (serviceProblem !== undefined) {
          rejections.add(1, () => `resourceSpans[${r}].resource.${serviceProblem}`);
          continue;
        }
        const result = toRequestRow(span, serviceName, nowMs);
        if (typeof result === 'string') {
          rejections.add(1, () => `resourceSpans[${r}].scopeSpans[${s}].spans[${i}].${result}`);
        } else {
          rows.push(result);
        }
      }
    }
  }
  return { rows, rejection: rejections.toRejection() };
}

/** One SERVER span → a row, or "<field> should be …, instead got …" naming what was wrong. */
function toRequestRow(span: ISpan, serviceName: string, nowMs: number): RequestRow | string {
  const traceId = toHexId(span.traceId, 16);
  if ('problem' in traceId) return `traceId ${traceId.problem}`;
  const spanId = toHexId(span.spanId, 8);
  if ('problem' in spanId) return `spanId ${spanId.problem}`;
  const parentSpanId = toOptionalHexId(span.parentSpanId, 8);
  if ('problem' in parentSpanId) return `parentSpanId ${parentSpanId.problem}`;

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

  const http = toHttpAttributes(span.attributes);
  const textProblem = httpTextProblem(http);
  if (textProblem !== undefined) return textProblem;
  return {
    serviceName,
    method: http.method,
    route: http.route,
    statusCode: http.statusCode,
    responseTimeMs: Number(end - start) / 1e6,
    callerServiceName: http.callerServiceName,
    // Microseconds are exact in a double at today's epoch; dividing by 1000 keeps them.
    startUnixMs: Number(start / 1000n) / 1000,
    traceId: traceId.hex,
    spanId: spanId.hex,
    parentSpanId: parentSpanId.hex,
  };
}
