/**
 * Hostile input by sheer size: 10^5 attributes on one span and one point, 100,000 distinct routes.
 * A file of its own (its own receiver and PGlite) so vitest runs it on the second worker next to
 * the corpus in hostile-input.test.ts; the two together stay well under a minute.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonServerSpan, jsonTraceRequest as jsonTraceBody } from '../fixtures/otlp.js';
import { CaseTally, expectHealthy, startReceiver } from './harness.js';
import type { Receiver } from './harness.js';
import { histogramPoint, intAttribute, metricsRequest, span, stringAttribute, traceRequest } from './wire.js';

let receiver: Receiver;
const tally = new CaseTally();

/** Generous: on an idle 2-core machine the 100,000-route case takes ~20 s; a busy one, much more. */
const SIZE_TIMEOUT_MS = 180_000;

beforeAll(async () => {
  receiver = await startReceiver();
}, SIZE_TIMEOUT_MS);

afterAll(async () => {
  console.log(tally.report('hostile-input corpus, sheer size'));
  await receiver?.close();
}, SIZE_TIMEOUT_MS);

const NOW_NS = () => BigInt(Date.now()) * 1_000_000n;
const randomSpanId = () => randomBytes(8);
const RUN = randomBytes(4);

/** An id unique in this run without a randomBytes call per span: run prefix + counter. */
function uniqueId(bytes: number, n: number): Buffer {
  const id = Buffer.alloc(bytes);
  RUN.copy(id, 0);
  id.writeUInt32BE(n + 1, bytes - 4);
  return id;
}

function wireServerSpan(attributes: Buffer[], spanId: Buffer): Buffer {
  const now = NOW_NS();
  return span({ traceId: randomBytes(16), spanId, startNanos: now - 2_000_000_000n, endNanos: now - 1_990_000_000n, attributes });
}

async function storedRow(r: Receiver, spanId: string): Promise<{ path: string } | undefined> {
  const result = await r.db.query<{ path: string }>('SELECT path FROM service_metrics WHERE span_id = $1', [spanId]);
  return result.rows[0];
}

describe('hostile input: sheer size', () => {
  it('stores a span with 10^5 attributes (JSON and protobuf) and a point with 10^5 attributes', async () => {
    const many = Array.from({ length: 100_000 }, (_, i) => ({ key: `attr.${i}`, value: { stringValue: `v${i}` } }));
    const jsonSpanId = randomSpanId().toString('hex');
    const routeLast = [...many, { key: 'http.route', value: { stringValue: '/many-attributes' } }];
    await tally.send(receiver, '10^5 attributes', 'span (JSON)', { signal: 'traces', body: JSON.stringify(jsonTraceBody([jsonServerSpan({ spanId: jsonSpanId, attributes: routeLast })])) });
    expect((await storedRow(receiver, jsonSpanId))?.path).toBe('/many-attributes');

    const pbSpanId = randomSpanId();
    const wireMany = many.map((kv) => stringAttribute(kv.key, kv.value.stringValue));
    await tally.send(receiver, '10^5 attributes', 'span (protobuf)', { signal: 'traces', body: traceRequest([], [wireServerSpan([...wireMany, stringAttribute('http.route', '/many-attributes-pb')], pbSpanId)]) });
    expect((await storedRow(receiver, pbSpanId.toString('hex')))?.path).toBe('/many-attributes-pb');

    const n = NOW_NS();
    const response = await tally.send(receiver, '10^5 attributes', 'point and resource (protobuf)', {
      signal: 'metrics',
      body: metricsRequest(wireMany, [histogramPoint({ startNanos: n - 60_000_000_000n, timeNanos: n - 1_000_000_000n, count: 1n, sum: 1, attributes: wireMany })]),
    });
    expect(response.partial).toBe(null);
    await expectHealthy(receiver);
  }, SIZE_TIMEOUT_MS);

  it('stores 100,000 distinct routes (10 exports of 10,000 spans) and stays healthy', async () => {
    const service = `many-routes-${randomBytes(3).toString('hex')}`;
    const n = NOW_NS();
    for (let batch = 0; batch < 10; batch++) {
      const spans: Buffer[] = [];
      for (let i = 0; i < 10_000; i++) {
        const id = batch * 10_000 + i;
        spans.push(span({
          traceId: uniqueId(16, id), spanId: uniqueId(8, id), startNanos: n - 5_000_000_000n + BigInt(id), endNanos: n - 4_000_000_000n + BigInt(id),
          attributes: [stringAttribute('http.route', `/r/${id}/<b>${id}</b>`), stringAttribute('http.request.method', 'GET'), intAttribute('http.response.status_code', 200)],
        }));
      }
      const response = await tally.send(receiver, '100,000 distinct routes', `export ${batch + 1} of 10`, { signal: 'traces', body: traceRequest([stringAttribute('service.name', service)], spans) });
      expect(response.partial).toBe(null);
    }
    const stored = await receiver.db.query<{ n: number; routes: number; first: string | null }>(
      `SELECT count(*)::int AS n, count(DISTINCT path)::int AS routes,
              max(path) FILTER (WHERE path = '/r/0/<b>0</b>') AS first
       FROM service_metrics m JOIN services s ON s.id = m.service_id WHERE s.name = $1`, [service]);
    // Every request is a row; how many distinct routes are kept is the route-cardinality policy's call.
    expect(stored.rows[0]).toMatchObject({ n: 100_000, first: '/r/0/<b>0</b>' });
    console.log(`100,000 distinct routes sent: ${stored.rows[0]!.routes} distinct paths stored`);
    await expectHealthy(receiver);
  }, SIZE_TIMEOUT_MS);

  it('answers 5,000 distinct routes as duration points', async () => {
    const n = NOW_NS();
    const points = Array.from({ length: 5_000 }, (_, i) => histogramPoint({
      startNanos: n - 60_000_000_000n, timeNanos: n - 1_000_000_000n, count: 1n, sum: 2, bucketCounts: [1n, 0n], bounds: [5],
      attributes: [stringAttribute('http.route', `/p/${i}`)],
    }));
    const response = await tally.send(receiver, '100,000 distinct routes', '5,000 point routes', { signal: 'metrics', body: metricsRequest([stringAttribute('service.name', 'many-point-routes')], points) });
    expect(response.partial).toBe(null);
    await expectHealthy(receiver);
  }, SIZE_TIMEOUT_MS);
});

