#!/usr/bin/env node
// bench/faults — nothing acknowledged is lost, nothing is written twice, memory stays bounded
// (issues #5 and #6). Per scenario: exports sent, acknowledged (200), present in the database,
// lost (acknowledged but not present) and duplicated (rows stored more than once), the receiver's
// peak RSS and its 429/503 answers. Exits 1 when anything is lost or duplicated.
//
// Run:   npm run bench:faults
//        BENCH_SCENARIOS=outage,kill npm run bench:faults           (a subset)
//        BENCH_OVERLOAD_S=20 BENCH_OVERLOAD_X=3 npm run bench:faults
//        LATTICE_MAX_QUEUED_BYTES=… npm run bench:faults                 (receiver settings pass through)
//
// Everything runs on a PostgreSQL of its own (own-postgres.mjs: initdb into a temp dir, a free
// port; as root it runs as the postgres OS user), one database per scenario, so the outage
// scenario can stop and start it. The receiver is its own process (collector-receiver/dist/main.js,
// PORT=0); the load is real protobuf exports built once from sdk-trace-base (bench/ingest/exports.mjs,
// 512 spans each, 128 of them SERVER spans that also become request rows), every send with its own
// 32-bit trace-id prefix, so the database tells per export how many of its spans are present and
// whether any row is there twice. Senders do not retry: a refused export is simply not acknowledged.
//   baseline     closed loop, 16 connections, no fault: capacity (exports/s committed) and RSS
//   outage       48 connections; the database is stopped (pg_ctl stop -m fast) for BENCH_OUTAGE_S (5)
//                and started again; LATTICE_MAX_QUEUED_BYTES pinned at its 16 MiB default (the buffer fills)
//   kill -9      16 connections; the receiver is killed with SIGKILL mid-load and restarted
//   overload 2×  open loop at BENCH_OVERLOAD_X (2) × the baseline's capacity for BENCH_OVERLOAD_S (12),
//                up to 512 connections, RSS sampled every 100 ms; then 0.5× for 3 s (recovery)
//   overload 2×, rows limit only  the same with the byte and in-flight limits lifted
//                (LATTICE_MAX_QUEUED_BYTES / LATTICE_MAX_INFLIGHT_BYTES = 64 GiB): the receiver as it
//                was before them, measured in the same run; the two alternate for
//                BENCH_OVERLOAD_ROUNDS (2) rounds each (A B, B A, …), medians reported; "acknowledged
//                under load" counts the 200s that arrived while the load was offered
//   duplicates   every trace export sent twice (once after the other's 200, once concurrently) and
//                every delta-metrics export twice; the points are counted in service_metrics_1m
import http from 'node:http';
import os from 'node:os';
import pg from 'pg';
import { buildMetricTemplates, buildTraceTemplates, metricSend, SERVER_SPANS_PER_EXPORT, SPANS_PER_EXPORT, traceSend, VALUES_PER_POINT } from '../ingest/exports.mjs';
import { ownPostgresSkipReason, startOwnPostgres } from './own-postgres.mjs';
import { rssMb, startReceiverProcess } from '../lib/receiver-process.mjs';

