-- 010: lattice_serial_plan() — true, and PARALLEL UNSAFE: a query that calls it anywhere is never
-- planned with parallel workers (PostgreSQL checks parallel safety on the query as written, before
-- it folds the constant). The per-route window read (store/queries/window.ts) is seven small
-- index range scans under UNION ALL; the planner costed a Parallel Append with two workers
-- cheaper, and starting them on a loaded 2-core server turned a 25 ms read into 230–500 ms
-- (bench/query, 1 M requests/day, EXPLAIN ANALYZE: Gather 224 ms around 24 ms of scans).
-- A table's parallel_workers = 0 does not help: Parallel Append still hands whole branches to
-- workers.
CREATE FUNCTION lattice_serial_plan() RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL UNSAFE AS $$ SELECT true $$;
