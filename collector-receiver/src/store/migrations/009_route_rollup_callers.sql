-- 009: the callers of each per-route rollup row (service_route_metrics, 007), so per-route reads
-- list who calls a route from the same rows instead of reading the hourly rows per caller again
-- (GET /metrics/routes: that second read was the slowest of its queries, bench/query).
--   callers        the callers' service names, sorted; '' = unknown caller (as in service_metrics_1m)
--   caller_counts  requests per caller, in the order of callers; they add up to count
ALTER TABLE service_route_metrics
  ADD COLUMN callers text[] NOT NULL DEFAULT '{}',
  ADD COLUMN caller_counts bigint[] NOT NULL DEFAULT '{}';
-- Rows built before have no callers: rebuild them all. Until the next rollup pass has, readers
-- take these periods from the finer tables (a grain is read only below its watermark).
DELETE FROM service_route_metrics;
UPDATE lattice_rollup_watermarks SET rolled_to = '-infinity', updated_at = now()
WHERE grain IN ('route_5m', 'route_1h', 'route_6h');
