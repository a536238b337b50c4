-- 013: service_metrics had two indexes led by trace_id: (trace_id) from 001 and the unique
-- (trace_id, span_id, "timestamp") a retried export is skipped by. The unique one answers
-- `WHERE trace_id = …` as well (EXPLAIN: a bitmap index scan of each day partition's unique
-- index), so the single-column one only cost an index insert per request row: 200,000 rows with random trace ids
-- into a table with this schema's four indexes took 3,181 / 2,833 / 2,739 ms, with three
-- 2,027 / 2,183 / 1,641 ms (PostgreSQL 15, alternating, load ~4). Dropping the partitioned index
-- drops it on every daily partition.
DROP INDEX IF EXISTS service_metrics_trace_idx;