const OVERLOAD_S = Number(process.env.BENCH_OVERLOAD_S ?? 12);
const OVERLOAD_X = Number(process.env.BENCH_OVERLOAD_X ?? 2);
const OUTAGE_S = Number(process.env.BENCH_OUTAGE_S ?? 5);
const OVERLOAD_ROUNDS = Number(process.env.BENCH_OVERLOAD_ROUNDS ?? 2);
const ALL = ['baseline', 'outage', 'kill', 'overload', 'overload-rows-only', 'duplicates'];
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? ALL.join(',')).split(','));
const log = (line) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (n, digits = 0) => (n === null || n === undefined || Number.isNaN(n) ? '—' : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

if (ownPostgresSkipReason !== undefined) {
  console.error(`bench/faults: cannot run: ${ownPostgresSkipReason}`);
  process.exit(2);
}

/** Samples RSS every 100 ms until stop(): the peak in MB. */
function sampleRss(pid) {
  let peak = 0;
  const timer = setInterval(() => { const mb = rssMb(pid); if (mb !== null && mb > peak) peak = mb; }, 100);
  return { stop() { clearInterval(timer); return peak; }, get peak() { return peak; } };
}

function startReceiver(databaseUrl, vars = {}) {
  return startReceiverProcess({ vars: { DATABASE_URL: databaseUrl, ...vars }, logLevel: 'error' });
}

/** What one scenario sent and was answered; `send` POSTs a body and records the answer. */
function createLedger(url, connections) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const ledger = {
    sent: 0, acked: new Set(), ackTimes: [], statuses: {}, codes: {}, retryAfter: 0, refused: 0, networkErrors: 0, inFlight: 0,
    latencies: [],
    /** POST body to /v1/<signal>; `id` is recorded as acknowledged on a 200. */
    send(signal, body, id) {
      ledger.sent++;
      ledger.inFlight++;
      const t0 = performance.now();
      return new Promise((resolve) => {
        const req = http.request(new URL(`/v1/${signal}`, url), {
          method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
        }, (res) => {
          let text = '';
          if (res.statusCode === 200) res.resume();
          else res.on('data', (d) => { if (text.length < 200) text += d.toString('latin1'); });
          res.on('end', () => {
            if (res.statusCode !== 200) {
              const code = /LAT_ERR_[A-Z_]+/.exec(text)?.[0] ?? String(res.statusCode);
              ledger.codes[code] = (ledger.codes[code] ?? 0) + 1;
            }
            ledger.inFlight--;
            ledger.statuses[res.statusCode] = (ledger.statuses[res.statusCode] ?? 0) + 1;
            if (res.statusCode === 200) { ledger.acked.add(id); ledger.ackTimes.push(performance.now()); ledger.latencies.push(performance.now() - t0); }
            if (res.statusCode === 429 || res.statusCode === 503) {
              ledger.refused++;
              if (Number(res.headers['retry-after']) > 0) ledger.retryAfter++;
            }
            resolve(res.statusCode);
          });
        });
        req.on('error', () => { ledger.inFlight--; ledger.networkErrors++; resolve('error'); });
        req.end(body);
      });
    },
    close() { agent.destroy(); },
  };
  return ledger;
}

const templates = buildTraceTemplates('protobuf', 16);
let nextTag = 1;
/** A fresh export: its trace ids start with a tag no other send uses. */
function nextTraceExport() {
  const tag = nextTag++;
  return { tag, body: traceSend(templates[tag % templates.length], tag) };
}

/** Closed loop: `connections` senders, each sending again as soon as it is answered, until stop(). */
function closedLoop(ledger, connections) {
  let stopped = false;
  const done = Promise.all(Array.from({ length: connections }, async () => {
    while (!stopped) {
      const { tag, body } = nextTraceExport();
      const status = await ledger.send('traces', body, tag);
      if (status !== 200) await sleep(100); // a refused sender waits (exporters wait longer)
    }
  }));
  return { async stop() { stopped = true; await done; } };
}

/** Open loop: `rate` exports/s whatever the answers, for `seconds`; exports that find every connection busy are skipped. */
async function openLoop(ledger, rate, seconds, connections) {
  const started = performance.now();
  let due = 0;
  let skipped = 0;
  const pending = new Set();
  while (performance.now() - started < seconds * 1000) {
    const shouldHaveSent = Math.floor(((performance.now() - started) / 1000) * rate);
    for (; due < shouldHaveSent; due++) {
      if (ledger.inFlight >= connections) { skipped++; continue; }
      const { tag, body } = nextTraceExport();
      const p = ledger.send('traces', body, tag);
      pending.add(p);
      void p.then(() => pending.delete(p));
    }
    await sleep(10);
  }
  await Promise.all(pending);
  return skipped;
}

