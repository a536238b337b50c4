#!/usr/bin/env node
// bench/ingest — how fast the receiver commits what it is sent, against a raw COPY of the same rows
// into the same database in the same run.
//
// Run:   nice -n 10 npm run bench:ingest          (3 rounds × every scenario, ~12 min)
//        BENCH_ROUNDS=5 BENCH_DURATION_S=20 BENCH_CONNECTIONS=32 BENCH_OVERLOAD_S=15 BENCH_PGLITE=1 npm run bench:ingest
//        BENCH_SCENARIOS=traces-protobuf,copy npm run bench:ingest      (a subset)
//        BENCH_RECEIVER_ARGS=--cpu-prof npm run bench:ingest             (profile the receiver)
//
// The receiver runs as its own process (collector-receiver/dist/main.js, PORT=0) on
// BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), each scenario in a fresh
// schema; the load generator (load.mjs) is another process sending pre-encoded exports built once
// from real SDK objects (exports.mjs) over BENCH_CONNECTIONS keep-alive connections.
// Throughput is what the database holds at the end (rows counted there, not 200s), minus what a
// short warm-up committed, over the measured time:
//   spans/s   = rows in `spans` (every span, 512 per export; 128 of them also in service_metrics)
//   points/s  = sum(count) in service_metrics_1m / VALUES_PER_POINT (each point is 10 recorded values)
// Rounds: BENCH_ROUNDS (3) rounds each run every scenario once, in the same order (alternating, so a
// busy spell of the shared machine hits every scenario); the table shows medians over rounds, each
// round's figure, and the ratio to the raw COPY of the same round. Load average is printed per round.
// Raw COPY: pg-copy-streams writes as many service_metrics rows and spans rows as the traces run
// committed, both tables at once on two connections (the receiver also runs two flushes), into a
// migrated schema of the same database with the same indexes and constraints.
// Overload: an open loop offers BENCH_OVERLOAD_X (2) × the measured export rate for BENCH_OVERLOAD_S
// over up to BENCH_OVERLOAD_CONNECTIONS (1024) connections,
// sampling the receiver's RSS (/proc/<pid>/status) every 100 ms; then 0.5× for 5 s must all be 200.
// PGlite (embedded, LATTICE_DATA_DIR in a temp dir): the same closed loop; rows counted after the
// receiver stopped. Everything listens on 127.0.0.1 and stops by itself; JSON in bench/results/.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { SERVER_SPANS_PER_EXPORT, SPANS_PER_EXPORT, VALUES_PER_POINT } from './exports.mjs';
import { rssMb, startReceiverProcess } from '../lib/receiver-process.mjs';
import { createPgDb } from '../../collector-receiver/dist/store/pg-db.js';
import { createPgliteDb } from '../../collector-receiver/dist/store/pglite-db.js';
import { migrate } from '../../collector-receiver/dist/store/migrate.js';
import { ensureDayPartitions, utcDay } from '../../collector-receiver/dist/store/queries/partitions.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 15);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const OVERLOAD_S = Number(process.env.BENCH_OVERLOAD_S ?? 15);
const OVERLOAD_X = Number(process.env.BENCH_OVERLOAD_X ?? 2);
// Enough connections that the receiver's queue limit (LATTICE_MAX_QUEUED_ROWS, 200,000 rows =
// 312 exports of 640 rows) is reached before the client runs out of connections.
const OVERLOAD_CONNECTIONS = Number(process.env.BENCH_OVERLOAD_CONNECTIONS ?? 1024);
const WITH_PGLITE = process.env.BENCH_PGLITE !== '0';
const RECEIVER_ARGS = (process.env.BENCH_RECEIVER_ARGS ?? '').split(' ').filter(Boolean);
const ALL = ['traces-protobuf', 'traces-json', 'metrics-protobuf', 'metrics-json', 'copy', 'overload', 'pglite'];
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? ALL.join(',')).split(','));

const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
const schemas = [];
let tagCounter = 1;

