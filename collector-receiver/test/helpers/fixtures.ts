/** Small builders of translate/ rows for storage tests. */
import type { DurationPoint, RequestRow } from '../../src/translate/rows.js';
import { recordExponential } from '../../src/pipeline/histogram/exponential.js';

let spanSeq = 0;

/** A request row; unique trace/span ids unless given. */
export function requestRow(overrides: Partial<RequestRow> = {}): RequestRow {
  spanSeq++;
  return {
    serviceName: 'checkout',
    method: 'GET',
    route: '/orders/:id',
    statusCode: 200,
    responseTimeMs: 12.5,
    callerServiceName: null,
    startUnixMs: Date.now() - 1000,
    traceId: spanSeq.toString(16).padStart(32, '0'),
    spanId: spanSeq.toString(16).padStart(16, '0'),
    parentSpanId: null,
    ...overrides,
  };
}

/** ms → ns decimal string */
export function nanos(ms: number): string {
  return (BigInt(Math.round(ms)) * 1_000_000n).toString();
}

/** A duration point holding `valuesMs` in an exponential histogram (unit ms) at `scale`. */
export function durationPoint(valuesMs: number[], overrides: Partial<DurationPoint> = {}, scale = 6): DurationPoint {
  const now = Date.now();
  return {
    serviceName: 'checkout',
    streamKey: 'stream-a',
    temporality: 'delta',
    startTimeUnixNano: nanos(now - 60_000),
    timeUnixNano: nanos(now - 1000),
    method: 'GET',
    route: '/orders/:id',
    statusCode: 200,
    callerServiceName: null,
    unitToMs: 1,
    count: valuesMs.length,
    sum: valuesMs.reduce((a, b) => a + b, 0),
    min: valuesMs.length ? Math.min(...valuesMs) : null,
    max: valuesMs.length ? Math.max(...valuesMs) : null,
    buckets: recordExponential(valuesMs, scale),
    ...overrides,
  };
}