/** Per send tag: spans and request rows present, and rows stored more than once. */
async function countTraces(client) {
  const { rows } = await client.query(
    `SELECT k, sum(spans)::int AS spans, sum(distinct_spans)::int AS distinct_spans, sum(requests)::int AS requests, sum(distinct_requests)::int AS distinct_requests FROM (
       SELECT substr(trace_id, 1, 8) AS k, count(*) AS spans, count(DISTINCT (trace_id, span_id, start_time)) AS distinct_spans, 0 AS requests, 0 AS distinct_requests FROM spans GROUP BY 1
       UNION ALL
       SELECT substr(trace_id, 1, 8), 0, 0, count(*), count(DISTINCT (trace_id, span_id, "timestamp")) FROM service_metrics GROUP BY 1) x
     GROUP BY k`);
  return new Map(rows.map((r) => [parseInt(r.k, 16), r]));
}

/** sent/acknowledged/present/lost/duplicated in spans, for the tags `sentTags`. */
function tallySpans(byTag, sentTags, ackedTags) {
  const t = { sent: 0, acknowledged: 0, present: 0, lost: 0, duplicated: 0 };
  for (const tag of sentTags) {
    const row = byTag.get(tag);
    const spans = row ? row.distinct_spans : 0;
    const requests = row ? row.distinct_requests : 0;
    t.sent += SPANS_PER_EXPORT;
    t.present += spans;
    if (ackedTags.has(tag)) {
      t.acknowledged += SPANS_PER_EXPORT;
      // a span is lost when it or (for SERVER spans) its request row is missing
      t.lost += Math.max(SPANS_PER_EXPORT - spans, SERVER_SPANS_PER_EXPORT - requests);
    }
    if (row) t.duplicated += row.spans - row.distinct_spans + row.requests - row.distinct_requests;
  }
  return t;
}

