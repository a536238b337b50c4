#!/usr/bin/env node
/**
 * bench/query — per-route stats for 24 h: what the receiver reads vs the seed's raw-row SQL.
 *
 *   npm run bench:query                       10 M requests (one UTC day), 20 services × 50 routes
 *   BENCH_ROWS=1000000 npm run bench:query    fewer rows (minutes instead of tens of minutes to load)
 *   BENCH_RUNS=50  BENCH_KEEP=1  DATABASE_URL=postgres://…  (default postgres://postgres@127.0.0.1:5432/test)
 *   BENCH_SCHEMA=lattice_bench_<pid>          measure again a schema kept by BENCH_KEEP=1 (no load)
 *
 * Load (into its own schema `lattice_bench_<pid>`, dropped at the end unless BENCH_KEEP=1), hour by hour
 * with progress: the migrations, then per hour the raw rows (INSERT … SELECT over generate_series
 * into an unlogged staging table: realistic route weights, 94 % 200 / 4 % 404 / 2 % 500, log-normal
 * latencies per route, one caller per route or none), copied into the day's partition — a plain
 * table until the end, then attached, which builds its indexes once (the per-row index upkeep held
 * the old loader to ~4 k rows/s; now ~45 k rows/s, 10 M in ~8 min with the rollup job) — and the
 * 1-minute rollups the receiver would have stored for them (exponential histograms at the storage
 * scale 6, one row per service/minute/method/route/status/caller); then the real rollup job
 * (runMaintenance → service_metrics_5m / _1h, per-route rows, minute masks).
 * Measure, for one service and two 24 h windows (aligned to the day; rolling, both ends mid-hour),
 * BENCH_RUNS alternating rounds (every variant once per round) after 2 warm-ups, p50/p95:
 *   raw SQL           the seed's query: service_metrics GROUP BY method, path with percentile_cont
 *   before            the grouped engine over lattice_rollups() (what GET /metrics/routes ran before
 *                     migration 007: hourly rows per status and caller, unnest in SQL)
 *   API               selectRouteStats — what GET /metrics/routes runs (per-route rows + span rule
 *                     + callers), directly and through row-level security (lattice_reader, 006)
 *   window.ts         selectRouteRollupStats (per-route rows only, one query)
 * and checks the answers: request counts equal the raw ones, p95 within the histogram's error of
 * percentile_cont, and the new paths give the numbers of 'before'. Goal: ≤ 50 ms p95.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { createPgDb } from '../../collector-receiver/dist/store/pg-db.js';
import { migrate } from '../../collector-receiver/dist/store/migrate.js';
import { runMaintenance } from '../../collector-receiver/dist/store/maintenance/maintenance.js';
import { selectRouteRollupStats } from '../../collector-receiver/dist/store/queries/window.js';
import { selectRouteCallers, selectRouteStats } from '../../collector-receiver/dist/store/queries/routes.js';
import { selectGroupedSummaries } from '../../collector-receiver/dist/store/queries/grouped-window.js';
import { createProjectScopedDb, requestContext } from '../../collector-receiver/dist/tenancy/with-project.js';

const url = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const ROWS = Number(process.env.BENCH_ROWS || 10_000_000);
const RUNS = Math.max(30, Number(process.env.BENCH_RUNS || 30));
const SERVICES = 20;
const ROUTES = 50;
const DAY = Date.parse('2026-11-26T00:00:00Z');
/** BENCH_SCHEMA: measure a schema loaded by an earlier BENCH_KEEP=1 run (no load, not dropped). */
const reuse = process.env.BENCH_SCHEMA || '';
if (reuse !== '' && !/^lattice_bench_\d+$/.test(reuse)) throw new Error(`BENCH_SCHEMA should be lattice_bench_<n>, instead got '${reuse}'`);
const schema = reuse || `lattice_bench_${process.pid}`;
const log = (s) => process.stderr.write(`${s}\n`);

const admin = createPgDb({ connectionString: url, max: 1 });
if (!reuse) await admin.query(`CREATE SCHEMA ${schema}`);
// synchronous_commit off and a larger maintenance_work_mem for the load only (index builds at attach).
const db = createPgDb({ connectionString: url, max: 4, applicationName: schema,
  options: `-c search_path=${schema} -c synchronous_commit=off -c maintenance_work_mem=256MB` });
let exitCode = 0;
try {
  if (!reuse) await load();
  else await update();
  await measure();
} catch (err) {
  exitCode = 1;
  log(`bench:query failed: ${err?.stack ?? err}`);
} finally {
  await db.close();
  if (process.env.BENCH_KEEP === '1' || reuse) log(`kept schema ${schema} (measure again: BENCH_SCHEMA=${schema})`);
  else await admin.query(`DROP SCHEMA ${schema} CASCADE`);
  await admin.close();
}
process.exit(exitCode);

