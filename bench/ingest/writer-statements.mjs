#!/usr/bin/env node
// bench/ingest/writer-statements — where a flush's time goes: N exports (built like bench/ingest's)
// written concurrently through the receiver's own decode → translate → batching writer, with the
// time spent in each SQL statement summed (concurrent flushes overlap, so the sum can exceed the
// wall time; lock waits show up as time in the statement that waits).
// Run:   npm run build && node bench/ingest/writer-statements.mjs metrics|traces [exports] [pg|pglite]
import { randomBytes } from 'node:crypto';
import { buildMetricTemplates, metricSend, buildTraceTemplates, traceSend } from './exports.mjs';
import { decodeMetricsRequest, decodeTraceRequest } from '../../collector-receiver/dist/otlp/decode.js';
import { toDurationPoints } from '../../collector-receiver/dist/translate/points.js';
import { toTraceRows } from '../../collector-receiver/dist/translate/spans.js';
import { createBatchingWriter } from '../../collector-receiver/dist/pipeline/batching-writer.js';
import { createPgDb } from '../../collector-receiver/dist/store/pg-db.js';
import { createPgliteDb } from '../../collector-receiver/dist/store/pglite-db.js';
import { migrate } from '../../collector-receiver/dist/store/migrate.js';
const signal = process.argv[2] ?? 'metrics';
const N = Number(process.argv[3] ?? 20);
const kind = process.argv[4] ?? 'pg';
const schema = `lattice_prof_${randomBytes(4).toString('hex')}`;
let admin, db;
if (kind === 'pg') {
admin = createPgDb({ connectionString: (process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'), max: 1 });
await admin.query(`CREATE SCHEMA ${schema}`);
db = createPgDb({ connectionString: (process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'), max: 4, options: `-c search_path=${schema}` });
} else db = await createPgliteDb();
await migrate(db);
const timings = new Map();
const wrap = (q) => ({ ...q, async query(text, values) { const t0 = performance.now(); try { return await q.query(text, values); } finally { const k = text.trim().slice(0, 50).replace(/\s+/g,' '); timings.set(k, (timings.get(k) ?? 0) + performance.now() - t0); } } });
const tdb = { ...db, query: wrap(db).query, transaction: (fn) => db.transaction((tx) => fn(wrap(tx))) };
const writer = createBatchingWriter(tdb, { batchRows: Number(process.env.BATCH_ROWS ?? 5000), maxQueuedRows: 1e7, maxQueuedBytes: 1e12 });
const tpl = signal === 'metrics' ? await buildMetricTemplates('protobuf', 32) : buildTraceTemplates('protobuf', 16);
let step = 0;
const batch = (i) => {
  const now = Date.now();
  if (signal === 'metrics') { const r = decodeMetricsRequest(metricSend(tpl[i % tpl.length], ++step), 'protobuf'); return { requests: [], durationPoints: toDurationPoints(r, now).points, spans: [] }; }
  const { requests, spans } = toTraceRows(decodeTraceRequest(traceSend(tpl[i % tpl.length], i + 1), 'protobuf'), now); return { requests, durationPoints: [], spans };
};
await writer.write(batch(0));
timings.clear();
const batches = Array.from({ length: N }, (_, i) => batch(i + 1));
const t0 = performance.now();
await Promise.all(batches.map((b) => writer.write(b)));
const ms = performance.now() - t0;
console.log(signal, kind, N, 'exports in', ms.toFixed(0), 'ms', writer.stats());
console.log([...timings].sort((a,b)=>b[1]-a[1]).map(([k,v])=>`${v.toFixed(0).padStart(7)} ms  ${k}`).join('\n'));
await writer.close(); await db.close();
if (admin) { await admin.query(`DROP SCHEMA ${schema} CASCADE`); await admin.close(); }