const own = await startOwnPostgres();
let databases = 0;
/** A fresh database on the own server for one scenario: its URL and a client on it. */
async function freshDatabase() {
  const name = `faults_${++databases}`;
  // A short-lived connection: the outage scenario stops the server under any open one.
  const admin = new pg.Client({ connectionString: own.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = own.url.replace(/\/postgres$/, `/${name}`);
  return { url, async client() { const c = new pg.Client({ connectionString: url }); await c.connect(); return c; } };
}

const results = [];
let capacity = null;
const startedAt = new Date();
const loadAtStart = os.loadavg().map((l) => l.toFixed(2)).join(' ');
log(`bench/faults: own PostgreSQL on port ${own.port}; load average ${loadAtStart}; ${os.cpus().length} cores (shared with other work: figures are noisy)`);

async function finish(name, db, ledger, tags, extra = {}) {
  const client = await db.client();
  try {
    const tally = tallySpans(await countTraces(client), tags, ledger.acked);
    const row = { scenario: name, unit: 'spans', ...tally, statuses: ledger.statuses, codes: ledger.codes, refused: ledger.refused, retryAfter: ledger.retryAfter, networkErrors: ledger.networkErrors, ...extra };
    results.push(row);
    log(`  ${name}: sent ${tally.sent}, acknowledged ${tally.acknowledged}, present ${tally.present}, lost ${tally.lost}, duplicated ${tally.duplicated}; answers ${JSON.stringify(ledger.statuses)}`);
    return row;
  } finally {
    await client.end();
  }
}

function tagsBetween(first, last) {
  const tags = [];
  for (let t = first; t < last; t++) tags.push(t);
  return tags;
}

try {
  if (SCENARIOS.has('baseline') || SCENARIOS.has('overload') || SCENARIOS.has('overload-rows-only')) {
    log('… baseline: closed loop, 16 connections, 8 s, no fault');
    const db = await freshDatabase();
    const receiver = await startReceiver(db.url);
    const ledger = createLedger(receiver.url, 16);
    const first = nextTag;
    const warm = closedLoop(ledger, 16);
    await sleep(2000);
    await warm.stop();
    const measuredFrom = ledger.acked.size;
    const rss = sampleRss(receiver.pid);
    const t0 = performance.now();
    const loop = closedLoop(ledger, 16);
    await sleep(8000);
    await loop.stop();
    const seconds = (performance.now() - t0) / 1000;
    const peakRssMb = rss.stop();
    await receiver.stop();
    capacity = (ledger.acked.size - measuredFrom) / seconds;
    ledger.close();
    await finish('baseline (no fault)', db, ledger, tagsBetween(first, nextTag), { peakRssMb, exportsPerSecond: capacity });
  }

  if (SCENARIOS.has('outage')) {
    log(`… outage: 48 connections, database stopped for ${OUTAGE_S} s`);
    const db = await freshDatabase();
    const receiver = await startReceiver(db.url, { LATTICE_MAX_QUEUED_BYTES: String(16 * 1024 * 1024) });
    const ledger = createLedger(receiver.url, 48);
    const first = nextTag;
    const rss = sampleRss(receiver.pid);
    const loop = closedLoop(ledger, 48);
    await sleep(3000);
    const before = { ...ledger.statuses };
    const codesBefore = { ...ledger.codes };
    await own.stop('fast');
    log('  database stopped');
    const health = await fetch(`${receiver.url}/healthz`).then(async (r) => ({ status: r.status, body: await r.json() })).catch(() => null);
    await sleep(OUTAGE_S * 1000);
    await own.start();
    log('  database started');
    const during = Object.fromEntries(Object.entries(ledger.statuses).map(([s, n]) => [s, n - (before[s] ?? 0)]));
    const codesDuring = Object.fromEntries(Object.entries(ledger.codes).map(([c, n]) => [c, n - (codesBefore[c] ?? 0)]).filter(([, n]) => n > 0));
    await sleep(4000);
    await loop.stop();
    ledger.close();
    // drained by itself
    const after = await fetch(`${receiver.url}/healthz`).then((r) => r.json());
    const peakRssMb = rss.stop();
    await receiver.stop();
    await finish('database outage', db, ledger, tagsBetween(first, nextTag), {
      peakRssMb, note: `answers from the stop command to the restart ${JSON.stringify(during)}, refusals ${JSON.stringify(codesDuring)}; /healthz while down ${health?.status} ` +
        `(queued ${health?.body?.writer?.queuedRows} rows); after: queued ${after.writer.queuedRows}, reachable ${after.writer.databaseReachable}`,
    });
  }

  if (SCENARIOS.has('kill')) {
    log('… kill -9: 16 connections, SIGKILL after 3 s, restart');
    const db = await freshDatabase();
    const receiver = await startReceiver(db.url);
    const ledger = createLedger(receiver.url, 16);
    const first = nextTag;
    const rss = sampleRss(receiver.pid);
    const loop = closedLoop(ledger, 16);
    await sleep(3000);
    await receiver.kill9();
    const peakRssMb = rss.stop();
    log('  receiver killed');
    await loop.stop();
    ledger.close();
    const restarted = await startReceiver(db.url);
    const health = await fetch(`${restarted.url}/healthz`);
    await restarted.stop();
    await finish('receiver kill -9', db, ledger, tagsBetween(first, nextTag), {
      peakRssMb, note: `${ledger.networkErrors} exports in flight at the kill (not acknowledged); restarted, /healthz ${health.status}`,
    });
  }

  const variants = ['overload', 'overload-rows-only'].filter((v) => SCENARIOS.has(v));
  if (variants.length > 0) {
    const rate = Math.max(1, Math.round((capacity ?? 20) * OVERLOAD_X));
    const recoveryRate = Math.max(1, Math.round((capacity ?? 20) / 2));
    const rounds = new Map(variants.map((v) => [v, []]));
    // Alternating rounds (the machine's speed drifts): A B, B A, A B …; medians per variant.
    for (let round = 0; round < OVERLOAD_ROUNDS; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        const rowsOnly = variant === 'overload-rows-only';
        log(`… ${variant} round ${round + 1}/${OVERLOAD_ROUNDS}: ${rate} exports/s for ${OVERLOAD_S} s (capacity ${capacity?.toFixed(1)} exports/s), then 0.5× for 3 s`);
        const db = await freshDatabase();
        const receiver = await startReceiver(db.url, rowsOnly
          ? { LATTICE_MAX_QUEUED_BYTES: String(64 * 1024 ** 3), LATTICE_MAX_INFLIGHT_BYTES: String(64 * 1024 ** 3) } : {});
        const ledger = createLedger(receiver.url, 512);
        const first = nextTag;
        const rss = sampleRss(receiver.pid);
        const loadStarted = performance.now();
        const skipped = await openLoop(ledger, rate, OVERLOAD_S, 512);
        const peakRssMb = rss.stop();
        // acknowledged while the load was offered (later acks are the queue draining)
        const ackedUnderLoad = ledger.ackTimes.filter((t) => t <= loadStarted + OVERLOAD_S * 1000).length;
        const recovery = createLedger(receiver.url, 16);
        await openLoop(recovery, recoveryRate, 3, 16);
        for (const tag of recovery.acked) ledger.acked.add(tag);
        ledger.close();
        recovery.close();
        await receiver.stop();
        const client = await db.client();
        const tally = tallySpans(await countTraces(client), tagsBetween(first, nextTag), ledger.acked);
        await client.end();
        rounds.get(variant).push({
          tally, peakRssMb, skipped, statuses: ledger.statuses, codes: ledger.codes, retryAfter: ledger.retryAfter,
          spansPerSecond: (ackedUnderLoad * SPANS_PER_EXPORT) / OVERLOAD_S, recovery: recovery.statuses,
        });
        log(`  ${variant}: acknowledged ${fmt((ackedUnderLoad * SPANS_PER_EXPORT) / OVERLOAD_S)} spans/s under load, peak RSS ${fmt(peakRssMb)} MB, lost ${tally.lost}, duplicated ${tally.duplicated}`);
      }
    }
    for (const [variant, list] of rounds) {
      const sum = (f) => list.reduce((a, r) => a + f(r), 0);
      const merge = (f) => list.reduce((acc, r) => { for (const [k, n] of Object.entries(f(r))) acc[k] = (acc[k] ?? 0) + n; return acc; }, {});
      const statuses = merge((r) => r.statuses);
      results.push({
        scenario: `overload ${OVERLOAD_X}×${variant === 'overload-rows-only' ? ', rows limit only (before)' : ''}, ${list.length} rounds`,
        unit: 'spans',
        sent: sum((r) => r.tally.sent), acknowledged: sum((r) => r.tally.acknowledged), present: sum((r) => r.tally.present),
        lost: sum((r) => r.tally.lost), duplicated: sum((r) => r.tally.duplicated),
        statuses, codes: merge((r) => r.codes), retryAfter: sum((r) => r.retryAfter), refused: (statuses[429] ?? 0) + (statuses[503] ?? 0),
        peakRssMb: median(list.map((r) => r.peakRssMb)),
        note: `offered ${rate} exports/s (${OVERLOAD_X}× baseline) for ${OVERLOAD_S} s per round; median acknowledged under load ` +
          `${fmt(median(list.map((r) => r.spansPerSecond)))} spans/s (rounds: ${list.map((r) => fmt(r.spansPerSecond)).join(', ')}); ` +
          `peak RSS per round ${list.map((r) => fmt(r.peakRssMb)).join(', ')} MB (median in the table, max ${fmt(Math.max(...list.map((r) => r.peakRssMb)))}); ` +
          `${sum((r) => r.skipped)} not sent (512 connections busy); recovery at 0.5× for 3 s: ${JSON.stringify(merge((r) => r.recovery))}.`,
      });
    }
  }

  if (SCENARIOS.has('duplicates')) {
    log('… duplicates: 60 trace exports and 60 metrics exports, each delivered twice');
    const db = await freshDatabase();
    const receiver = await startReceiver(db.url);
    const ledger = createLedger(receiver.url, 8);
    const first = nextTag;
    const rss = sampleRss(receiver.pid);
    for (let i = 0; i < 30; i++) {
      const { tag, body } = nextTraceExport();
      await ledger.send('traces', body, tag);
      await ledger.send('traces', body, tag);
    }
    for (let i = 0; i < 30; i++) {
      const { tag, body } = nextTraceExport();
      await Promise.all([ledger.send('traces', body, tag), ledger.send('traces', body, tag)]);
    }
    const peakRssMb = rss.stop();
    await finish('duplicate deliveries (traces)', db, ledger, tagsBetween(first, nextTag), { peakRssMb });
    // Metrics: delta histograms (exports.mjs: 320 points of 10 values per export, 32 services);
    // each export twice; every point once in service_metrics_1m.
    const metricTemplates = await buildMetricTemplates('protobuf', 4);
    const points = createLedger(receiver.url, 8);
    let acked = 0;
    let sentPoints = 0;
    for (let step = 1; step <= 15; step++) {
      for (const [t, template] of metricTemplates.entries()) {
        const body = metricSend(template, step);
        const id = step * 100 + t;
        sentPoints += template.points;
        const [a, b] = await Promise.all([points.send('metrics', body, id), points.send('metrics', body, id)]);
        if (a === 200 || b === 200) acked += template.points;
        await points.send('metrics', body, id);
      }
    }
    points.close();
    ledger.close();
    await receiver.stop();
    const client = await db.client();
    const { rows: [row] } = await client.query('SELECT coalesce(sum(count), 0)::float8 AS n FROM service_metrics_1m');
    await client.end();
    const present = row.n / VALUES_PER_POINT;
    const metricsRow = {
      scenario: 'duplicate deliveries (metrics)', unit: 'points', sent: sentPoints, acknowledged: acked, present,
      lost: Math.max(0, acked - present), duplicated: Math.max(0, present - sentPoints), statuses: points.statuses,
      refused: points.refused, retryAfter: points.retryAfter, networkErrors: points.networkErrors, peakRssMb: null,
      note: 'each export 3× (two at once, then again); points counted as sum(count)/10 in service_metrics_1m',
    };
    results.push(metricsRow);
    log(`  duplicates (metrics): sent ${sentPoints}, acknowledged ${acked}, present ${present}`);
  }
} finally {
  await own.destroy();
}

const baseline = results.find((r) => r.scenario.startsWith('baseline'));
console.log(`bench/faults: ${startedAt.toISOString()}, load average ${loadAtStart} → ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ` +
  `${os.cpus().length} cores shared with other work (noisy: compare rows of this run, not runs), Node ${process.version}`);
console.log(`sent/acknowledged/present/lost/duplicated in spans (512 per export) or histogram points; refused = 429/503 answers (with Retry-After); RSS ratio to the baseline run`);
console.log('');
console.log('| scenario | sent | acknowledged | present | lost | duplicated | 429 | 503 | with Retry-After | peak RSS MB | RSS / baseline |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  const ratio = baseline?.peakRssMb && r.peakRssMb ? fmt(r.peakRssMb / baseline.peakRssMb, 2) : '—';
  console.log(`| ${r.scenario} | ${fmt(r.sent)} | ${fmt(r.acknowledged)} | ${fmt(r.present)} | ${fmt(r.lost)} | ${fmt(r.duplicated)} | ` +
    `${fmt(r.statuses?.[429] ?? 0)} | ${fmt(r.statuses?.[503] ?? 0)} | ${fmt(r.retryAfter)} | ${fmt(r.peakRssMb)} | ${ratio} |`);
}
console.log('');
if (baseline) console.log(`baseline: ${fmt(baseline.exportsPerSecond, 1)} exports/s committed (${fmt(baseline.exportsPerSecond * SPANS_PER_EXPORT)} spans/s) over 16 connections`);
for (const r of results) {
  const codes = r.codes && Object.keys(r.codes).length > 0 ? ` refusals by code ${JSON.stringify(r.codes)}.` : '';
  if (r.note || codes) console.log(`${r.scenario}: ${r.note ?? ''}${codes}`);
}
const bad = results.filter((r) => r.lost > 0 || r.duplicated > 0);
if (bad.length > 0) {
  console.log(`\nFAIL: lost or duplicated data in ${bad.map((r) => r.scenario).join(', ')}`);
  process.exit(1);
}
console.log('\nlost = 0 and duplicated = 0 in every scenario');
