#!/usr/bin/env node
/**
 * bench/tenancy/rls-cost — what row-level security (migration 006) costs an API read, split in two:
 *   - the per-query transaction withProject() adds (BEGIN, set_config(role, lattice.project_id), COMMIT)
 *     — measured on `SELECT 1`;
 *   - the policy itself (the project's service ids as an InitPlan, `service_id = ANY (…)`) —
 *     measured on a per-route stats aggregate over service_metrics_1m of one service for 24 h, run
 *     as the owner (no RLS) inside the same kind of transaction, and as lattice_reader.
 * Baselines in the same run; BENCH_RUNS alternating rounds (every variant once per round), medians.
 *
 *   node bench/tenancy/rls-cost.mjs        DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)
 *   BENCH_MINUTES=1440 BENCH_SERVICES=20 BENCH_ROUTES=50 BENCH_RUNS=40
 * Loads into its own schema lattice_rls_<pid> (dropped at the end): 2 projects, services split
 * between them, one 1-minute row per service/route/minute (counts arrays of 16 buckets).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { createPgDb } from '../../collector-receiver/dist/store/pg-db.js';
import { migrate } from '../../collector-receiver/dist/store/migrate.js';
import { withProject } from '../../collector-receiver/dist/tenancy/with-project.js';

const url = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const MINUTES = Number(process.env.BENCH_MINUTES || 1440);
const SERVICES = Number(process.env.BENCH_SERVICES || 20);
const ROUTES = Number(process.env.BENCH_ROUTES || 50);
const RUNS = Number(process.env.BENCH_RUNS || 40);
const schema = `lattice_rls_${process.pid}`;
const log = (s) => process.stderr.write(`${s}\n`);

const admin = createPgDb({ connectionString: url, max: 1 });
await admin.query(`CREATE SCHEMA ${schema}`);
const db = createPgDb({ connectionString: url, max: 2, options: `-c search_path=${schema}` });
try {
  await migrate(db);
  const t0 = performance.now();
  await db.query("INSERT INTO projects (name) VALUES ('other')");
  // services 1..SERVICES: odd ones in project 1 (default), even ones in project 2
  await db.query(`INSERT INTO services (project_id, name) SELECT 2 - (i % 2), 'svc-' || i FROM generate_series(1, ${SERVICES}) i`);
  await db.query(`INSERT INTO service_metrics_1m (service_id, minute, method, route, status_code, caller, unit_to_ms, layout, count, sum, min, max, zero_count, bucket_offset, counts)
    SELECT s, date_trunc('day', now()) - interval '1 day' + m * interval '1 minute', 'GET', '/r' || r, 200, '', 1, 'exponential:6',
           16, 160, 1, 20, 0, 200, array_fill(1::bigint, ARRAY[16])
      FROM generate_series(1, ${SERVICES}) s, generate_series(0, ${MINUTES - 1}) m, generate_series(1, ${ROUTES}) r`);
  await db.query('ANALYZE');
  const rows = Number((await db.query('SELECT count(*)::text AS n FROM service_metrics_1m')).rows[0].n);
  log(`loaded ${rows.toLocaleString('en')} 1-minute rows in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  const serviceId = '1';
  const to = Date.now();
  const from = to - 86_400_000 * 2;
  const routeStats = `SELECT method, route, sum(count)::bigint AS n, sum(sum) / nullif(sum(count), 0) AS avg
      FROM service_metrics_1m WHERE service_id = $1::bigint AND minute >= to_timestamp($2::float8 / 1000) AND minute < to_timestamp($3::float8 / 1000)
     GROUP BY method, route`;
  const args = [serviceId, from, to];
  const ownerTx = (fn) => db.transaction(fn);
  const variants = [
    ['SELECT 1, plain query', () => db.query('SELECT 1')],
    ['SELECT 1 in withProject (RLS tx)', () => withProject(db, '1', (tx) => tx.query('SELECT 1'))],
    ['route stats, owner, plain query', () => db.query(routeStats, args)],
    ['route stats, owner, in a transaction', () => ownerTx((tx) => tx.query(routeStats, args))],
    ['route stats, lattice_reader (withProject)', () => withProject(db, '1', (tx) => tx.query(routeStats, args))],
  ];
  const results = variants.map(([name]) => ({ name, times: [], rows: 0 }));
  for (let v = 0; v < variants.length; v++) for (let i = 0; i < 3; i++) results[v].rows = (await variants[v][1]()).rows.length;
  for (let round = 0; round < RUNS; round++) {
    for (let v = 0; v < variants.length; v++) {
      const t = performance.now();
      await variants[v][1]();
      results[v].times.push(performance.now() - t);
    }
  }
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  console.log(`\nbench:tenancy rls-cost — ${rows.toLocaleString('en')} 1-minute rows (${SERVICES} services in 2 projects × ${ROUTES} routes × ${MINUTES} min), one service's 24 h per-route sums · ${RUNS} alternating rounds, medians`);
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs — a shared, noisy machine: compare within this table`);
  console.log(`${'variant'.padEnd(44)} ${'rows'.padStart(5)} ${'median ms'.padStart(10)} ${'ratio'.padStart(8)}`);
  const base = { 0: median(results[0].times), 2: median(results[2].times) };
  results.forEach((r, i) => {
    const m = median(r.times);
    const b = i < 2 ? base[0] : base[2];
    console.log(`${r.name.padEnd(44)} ${String(r.rows).padStart(5)} ${m.toFixed(2).padStart(10)} ${(m / b).toFixed(2).padStart(7)}×`);
  });
  // The two plans differ (the policy's service_id = ANY ($0) changes the index choice): print both.
  const ownerPlan = await db.query(`EXPLAIN (COSTS OFF) ${routeStats}`, args);
  console.log('\nplan as the owner:\n' + ownerPlan.rows.map((r) => `  ${r['QUERY PLAN']}`).join('\n'));
  const plan = await withProject(db, '1', (tx) => tx.query(`EXPLAIN (COSTS OFF) ${routeStats}`, args));
  console.log('plan as lattice_reader:\n' + plan.rows.map((r) => `  ${r['QUERY PLAN']}`).join('\n'));
} finally {
  await db.close();
  await admin.query(`DROP SCHEMA ${schema} CASCADE`);
  await admin.close();
}
