// lattice_add_counts: 001 (generate_series + subscripts) vs 005 (PL/pgSQL, one pass per array),
// on arrays stored in a table (TOASTed, as in the rollup upsert and lattice_merge) and on arrays
// built in the query (in memory). Same run, same database; results must be identical.
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node bench/add-counts/run.mjs
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../collector-receiver/package.json', import.meta.url));
const pg = require('pg');
const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const LENGTHS = (process.env.BENCH_LENGTHS ?? '30,300,2000').split(',').map(Number);
const CALLS = Number(process.env.BENCH_CALLS ?? 200);
const ROUNDS = 3;

const migrations = new URL('../../collector-receiver/src/store/migrations/', import.meta.url);
const v001 = readFileSync(new URL('001_init.sql', migrations), 'utf8').match(/CREATE FUNCTION lattice_add_counts[\s\S]*?\$\$[\s\S]*?\$\$;/)[0]
  .replace('CREATE FUNCTION lattice_add_counts', 'CREATE FUNCTION add_counts_001');
const v005 = readFileSync(new URL('005_bounded_bucket_merge.sql', migrations), 'utf8').match(/CREATE OR REPLACE FUNCTION lattice_add_counts[\s\S]*?\$\$[\s\S]*?\$\$;/)[0]
  .replace('CREATE OR REPLACE FUNCTION lattice_add_counts', 'CREATE FUNCTION add_counts_005');

const client = new pg.Client({ connectionString: url });
await client.connect();
const schema = `bench_add_counts_${process.pid}`;
try {
  await client.query(`CREATE SCHEMA ${schema}; SET search_path = ${schema}`);
  await client.query(v001);
  await client.query(v005);
  await client.query(`CREATE TABLE arrays (id int PRIMARY KEY, n int, a_offset int, a bigint[], b_offset int, b bigint[])`);
  for (const n of LENGTHS) {
    // a at offsets 0…n−1, b overlapping its second half: both sides and the overlap are exercised.
    await client.query(`INSERT INTO arrays SELECT $1, $1, 0, (SELECT array_agg((random() * 1000)::bigint) FROM generate_series(1, $1)),
      $1 / 2, (SELECT array_agg((random() * 1000)::bigint) FROM generate_series(1, $1))`, [n]);
  }
  await client.query('ANALYZE arrays');
  const rows = [];
  for (const n of LENGTHS) {
    const same = await client.query(`SELECT add_counts_001(a_offset, a, b_offset, b) = add_counts_005(a_offset, a, b_offset, b) AS same FROM arrays WHERE n = $1`, [n]);
    if (!same.rows[0].same) throw new Error(`results differ at length ${n}`);
    const time = async (fn, stored) => {
      const sql = stored
        ? `SELECT sum(cardinality(${fn}(a_offset, a, b_offset, b))) FROM arrays, generate_series(1, $2) WHERE n = $1`
        : `SELECT sum(cardinality(${fn}(0, x.a, $1 / 2, x.b))) FROM generate_series(1, $2),
             LATERAL (SELECT (SELECT array_agg(k::bigint) FROM generate_series(1, $1) k) AS a, (SELECT array_agg(k::bigint) FROM generate_series(1, $1) k) AS b OFFSET 0) x`;
      let best = Infinity;
      for (let r = 0; r < ROUNDS; r++) {
        const t0 = process.hrtime.bigint();
        await client.query(sql, [n, CALLS]);
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6 / CALLS);
      }
      return best;
    };
    for (const stored of [true, false]) {
      const before = await time('add_counts_001', stored);
      const after = await time('add_counts_005', stored);
      rows.push({ buckets: n, arrays: stored ? 'stored' : 'in memory', '001 ms/call': before.toFixed(3), '005 ms/call': after.toFixed(3), speedup: `${(before / after).toFixed(1)}×` });
    }
  }
  console.log(`lattice_add_counts, best of ${ROUNDS} rounds of ${CALLS} calls (in-memory timings include building the arrays)`);
  console.table(rows);
} finally {
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}