async function load() {
  const t0 = performance.now();
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
  await migrate(db);
  await db.query(`INSERT INTO services (name) SELECT 'svc-' || lpad(i::text, 2, '0') FROM generate_series(1, ${SERVICES}) i`);
  // The day's partition is filled as a plain table (no index to maintain per row: the unique
  // (trace_id, span_id, timestamp) index alone held inserts to ~4 k rows/s) and attached at the
  // end, which builds its indexes once, sorted.
  const partition = `service_metrics_p${new Date(DAY).toISOString().slice(0, 10).replaceAll('-', '')}`;
  await db.query(`CREATE TABLE ${partition} (LIKE service_metrics INCLUDING DEFAULTS)`);
  // Per route: a method, a base latency (ms) and an error profile — fixed, so runs are comparable.
  await db.query(`CREATE TABLE bench_routes AS
    SELECT r AS k, (ARRAY['GET','GET','GET','POST','PUT','DELETE'])[1 + r % 6] AS method,
           '/api/v1/resource' || r || CASE WHEN r % 3 = 0 THEN '/:id' ELSE '' END AS path,
           ln(5 + (r * 37) % 200) AS mu, 0.35 + (r % 5) * 0.1 AS sigma
    FROM generate_series(0, ${ROUTES - 1}) r`);
  // One hour of requests at a time in an unlogged staging table: copied into the partition and
  // rolled up to the 1m rows from there (no scan of the growing partition per hour).
  await db.query(`CREATE UNLOGGED TABLE bench_hour (LIKE service_metrics INCLUDING DEFAULTS)`);
  const perHour = Math.ceil(ROWS / 24);
  let inserted = 0;
  for (let h = 0; h < 24; h++) {
    const from = DAY + h * 3_600_000;
    const n = Math.min(perHour, ROWS - inserted);
    if (n <= 0) break;
    await db.query('TRUNCATE bench_hour');
    // Route weights skewed (a few hot routes), services uniform, requests spread over the hour.
    await db.query(
      `INSERT INTO bench_hour (service_id, method, path, status_code, response_time_ms, caller_service_name,
         "timestamp", trace_id, span_id)
       SELECT u.sid, r.method, r.path,
              CASE WHEN u.e < 0.02 THEN 500 WHEN u.e < 0.06 THEN 404 ELSE 200 END,
              round(exp(r.mu + r.sigma * sqrt(-2 * ln(1 - u.a)) * cos(2 * pi() * u.b))::numeric, 3)::float8,
              CASE WHEN r.k % 3 = 0 THEN 'svc-' || lpad((1 + (r.k + u.sid) % ${SERVICES})::text, 2, '0') END,
              to_timestamp($1::float8 / 1000 + u.t * 3600),
              lpad(to_hex($2::bigint + g), 32, '0'), lpad(to_hex(g), 16, '0')
       FROM generate_series(1, $3::int) g
       CROSS JOIN LATERAL (SELECT random() AS a, random() AS b, random() AS e, random() AS t,
                                  floor(power(random(), 2) * ${ROUTES})::int AS k, 1 + floor(random() * ${SERVICES})::int AS sid
                           WHERE g > 0) u
       JOIN bench_routes r ON r.k = u.k`,
      [from, h * 1_000_000_000, n]);
    await db.query(`INSERT INTO ${partition} SELECT * FROM bench_hour`);
    // The receiver's 1m rollups of the same requests: exponential scale 6 (bucket i = (2^(i/64), 2^((i+1)/64)]).
    await db.query(
      `WITH b AS (
         SELECT service_id, date_bin('1 minute', "timestamp", timestamptz '2000-01-01 00:00:00+00') AS minute, method, path AS route,
                status_code, coalesce(caller_service_name, '') AS caller, response_time_ms AS ms,
                CASE WHEN response_time_ms > 0 THEN (ceil(ln(response_time_ms) / ln(2::float8) * 64) - 1)::int END AS idx
         FROM bench_hour
       ), per_idx AS (
         SELECT service_id, minute, method, route, status_code, caller, idx, count(*) AS c FROM b WHERE idx IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7
       ), gaps AS (
         SELECT *, coalesce(idx - lag(idx) OVER (PARTITION BY service_id, minute, method, route, status_code, caller ORDER BY idx) - 1, 0) AS gap FROM per_idx
       ), arrays AS (
         SELECT service_id, minute, method, route, status_code, caller, min(idx) AS off,
                ('{' || string_agg(repeat('0,', gap) || c::text, ',' ORDER BY idx) || '}')::bigint[] AS counts
         FROM gaps GROUP BY 1, 2, 3, 4, 5, 6
       ), totals AS (
         SELECT service_id, minute, method, route, status_code, caller, count(*) AS n, sum(ms) AS total, min(ms) AS mn, max(ms) AS mx,
                count(*) FILTER (WHERE idx IS NULL) AS zeros
         FROM b GROUP BY 1, 2, 3, 4, 5, 6
       )
       INSERT INTO service_metrics_1m (service_id, minute, method, route, status_code, caller, unit_to_ms, layout, count, sum, min, max,
                                       zero_count, bucket_offset, counts)
       SELECT t.service_id, t.minute, t.method, t.route, t.status_code, t.caller, 1, 'exponential:6', t.n, t.total, t.mn, t.mx,
              t.zeros, coalesce(a.off, 0), coalesce(a.counts, '{}')
       FROM totals t LEFT JOIN arrays a USING (service_id, minute, method, route, status_code, caller)`);
    inserted += n;
    const s = (performance.now() - t0) / 1000;
    log(`load: hour ${String(h + 1).padStart(2)}/24 · ${inserted.toLocaleString('en')} requests · ${s.toFixed(0)} s · ${(inserted / s).toFixed(0)} rows/s`);
  }
  await db.query('DROP TABLE bench_hour');
  const a0 = performance.now();
  await db.query(`ALTER TABLE service_metrics ATTACH PARTITION ${partition}
                  FOR VALUES FROM (to_timestamp(${DAY / 1000})) TO (to_timestamp(${(DAY + 86_400_000) / 1000}))`);
  log(`load: partition attached, indexes built in ${((performance.now() - a0) / 1000).toFixed(0)} s · ${elapsed()}`);
  await db.query('ANALYZE');
  const r0 = performance.now();
  const result = await runMaintenance(db, { retentionRawDays: 36_500, retention1mDays: 36_500, retention5mDays: 36_500, retention1hDays: 36_500 },
    { nowMs: DAY + 86_400_000 + 120_000, rollupsOnly: true });
  log(`rollup job (runMaintenance): ${result.ran ? `${result.rollups.rows5m} 5m rows, ${result.rollups.rows1h} 1h rows, ${result.rollups.routeRows} per-route rows` : 'skipped (lock)'} in ${((performance.now() - r0) / 1000).toFixed(1)} s`);
  await db.query('ANALYZE');
  const sizes = await db.query(`SELECT (SELECT count(*) FROM service_metrics)::int AS raw, (SELECT count(*) FROM service_metrics_1m)::int AS m1,
    (SELECT count(*) FROM service_metrics_5m)::int AS m5, (SELECT count(*) FROM service_metrics_1h)::int AS h1`);
  const z = sizes.rows[0];
  log(`rows: service_metrics ${z.raw.toLocaleString('en')} · 1m ${z.m1.toLocaleString('en')} · 5m ${z.m5.toLocaleString('en')} · 1h ${z.h1.toLocaleString('en')} · load ${elapsed()}`);
}

