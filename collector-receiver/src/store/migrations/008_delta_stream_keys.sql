-- 008: delta streams keep their retry-dedupe keys as two bigint arrays instead of a jsonb list of
-- "start:time" strings, so the writer can apply a flush's delta points in ONE statement
-- (store/queries/streams.ts applyDeltaPoints: INSERT … ON CONFLICT DO UPDATE … WHERE the key is
-- not among the stream's recent ones, RETURNING what was applied) instead of three (insert the
-- missing rows, SELECT … FOR UPDATE, UPDATE the jsonb). The conflicting row is locked by the
-- upsert whether or not its WHERE holds, so two replicas applying one point still serialize and
-- only the first applies it. Times are uint64 nanoseconds; the receiver only accepts times
-- within an hour of now, which fit a bigint until 2262.
--   recent_starts[k], recent_times[k]  start/time of the k-th most recently applied delta point,
--                                      oldest first, at most 32 (pipeline/cumulative-to-delta.ts
--                                      RECENT_DELTA_KEYS)
-- Cumulative streams keep their jsonb state (the last point's buckets) as before.
-- fillfactor 70: every flush rewrites the rows of the streams it touches; room on the page lets
-- PostgreSQL do it as a HOT update (no primary-key index entry per update).
ALTER TABLE metric_streams
  ADD COLUMN recent_starts bigint[],
  ADD COLUMN recent_times bigint[];
ALTER TABLE metric_streams SET (fillfactor = 70);

-- Existing delta states move over, so a retry of a point applied before the upgrade is still skipped.
UPDATE metric_streams m SET
  recent_starts = k.starts,
  recent_times = k.times,
  state = NULL
FROM (
  SELECT s.stream_key,
         array_agg(split_part(r.key, ':', 1)::bigint ORDER BY r.n) AS starts,
         array_agg(split_part(r.key, ':', 2)::bigint ORDER BY r.n) AS times
  FROM metric_streams s, jsonb_array_elements_text(s.state -> 'recent') WITH ORDINALITY AS r(key, n)
  WHERE s.state ->> 'kind' = 'delta'
  GROUP BY s.stream_key
) k
WHERE m.stream_key = k.stream_key;

-- service_metrics_trace_idx (001) duplicates the leading column of service_metrics_span_unique
-- (trace_id, span_id, "timestamp"): any lookup by trace_id can use the unique index, and no read
-- query filters service_metrics by trace_id (GET /traces reads `spans`). One index fewer to
-- update per request row on the ingest path.
DROP INDEX IF EXISTS service_metrics_trace_idx;
