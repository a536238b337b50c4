#!/usr/bin/env node
// bench/span-rows/writer — what storing every span costs the group-commit writer: commit time of the
// same exports written as request rows only (before) and as request rows + span rows (after), on
// PGlite and, when BENCH_DATABASE_URL is set, on PostgreSQL (a throw-away schema).
//
// Run:   npm run build && node bench/span-rows/writer.mjs
//        BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test BENCH_EXPORTS=40 node bench/span-rows/writer.mjs
//
// An export is 512 spans (128 SERVER = 128 request rows, 384 others), translated by the receiver's
// own code; rounds alternate before/after on fresh trace ids; the table shows the median per-export
// commit time over BENCH_ROUNDS rounds of BENCH_EXPORTS sequential writes each.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeTraceRequest } from '../../collector-receiver/dist/otlp/decode.js';
import { toTraceRows } from '../../collector-receiver/dist/translate/spans.js';
import { createBatchingWriter } from '../../collector-receiver/dist/pipeline/batching-writer.js';
import { createPgliteDb } from '../../collector-receiver/dist/store/pglite-db.js';
import { createPgDb } from '../../collector-receiver/dist/store/pg-db.js';
import { migrate } from '../../collector-receiver/dist/store/migrate.js';

const EXPORTS = Number(process.env.BENCH_EXPORTS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

async function makeExport() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'checkout' }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('bench');
  const base = Date.now() - 60_000;
  for (let i = 0; i < 128; i++) {
    const server = tracer.startSpan('GET /orders/:id', { kind: SpanKind.SERVER, startTime: base + i, attributes: { 'http.request.method': 'GET', 'http.route': '/orders/:id', 'http.response.status_code': 200 } });
    const ctx = trace.setSpan(context.active(), server);
    tracer.startSpan('GET', { kind: SpanKind.CLIENT, startTime: base + i, attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 } }, ctx).end(base + i + 2);
    tracer.startSpan('GET', { kind: SpanKind.CLIENT, startTime: base + i, attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 } }, ctx).end(base + i + 3);
    tracer.startSpan('render', { kind: SpanKind.INTERNAL, startTime: base + i + 3 }, ctx).end(base + i + 4);
    server.end(base + i + 5);
  }
  return JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(exporter.getFinishedSpans())).toString());
}

/** The export with fresh trace ids (a retry would insert nothing), decoded and translated. */
function translate(template, withSpans) {
  const ids = new Map();
  const json = JSON.stringify(template).replace(/"traceId":"([0-9a-f]{32})"/g, (_, id) => {
    if (!ids.has(id)) ids.set(id, randomBytes(16).toString('hex'));
    return `"traceId":"${ids.get(id)}"`;
  });
  const request = decodeTraceRequest(Buffer.from(json), 'json');
  const now = Date.now();
  const rows = toTraceRows(request, now);
  return { requests: rows.requests, durationPoints: [], spans: withSpans ? rows.spans : [] };
}

function median(values) {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function measure(db, template) {
  await migrate(db);
  const writer = createBatchingWriter(db, { batchRows: 5000, maxQueuedRows: 200_000 });
  await writer.write(translate(template, true)); // partitions, services, warm caches
  const results = { before: [], after: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of round % 2 === 0 ? ['before', 'after'] : ['after', 'before']) {
      const batches = Array.from({ length: EXPORTS }, () => translate(template, variant === 'after'));
      const t0 = performance.now();
      for (const batch of batches) await writer.write(batch);
      results[variant].push((performance.now() - t0) / EXPORTS);
    }
  }
  await writer.close();
  return { before: median(results.before), after: median(results.after) };
}

const template = await makeExport();
const rows = [];
const pglite = await createPgliteDb();
rows.push(['PGlite', await measure(pglite, template)]);
await pglite.close();
if (process.env.BENCH_DATABASE_URL) {
  const schema = `lattice_bench_${randomBytes(4).toString('hex')}`;
  const admin = createPgDb({ connectionString: process.env.BENCH_DATABASE_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const db = createPgDb({ connectionString: process.env.BENCH_DATABASE_URL, max: 4, options: `-c search_path=${schema}` });
  try {
    rows.push(['PostgreSQL', await measure(db, template)]);
  } finally {
    await db.close();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.close();
  }
}
console.log(`bench/span-rows/writer: ${EXPORTS} sequential exports of 512 spans (128 SERVER) per round, ${ROUNDS} rounds, median ms per export commit`);
console.log('');
console.log('| database | before: 128 request rows | after: + 512 span rows | after / before |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, r] of rows) console.log(`| ${name} | ${r.before.toFixed(1)} ms | ${r.after.toFixed(1)} ms | ${(r.after / r.before).toFixed(2)}× |`);