/** A kept schema: the current migrations and a rollup pass (builds what newer migrations add). */
async function update() {
  const { applied } = await migrate(db);
  const r0 = performance.now();
  const result = await runMaintenance(db, { retentionRawDays: 36_500, retention1mDays: 36_500, retention5mDays: 36_500, retention1hDays: 36_500 },
    { nowMs: DAY + 86_400_000 + 120_000, rollupsOnly: true });
  log(`kept schema ${schema}: migrations applied ${applied.join(', ') || 'none'}; rollup job ${result.ran ? `${result.rollups.routeRows} route rows` : 'skipped'} in ${((performance.now() - r0) / 1000).toFixed(1)} s`);
}

async function measure() {
  const id = (await db.query(`SELECT id::text AS id FROM services WHERE name = 'svc-01'`)).rows[0].id;
  const loaded = Number((await db.query('SELECT count(*)::float8 AS n FROM service_metrics')).rows[0].n);
  const scoped = createProjectScopedDb(db);
  const viaRls = (fn) => requestContext.run({ projectId: '1' }, fn);
  const windows = [
    ['24 h aligned to the day', DAY, DAY + 86_400_000],
    // A rolling "last 24 h" as the dashboard asks it: both ends mid-hour (the 5m/1h edges are read).
    ['24 h rolling (ends at :37)', DAY - 1_380_000, DAY + 86_400_000 - 1_380_000],
  ];
  for (const [label, from, to] of windows) {
    const rawSql = async () => (await db.query(
      `SELECT method, path, count(*)::int AS n, avg(response_time_ms) AS avg,
              (count(*) FILTER (WHERE status_code >= 500))::float8 / count(*) AS error_rate,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY response_time_ms) AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY response_time_ms) AS p95,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY response_time_ms) AS p99
       FROM service_metrics WHERE service_id = $1::bigint AND "timestamp" >= to_timestamp($2::float8 / 1000) AND "timestamp" < to_timestamp($3::float8 / 1000)
       GROUP BY method, path`, [id, from, to])).rows;
    // What GET /metrics/routes ran before the per-route rows: the grouped engine over
    // lattice_rollups() (hourly rows per status and caller, buckets summed with unnest in SQL).
    const before = async () => {
      const [summaries] = await Promise.all([
        selectGroupedSummaries(db, { serviceIds: [id], fromMs: from, toMs: to }, () => ['method', 'route']),
        selectRouteCallers(db, [id], from, to),
      ]);
      return summaries.map((s) => ({ method: s.key[0], route: s.key[1], ...s }));
    };
    const variants = [
      ['raw SQL (seed: percentile_cont over service_metrics)', rawSql],
      ['before: grouped engine over lattice_rollups()', before],
      ['API selectRouteStats (GET /metrics/routes)', () => selectRouteStats(db, id, from, to)],
      ['API selectRouteStats through RLS (lattice_reader)', () => viaRls(() => selectRouteStats(scoped, id, from, to))],
      ['window.ts selectRouteRollupStats (rollups only)', () => selectRouteRollupStats(db, id, from, to)],
    ];
    const results = variants.map(([name]) => ({ name, times: [], answer: null }));
    for (let v = 0; v < variants.length; v++) for (let i = 0; i < 2; i++) results[v].answer = await variants[v][1](); // warm-up
    // Alternating rounds: every variant once per round, so load changes hit all of them alike.
    for (let round = 0; round < RUNS; round++) {
      for (let v = 0; v < variants.length; v++) {
        const t = performance.now();
        await variants[v][1]();
        results[v].times.push(performance.now() - t);
      }
      if ((round + 1) % 10 === 0) log(`measure ${label}: round ${round + 1}/${RUNS}`);
    }
    for (const r of results) {
      r.times.sort((a, b) => a - b);
      const pick = (q) => r.times[Math.min(r.times.length - 1, Math.ceil(q * r.times.length) - 1)];
      r.p50 = pick(0.5);
      r.p95 = pick(0.95);
    }
    const base = results[0];
    console.log(`\nbench:query — per-route stats of one service, ${label} · ${loaded.toLocaleString('en')} requests/day, ${SERVICES} services × ${ROUTES} routes · ${RUNS} alternating rounds`);
    console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs — a shared, noisy machine: compare ratios within this table`);
    console.log(`${'variant'.padEnd(54)} ${'routes'.padStart(6)} ${'p50 ms'.padStart(9)} ${'p95 ms'.padStart(9)} ${'p50 vs raw'.padStart(11)} ${'p95 vs raw'.padStart(11)}`);
    for (const r of results) {
      console.log(`${r.name.padEnd(54)} ${String(r.answer.length).padStart(6)} ${r.p50.toFixed(1).padStart(9)} ${r.p95.toFixed(1).padStart(9)} ${(r.p50 / base.p50).toFixed(3).padStart(10)}× ${(r.p95 / base.p95).toFixed(3).padStart(10)}×`);
    }
    // Agreement: request counts exactly; p95 within the histogram's relative error of the raw
    // percentile_cont; and the fast paths give exactly the numbers of the path they replace.
    const raw = new Map(base.answer.map((r) => [`${r.method} ${r.path}`, r]));
    const old = new Map(results[1].answer.map((r) => [`${r.method} ${r.route}`, r]));
    for (const k of [2, 3, 4]) {
      let countMismatch = 0;
      let worstP95 = 0;
      let differsFromBefore = 0;
      for (const r of results[k].answer) {
        const b = raw.get(`${r.method} ${r.route}`);
        if (!b || b.n !== r.requestCount) countMismatch++;
        else worstP95 = Math.max(worstP95, Math.abs(r.p95Ms - b.p95) / b.p95);
        const o = old.get(`${r.method} ${r.route}`);
        if (!o || o.requestCount !== r.requestCount || o.p50Ms !== r.p50Ms || o.p95Ms !== r.p95Ms || o.p99Ms !== r.p99Ms
          || o.errorRate !== r.errorRate || Math.abs(o.avgMs - r.avgMs) > 1e-9 * o.avgMs) differsFromBefore++;
      }
      console.log(`${results[k].name}: ${results[k].answer.length}/${raw.size} routes, ${countMismatch} request-count mismatches vs raw, worst p95 difference vs raw percentile_cont ${(worstP95 * 100).toFixed(2)} %, ${differsFromBefore} routes differing from 'before'`);
    }
    const api = results[2];
    console.log(`goal ≤ 50 ms p95 for 24 h per-route stats (GET /metrics/routes path), ${label}: ${api.p95 <= 50 ? 'met' : 'NOT met'} (${api.p95.toFixed(1)} ms)`);
  }
}