async function freshSchema() {
  const schema = `lattice_bench_ingest_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  schemas.push(schema);
  return schema;
}
const schemaUrl = (schema) => `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;

/** Samples a process's RSS every `everyMs` until stopped: { peak, samples }. */
function sampleRss(pid, everyMs = 100) {
  const samples = [];
  const timer = setInterval(() => { const mb = rssMb(pid); if (mb !== null) samples.push(mb); }, everyMs);
  return {
    stop() { clearInterval(timer); return { peak: Math.max(0, ...samples), last: samples.at(-1) ?? null, samples }; },
  };
}

function startReceiver(env) {
  return startReceiverProcess({ vars: env.vars, nodeArgs: RECEIVER_ARGS, cwd: env.cwd });
}

/** Runs load.mjs with `args`; resolves its JSON summary. Encoding happens before the clock starts. */
async function runLoad(args) {
  const child = spawn(process.execPath, [path.join(HERE, 'load.mjs'), JSON.stringify({ tag: tagCounter++, ...args })], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => { err += d; if (err.includes('ready')) resolve(); });
    child.once('exit', (code) => reject(new Error(`load generator exited ${code}: ${err}`)));
  });
  const done = new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load generator exited ${code}: ${err}`)))));
  child.stdin.end('go\n');
  await done;
  return JSON.parse(out);
}

async function countPg(schema) {
  const { rows: [row] } = await admin.query(
    `SELECT (SELECT count(*) FROM ${schema}.spans)::float8 AS spans,
            (SELECT count(*) FROM ${schema}.service_metrics)::float8 AS requests,
            (SELECT coalesce(sum(count), 0) FROM ${schema}.service_metrics_1m)::float8 AS observations`);
  return { spans: row.spans, requests: row.requests, points: row.observations / VALUES_PER_POINT };
}

function summarize(name, encoding, signal, load, before, after, rss, database) {
  const seconds = load.elapsedMs / 1000;
  const items = signal === 'traces' ? after.spans - before.spans : after.points - before.points;
  return {
    scenario: name, database, encoding, signal,
    perSecond: items / seconds,
    committed: items, requestsCommitted: after.requests - before.requests,
    seconds, exports: load.sent, statuses: load.statuses, retryAfter: load.retryAfter, errors: load.errors, skipped: load.skipped,
    p50: load.p50, p99: load.p99, peakRssMb: rss.peak, lastRssMb: rss.last, bytesPerExport: load.bytesPerExport,
  };
}

/** Fresh schema + receiver, a warm-up, then a measured closed loop. */
async function closedLoopPg(signal, encoding) {
  const schema = await freshSchema();
  const receiver = await startReceiver({ vars: { DATABASE_URL: schemaUrl(schema) } });
  try {
    await runLoad({ url: receiver.url, signal, encoding, connections: CONNECTIONS, durationMs: WARMUP_S * 1000, rate: 0 });
    const before = await countPg(schema);
    const rss = sampleRss(receiver.pid);
    const load = await runLoad({ url: receiver.url, signal, encoding, connections: CONNECTIONS, durationMs: DURATION_S * 1000, rate: 0 });
    const after = await countPg(schema);
    return summarize(`${signal}`, encoding, signal, load, before, after, rss.stop(), 'PostgreSQL');
  } finally {
    await receiver.stop();
  }
}

/** COPY rows in COPY text format from a generator of lines, on its own connection. */
async function copyInto(url, statement, lines) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const stream = client.query(copyStreams.from(statement));
    await pipeline(Readable.from(chunked(lines)), stream);
  } finally {
    await client.end();
  }
}

function* chunked(lines) {
  let chunk = '';
  let n = 0;
  for (const line of lines) {
    chunk += line;
    if (++n === 2000) { yield chunk; chunk = ''; n = 0; }
  }
  if (chunk) yield chunk;
}

/** Raw COPY of `requests` service_metrics rows and `spans` spans rows (both at once), in a migrated schema. */
async function rawCopy(requests, spans) {
  const schema = await freshSchema();
  const url = schemaUrl(schema);
  const db = createPgDb({ connectionString: DATABASE_URL, max: 1, options: `-c search_path=${schema}` });
  const base = Date.now() - 60_000;
  try {
    await migrate(db);
    await ensureDayPartitions(db, [utcDay(base)]);
    const { rows: [service] } = await db.query(`INSERT INTO services (name) VALUES ('svc-0') RETURNING id`);
    const sid = service.id;
    const hex = (n, width) => n.toString(16).padStart(width, '0');
    const ts = (i) => new Date(base + (i % 50_000) / 10).toISOString();
    function* requestLines() {
      for (let i = 0; i < requests; i++) {
        yield `${sid}\tGET\t/api/v1/resource-${i % 40}/:id\t200\t${(i % 97) + 0.25}\t\\N\t${ts(i)}\t${hex(i, 32)}\t${hex(i * 4, 16)}\t\\N\n`;
      }
    }
    function* spanLines() {
      for (let i = 0; i < spans; i++) {
        const server = i % 4 === 0;
        const request = Math.floor(i / 4);
        yield `${hex(request, 32)}\t${hex(i, 16)}\t${server ? '\\N' : hex(request * 4, 16)}\t${sid}\t${server ? 'GET /api/v1/resource-3/:id' : 'GET'}\t${server ? 'server' : 'client'}\t${ts(request)}\t${(i % 97) + 0.25}\t0\tf\tGET\t${server ? '/api/v1/resource-3/:id' : '\\N'}\t200\n`;
      }
    }
    const t0 = performance.now();
    await Promise.all([
      copyInto(url, `COPY service_metrics (service_id, method, path, status_code, response_time_ms, caller_service_name, "timestamp", trace_id, span_id, parent_span_id) FROM STDIN`, requestLines()),
      copyInto(url, `COPY spans (trace_id, span_id, parent_span_id, service_id, name, kind, start_time, duration_ms, status_code, error, http_method, http_route, http_status_code) FROM STDIN`, spanLines()),
    ]);
    const seconds = (performance.now() - t0) / 1000;
    const counted = await countPg(schema);
    return {
      scenario: 'raw COPY', database: 'PostgreSQL', encoding: 'COPY text (pg-copy-streams)', signal: 'traces',
      perSecond: counted.spans / seconds, committed: counted.spans, requestsCommitted: counted.requests, seconds,
      rowsPerSecond: (counted.spans + counted.requests) / seconds,
    };
  } finally {
    await db.close();
  }
}

/** Open loop at OVERLOAD_X × `exportsPerSecond`, RSS sampled; then 0.5× must be answered 200. */
async function overload(signal, encoding, exportsPerSecond) {
  const schema = await freshSchema();
  const receiver = await startReceiver({ vars: { DATABASE_URL: schemaUrl(schema) } });
  try {
    await runLoad({ url: receiver.url, signal, encoding, connections: CONNECTIONS, durationMs: WARMUP_S * 1000, rate: 0 });
    const before = await countPg(schema);
    const rss = sampleRss(receiver.pid);
    const rate = Math.max(1, Math.round(exportsPerSecond * OVERLOAD_X));
    const load = await runLoad({ url: receiver.url, signal, encoding, connections: OVERLOAD_CONNECTIONS, durationMs: OVERLOAD_S * 1000, rate });
    const mid = await countPg(schema);
    const recovery = await runLoad({ url: receiver.url, signal, encoding, connections: CONNECTIONS, durationMs: 5000, rate: Math.max(1, Math.round(exportsPerSecond / 2)) });
    const memory = rss.stop();
    const result = summarize(`overload ${OVERLOAD_X}×`, encoding, signal, load, before, mid, memory, 'PostgreSQL');
    const refused = (load.statuses[429] ?? 0) + (load.statuses[503] ?? 0);
    return {
      ...result, offeredPerSecond: rate, answered: Object.values(load.statuses).reduce((a, b) => a + b, 0),
      refused, refusedWithRetryAfter: load.retryAfter,
      recovery: { sent: recovery.sent, skipped: recovery.skipped, errors: recovery.errors, statuses: recovery.statuses, p99: recovery.p99 },
    };
  } finally {
    await receiver.stop();
  }
}

async function closedLoopPglite(signal, encoding) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lattice-bench-ingest-'));
  try {
    const receiver = await startReceiver({ vars: { LATTICE_DATA_DIR: path.join(dir, 'data') } });
    let load;
    let warm;
    const rss = sampleRss(receiver.pid);
    let startRss;
    try {
      warm = await runLoad({ url: receiver.url, signal, encoding, connections: CONNECTIONS, durationMs: WARMUP_S * 1000, rate: 0 });
      startRss = rssMb(receiver.pid);
      load = await runLoad({ url: receiver.url, signal, encoding, connections: CONNECTIONS, durationMs: DURATION_S * 1000, rate: 0 });
    } finally {
      await receiver.stop();
    }
    const memory = rss.stop();
    // Counted after the receiver stopped (PGlite belongs to one process); the warm-up's rows are
    // its 200s × items per export (every 200 is a commit; exports are all distinct).
    const db = await createPgliteDb({ dataDir: path.join(dir, 'data') });
    const { rows: [row] } = await db.query(
      `SELECT (SELECT count(*) FROM spans)::float8 AS spans, (SELECT count(*) FROM service_metrics)::float8 AS requests,
              (SELECT coalesce(sum(count), 0) FROM service_metrics_1m)::float8 AS observations`);
    await db.close();
    const itemsPerExport = signal === 'traces' ? SPANS_PER_EXPORT : load.itemsPerExport;
    const totalItems = signal === 'traces' ? row.spans : row.observations / VALUES_PER_POINT;
    const warmItems = (warm.statuses[200] ?? 0) * itemsPerExport;
    const measured = totalItems - warmItems;
    return {
      ...summarize(signal, encoding, signal, load, { spans: 0, points: 0, requests: 0 },
        { spans: measured, points: measured, requests: row.requests - (warm.statuses[200] ?? 0) * SERVER_SPANS_PER_EXPORT }, memory, 'PGlite'),
      ackedItems: (load.statuses[200] ?? 0) * itemsPerExport,
      storedTotal: totalItems, rssAfterWarmupMb: startRss,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n, digits = 0) => (n === null || n === undefined || Number.isNaN(n) ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const startedAt = new Date();
const loadAtStart = loadavg();
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  return v.length === 0 ? null : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
/** Every round runs every scenario once, in the same order, so a slow spell of the shared machine hits all of them. */
const rounds = [];
const overloadRuns = [];
console.error(`bench/ingest: ${ROUNDS} rounds, ${DURATION_S} s per scenario, ${CONNECTIONS} connections, load average ${loadAtStart}`);
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const results = [];
    const loadBefore = loadavg();
    for (const [signal, encoding] of [['traces', 'protobuf'], ['traces', 'json'], ['metrics', 'protobuf'], ['metrics', 'json']]) {
      if (!SCENARIOS.has(`${signal}-${encoding}`)) continue;
      console.error(`round ${round}/${ROUNDS} … ${signal} ${encoding} (load average ${loadavg()})`);
      results.push(await closedLoopPg(signal, encoding));
    }
    const tracesRun = results.find((r) => r.signal === 'traces' && r.encoding === 'protobuf');
    let copy;
    if (SCENARIOS.has('copy')) {
      console.error(`round ${round}/${ROUNDS} … raw COPY`);
      const spans = tracesRun?.committed ?? 500_000;
      copy = await rawCopy(Math.round(spans * SERVER_SPANS_PER_EXPORT / SPANS_PER_EXPORT), spans);
      results.push(copy);
    }
    if (SCENARIOS.has('pglite') && WITH_PGLITE) {
      for (const signal of ['traces', 'metrics']) {
        console.error(`round ${round}/${ROUNDS} … PGlite ${signal}`);
        results.push(await closedLoopPglite(signal, 'protobuf'));
      }
    }
    // Ratios within the round: the COPY ran minutes from the receiver runs it is compared with.
    for (const r of results) if (copy && r !== copy && r.database === 'PostgreSQL') r.ratioToCopy = r.perSecond / (r.signal === 'traces' ? copy.perSecond : copy.rowsPerSecond);
    rounds.push({ round, loadBefore, loadAfter: loadavg(), results });
    // Overload once (after the first round, which measured the rate it offers 2× of).
    if (round === 1 && SCENARIOS.has('overload')) {
      console.error('… overload');
      const exportsPerSecond = tracesRun ? tracesRun.committed / SPANS_PER_EXPORT / tracesRun.seconds : 50;
      overloadRuns.push(await overload('traces', 'protobuf', exportsPerSecond));
    }
  }
} finally {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await admin.end();
}

const keyOf = (r) => `${r.scenario}|${r.database}|${r.encoding}|${r.signal}`;
const keys = [...new Set(rounds.flatMap((r) => r.results.map(keyOf)))];
const medians = keys.map((key) => {
  const rows = rounds.flatMap((r) => r.results.filter((x) => keyOf(x) === key));
  const m = (f) => median(rows.map(f));
  return {
    ...rows[0], perSecond: m((x) => x.perSecond), ratioToCopy: m((x) => x.ratioToCopy), p50: m((x) => x.p50), p99: m((x) => x.p99),
    peakRssMb: m((x) => x.peakRssMb), rowsPerSecond: m((x) => x.rowsPerSecond), perRound: rows.map((x) => x.perSecond),
    statuses: rows.reduce((acc, x) => { for (const [k, v] of Object.entries(x.statuses ?? {})) acc[k] = (acc[k] ?? 0) + v; return acc; }, {}),
  };
});

console.log(`bench/ingest: medians of ${rounds.length} alternating rounds (each round runs every scenario once, in this order), ` +
  `${DURATION_S} s measured per scenario after a ${WARMUP_S} s warm-up, ${CONNECTIONS} connections, ${os.cpus().length} cores, Node ${process.version}`);
console.log(`SHARED, NOISY MACHINE: other work ran at the same time; load average ${loadAtStart} at start, ` +
  `${rounds.map((r) => `round ${r.round}: ${r.loadBefore.split(' ')[0]} → ${r.loadAfter.split(' ')[0]}`).join(', ')}, ${loadavg()} at end. ` +
  'Compare the ratio to the raw COPY of the same round, not absolute figures across runs.');
console.log('spans/s = rows in `spans` (512 per export, 128 of them also service_metrics rows); points/s = histogram points (sum(count)/10) in service_metrics_1m, ' +
  'their ratio is to the COPY\'s rows/s (spans + service_metrics rows); p50/p99 = ack latency of 200s; RSS = receiver peak');
console.log('');
console.log('| scenario | database | encoding | committed/s (median) | per round | ratio to same-round COPY | p50 ack ms | p99 ack ms | answers | receiver peak RSS MB |');
console.log('| --- | --- | --- | ---: | --- | ---: | ---: | ---: | --- | ---: |');
for (const r of medians) {
  const unit = r.scenario === 'raw COPY' ? 'spans rows/s' : r.signal === 'traces' ? 'spans/s' : 'points/s';
  const answers = r.scenario === 'raw COPY' ? '—' : Object.entries(r.statuses).map(([s, n]) => `${s}×${n}`).join(' ');
  console.log(`| ${r.scenario} | ${r.database} | ${r.encoding} | ${fmt(r.perSecond)} ${unit} | ${r.perRound.map((x) => fmt(x)).join(' / ')} | ` +
    `${r.ratioToCopy === null || r.ratioToCopy === undefined ? '—' : fmt(r.ratioToCopy, 2)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${answers} | ${fmt(r.peakRssMb)} |`);
}
const over = overloadRuns[0];
if (over) {
  console.log('');
  console.log(`overload (once, after round 1): offered ${fmt(over.offeredPerSecond)} exports/s (${OVERLOAD_X}× measured) for ${OVERLOAD_S} s: ${fmt(over.refused)} of ${fmt(over.answered)} answers were 429/503, ` +
    `${fmt(over.refusedWithRetryAfter)} of them with Retry-After; committed ${fmt(over.perSecond)} spans/s, p99 ack ${fmt(over.p99, 1)} ms; peak RSS ${fmt(over.peakRssMb)} MB; ` +
    `recovery at 0.5×: ${fmt(over.recovery.sent)} sent (${fmt(over.recovery.skipped)} not sent: every connection busy; ${fmt(over.recovery.errors)} network errors), ` +
    `${Object.entries(over.recovery.statuses).map(([s, n]) => `${s}×${n}`).join(' ')}, p99 ${fmt(over.recovery.p99, 1)} ms`);
}
const copy = medians.find((r) => r.scenario === 'raw COPY');
if (copy) console.log(`raw COPY (median): ${fmt(copy.rowsPerSecond)} rows/s (spans rows and service_metrics rows, both tables at once, same indexes and constraints)`);

mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
const file = path.join(ROOT, 'bench/results', `ingest-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({
  startedAt, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg(), durationS: DURATION_S, connections: CONNECTIONS,
  overloadX: OVERLOAD_X, overloadS: OVERLOAD_S, node: process.version, medians, rounds, overload: over ?? null,
}, null, 2)}\n`);
console.log(`\nsaved ${path.relative(ROOT, file)}`);
